//! `djmig hook install|uninstall|run`: djmig's git hooks.
//!
//! `install` adds a marked block to `post-merge`, `post-rewrite`,
//! `post-checkout` and `post-commit` (see [`crate::adapters::hook_scripts`]); the block runs
//! `djmig hook run NAME ARGS…`, which is quiet when all is well, prints a
//! short warning on stderr when not, and always exits 0: a hook must never
//! get in the way of the git operation that ran it.
//!
//! `post-commit` is there for the merges git concludes without post-merge:
//! one that stopped on a text conflict (`models.py`, or
//! `max_migration.txt` in django-linear-migrations projects, every time)
//! and ends with `git commit`, and cherry-picks. A plain commit returns
//! after reading HEAD's last reflog entry.

use std::collections::BTreeSet;
use std::path::Path;

use crate::adapters::fs::tree::FsTree;
use crate::adapters::hook_scripts::{self as hooks, BlockSpec, Outcome};
use crate::cli::{Cli, HookCommand, HookInstallArgs, HookRunArgs};
use crate::core::dlm;
use crate::core::escape::{shell_line, term};
use crate::core::report::GraphReport;
use crate::error::{Error, Exit, Result};
use crate::workspace::{Env, Workspace};

use super::{analyze_worktree, Io};

pub fn run(cli: &Cli, cmd: &HookCommand, env: Env, io: &mut Io) -> Result<Exit> {
    match cmd {
        HookCommand::Install(a) => install(cli, a, env, io, true),
        HookCommand::Uninstall(a) => install(cli, a, env, io, false),
        HookCommand::Run(a) => {
            if let Err(e) = run_hook(cli, a, env, io) {
                let p = io.style.err;
                let note = format!(
                    "{} hook: {} (the git operation is not affected; `djmig check` tells more)",
                    a.hook, e.message
                );
                let _ = writeln!(io.err, "djmig: {} {}", p.warning("note:"), term(&note));
            }
            Ok(Exit::Ok)
        }
    }
}

/// The global options the hook must repeat: the project directory relative
/// to the work-tree top (where git runs hooks), and an explicit
/// configuration file.
fn global_args(cli: &Cli, ws: &Workspace) -> Vec<String> {
    let mut args = Vec::new();
    if !ws.repo_prefix.is_empty() {
        args.extend(["-C".to_string(), ws.repo_prefix.clone()]);
    }
    if let Some(c) = &cli.config {
        let abs = c.canonicalize().unwrap_or_else(|_| c.clone());
        args.extend(["--config".to_string(), abs.display().to_string()]);
    }
    args
}

fn install(cli: &Cli, a: &HookInstallArgs, env: Env, io: &mut Io, add: bool) -> Result<Exit> {
    let names = hooks::validate(&a.hooks)?;
    let ws = Workspace::open(cli.dir.as_deref(), cli.config.as_deref(), cli.strict, env)?;
    let dir = hooks::hooks_dir(&ws.root)?;
    let results = if add {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.canonicalize().ok())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "djmig".into());
        let globals = global_args(cli, &ws);
        hooks::install(&dir, &names, |hook| BlockSpec {
            hook: hook.to_string(),
            fallback_exe: exe.clone(),
            global_args: globals.clone(),
        })?
    } else {
        hooks::uninstall(&dir, &names)?
    };
    let p = io.style.err;
    let mut skipped = 0;
    for r in &results {
        let path = r.path.display();
        let line = match &r.outcome {
            Outcome::Created => format!("created {path}"),
            Outcome::Added => format!("added djmig's block to {path} (the existing hook is kept)"),
            Outcome::Updated => format!("updated djmig's block in {path}"),
            Outcome::Unchanged => format!("already installed in {path}"),
            Outcome::Removed => format!("removed djmig's block from {path}"),
            Outcome::Deleted => format!("deleted {path} (djmig had created it)"),
            Outcome::Absent => format!("no djmig block in {path}"),
            Outcome::Skipped(why) => {
                skipped += 1;
                let line = format!("{}: left {path} alone: {why}", r.hook);
                let _ = writeln!(io.err, "{} {}", p.error("error:"), term(&line));
                continue;
            }
        };
        let _ = writeln!(io.out, "{}", term(&format!("{}: {line}", r.hook)));
    }
    if skipped > 0 {
        return Err(Error::failed(format!(
            "{skipped} hook(s) could not be {}",
            if add { "installed" } else { "uninstalled" }
        )));
    }
    Ok(Exit::Ok)
}

/// `git rebase` checks out commits as it goes: its post-checkout calls are
/// not branch switches the user made; post-rewrite speaks at the end.
fn in_rebase(ws: &Workspace) -> bool {
    ws.env.git_rebasing || crate::adapters::git::rebase_in_progress(&ws.root)
}

/// What a hook run is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// After `git merge`/`git pull` (post-merge) or a rewrite (post-rewrite).
    Merged,
    /// A branch switch (post-checkout with flag 1, to another commit).
    Switched { prev: String, new: String },
    /// A commit (post-commit): only one that concludes a merge or a
    /// cherry-pick speaks.
    Committed,
    /// Nothing to check the graph for: a file checkout, or a checkout of
    /// the commit already there.
    Other,
}

fn event(a: &HookRunArgs) -> Result<Event> {
    Ok(match a.hook.as_str() {
        "post-checkout" => {
            // prev-head new-head flag; flag 1 is a branch checkout, 0 a
            // file checkout.
            let [prev, new, flag] = match a.args.as_slice() {
                [p, n, f, ..] => [p, n, f],
                _ => return Err(Error::usage("post-checkout expects three arguments")),
            };
            if flag != "1" || prev == new {
                Event::Other
            } else {
                Event::Switched {
                    prev: prev.clone(),
                    new: new.clone(),
                }
            }
        }
        "post-merge" | "post-rewrite" => Event::Merged,
        "post-commit" => Event::Committed,
        other => {
            return Err(Error::usage(format!(
                "djmig has no {other:?} hook (it has {})",
                hooks::HOOKS.join(", ")
            )))
        }
    })
}

/// Whether the commit just made brings in another line of work: it
/// concludes a merge that stopped (on a text conflict, or `--no-commit`),
/// or it is a cherry-pick, the last of its sequence. git runs no
/// post-merge for those. Read from HEAD's last reflog entry (`commit
/// (merge)`, `commit (cherry-pick)`, `cherry-pick: …`); without a reflog,
/// a merge commit at HEAD. An amend is left to post-rewrite.
pub fn commit_brings_in_work(
    reflog_message: Option<&str>,
    head_is_merge: bool,
    picks_left: usize,
) -> bool {
    let Some(msg) = reflog_message else {
        return head_is_merge;
    };
    if msg.starts_with("commit (merge)") {
        return true;
    }
    let picked = msg.starts_with("commit (cherry-pick)") || msg.starts_with("cherry-pick");
    // The sequencer's todo still lists the commit just made: more than one
    // line means more picks follow, and the last one speaks.
    picked && picks_left <= 1
}

/// [`commit_brings_in_work`] for the repository around `root`.
fn commit_concludes(root: &Path) -> bool {
    let Some(last) = crate::adapters::git::last_commit(root) else {
        return false;
    };
    let todo = std::fs::read_to_string(last.git_dir.join("sequencer/todo")).unwrap_or_default();
    let picks_left = todo
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count();
    commit_brings_in_work(
        last.reflog_message.as_deref(),
        last.head_is_merge,
        picks_left,
    )
}

fn run_hook(cli: &Cli, a: &HookRunArgs, env: Env, io: &mut Io) -> Result<()> {
    if env.skip_hooks {
        return Ok(());
    }
    let event = event(a)?;
    let ws = Workspace::open(cli.dir.as_deref(), cli.config.as_deref(), cli.strict, env)?;
    let done = hook_on(cli, &ws, event, io);
    // Once, however the hook ended.
    ws.save_caches();
    done
}

/// [`run_hook`] in the open workspace.
fn hook_on(cli: &Cli, ws: &Workspace, event: Event, io: &mut Io) -> Result<()> {
    // A rebase checks out and commits as it goes; post-rewrite speaks at
    // the end.
    if event != Event::Merged && in_rebase(ws) {
        return Ok(());
    }
    let p = io.style.err;
    // The command as the user types it, to be followed by more words.
    let djmig = match &cli.dir {
        Some(d) => shell_line(&["djmig", "-C", &d.display().to_string()]),
        None => "djmig".to_string(),
    };
    // Half-changed files: nothing else is worth saying, and committing
    // them would lose what the resolution set aside.
    if let Some(j) = super::unfinished_resolution(ws) {
        let what = format!(
            "the last resolution did not finish: {} (started {}); files it changed are half-way",
            j.description, j.started
        );
        let _ = writeln!(io.err, "djmig: {} {}", p.warning("warning:"), term(&what));
        let _ = writeln!(
            io.err,
            "djmig: run {} to put back every file it touched (before committing them)",
            p.command(&format!("{djmig} undo"))
        );
        return Ok(());
    }
    let checkout = match event {
        Event::Other => return Ok(()),
        Event::Committed if !commit_concludes(&ws.root) => return Ok(()),
        Event::Switched { prev, new } => Some((prev, new)),
        Event::Merged | Event::Committed => None,
    };
    let an = analyze_worktree(ws);
    let mut report = GraphReport::new(
        &an.project,
        &an.built.graph,
        &an.built.errors,
        &BTreeSet::new(),
    );
    dlm::annotate(&mut report, &FsTree::new(&ws.root));
    let warn = p.warning("warning:");
    if let Some(first) = report.errors.first() {
        let more = match report.errors.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let at = first
            .file
            .as_deref()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let what = format!(
            "the migration graph cannot be built: {at}{}{more}; Django's migrate would stop too. Details: {djmig} check",
            first.message
        );
        let _ = writeln!(io.err, "djmig: {warn} {}", term(&what));
    } else if !report.conflicts.is_empty() {
        for (app, leaves) in &report.conflicts {
            let names: Vec<String> = leaves.iter().map(|l| p.leaf(l).to_string()).collect();
            let _ = writeln!(
                io.err,
                "djmig: {warn} {} has {} leaf migrations ({}); Django's migrate will stop with \"Conflicting migrations detected\"",
                p.app(app),
                leaves.len(),
                names.join(", ")
            );
        }
        let mut apps = vec!["resolve"];
        apps.extend(report.conflicts.keys().map(String::as_str));
        let cmd = format!("{djmig} {}", shell_line(&apps));
        let _ = writeln!(io.err, "djmig: fix it with: {}", p.command(&cmd));
    }
    for d in report
        .warnings
        .iter()
        .filter(|w| w.kind == crate::core::diag::DiagKind::MaxMigration)
    {
        let at = d
            .file
            .as_deref()
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let _ = writeln!(
            io.err,
            "djmig: {warn} {}",
            term(&format!("{at}{}", d.message))
        );
    }
    if let Some((prev, new)) = checkout {
        if ws.config.hooks.database_check {
            super::stranded::database_check(ws, &an, &prev, &new, io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::commit_brings_in_work as brings;

    #[test]
    fn which_commits_speak() {
        assert!(brings(Some("commit (merge): Merge branch 'a'"), true, 0));
        assert!(brings(Some("commit (cherry-pick): add field"), false, 0));
        assert!(brings(Some("cherry-pick: add field"), false, 1));
        // More picks follow: the last one speaks.
        assert!(!brings(Some("cherry-pick: add field"), false, 2));
        assert!(!brings(Some("commit: add field"), false, 0));
        // An amended merge commit: post-rewrite speaks.
        assert!(!brings(Some("commit (amend): Merge branch 'a'"), true, 0));
        assert!(!brings(Some("commit (initial): first"), false, 0));
        // No reflog: a merge commit at HEAD.
        assert!(brings(None, true, 0));
        assert!(!brings(None, false, 0));
    }
}
