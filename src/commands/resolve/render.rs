//! What `resolve` says: the situation, the plan, the menu, the outcome and
//! the commands it suggests. Names come from the repository: every line is
//! shown as [`term`] shows it, and suggested commands are shell-quoted.

use std::io::Write;

use crate::adapters::git::{InProgress, RepoState, Resolved};
use crate::cli::ResolveArgs;
use crate::core::escape::{shell_line, term};
use crate::core::resolve::{MigInfo, Plan, Situation, Step, Strategy};
use crate::core::standpoint::How;
use crate::error::Exit;

use super::database::Db;
use super::execute::Outcome;

/// Commands djmig suggests, with the flags that reproduce this view.
pub struct Suggest {
    base_flag: String,
}

impl Suggest {
    pub fn new(args: &ResolveArgs, how: How, upstream: &Resolved) -> Suggest {
        let base = args.base.as_deref().unwrap_or(&upstream.rev);
        Suggest {
            base_flag: if how.needs_base_flag() {
                format!(" {}", shell_line(&["--base", base]))
            } else {
                String::new()
            },
        }
    }

    /// `djmig resolve` (with `--base` when it was given).
    pub fn resolve(&self) -> String {
        format!("djmig resolve{}", self.base_flag)
    }
}

/// A menu item for a strategy.
pub fn menu_item(s: &Situation, st: Strategy) -> String {
    let label = match st {
        Strategy::Regenerate => "regenerate: delete yours, run makemigrations again",
        Strategy::Reparent => "reparent: rename yours to follow upstream's leaf",
        Strategy::Merge => "merge: add a merge migration",
    };
    if st == s.recommended {
        format!("{label}  (recommended)")
    } else if let Some(why) = s.refused.get(&st) {
        format!("{label}  (not possible: {})", term(why))
    } else if st == Strategy::Merge {
        format!("{label}  (last resort)")
    } else {
        label.to_string()
    }
}

/// One line, as [`term`] shows it.
fn line(w: &mut dyn Write, text: &str) -> std::io::Result<()> {
    writeln!(w, "{}", term(text))
}

pub fn situation(w: &mut dyn Write, s: &Situation, upstream: &str) {
    let _ = writeln!(w);
    let _ = line(
        w,
        &format!(
            "{}: two leaf migrations after {}",
            s.app,
            s.common_ancestor.as_deref().unwrap_or("the start")
        ),
    );
    let list = |w: &mut dyn Write, title: &str, ms: &[MigInfo]| {
        let _ = line(w, &format!("  {title}"));
        for m in ms {
            let mut flags = Vec::new();
            match m.applied {
                Some(true) => flags.push("applied locally"),
                Some(false) => flags.push("not applied"),
                None => {}
            }
            if m.published {
                flags.push("published");
            }
            if m.hand_written.is_some() {
                flags.push("hand-written");
            }
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("  [{}]", flags.join(", "))
            };
            let _ = line(w, &format!("    {}{flags}", m.name));
            for op in &m.operations {
                let _ = line(w, &format!("        {op}"));
            }
        }
    };
    list(w, &format!("upstream ({upstream}):"), &s.theirs);
    list(w, "yours (not upstream):", &s.ours);
    if !s.dependents.is_empty() {
        list(
            w,
            "other apps' migrations that depend on yours:",
            &s.dependents,
        );
    }
    for d in &s.data_at_risk {
        let _ = line(w, &format!("  local data: {}", d.describe()));
    }
    for o in &s.overlaps {
        let _ = line(
            w,
            &format!("  warning: both sides touch {o}; read both before going on"),
        );
    }
    let _ = line(
        w,
        &format!("  recommended: {} ({})", s.recommended.name(), s.reason),
    );
}

pub fn plan(w: &mut dyn Write, plans: &[Plan], steps: &[Step], db: &Db) {
    let names: Vec<String> = plans
        .iter()
        .map(|p| format!("{} ({})", p.app, p.name()))
        .collect();
    let _ = writeln!(w);
    let _ = line(w, &format!("Plan for {}:", names.join(", ")));
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let _ = match step {
            Step::Rebase { onto, upstream } => line(
                w,
                &format!("  {n}. git rebase {onto}: take in {upstream} first (your own git; it may stop on text conflicts)"),
            ),
            Step::SetAside { files } => line(
                w,
                &format!(
                    "  {n}. set aside {} (into the journal) so Django sees one leaf while the database is migrated",
                    files.join(", ")
                ),
            ),
            Step::PutBack { files } => line(w, &format!("  {n}. put back {}", files.join(", "))),
            Step::Migrate {
                app,
                target,
                unapplies,
                applies,
                data_at_risk,
            } => {
                let mut what = Vec::new();
                if !unapplies.is_empty() {
                    what.push(format!("unapplies {}", unapplies.join(", ")));
                }
                if !applies.is_empty() {
                    what.push(format!("applies {}", applies.join(", ")));
                }
                let r = line(
                    w,
                    &format!(
                        "  {n}. manage.py migrate {app} {target}{}",
                        if what.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", what.join("; "))
                        }
                    ),
                );
                for d in data_at_risk {
                    let _ = line(w, &format!("       local data: {}", d.describe()));
                }
                if !data_at_risk.is_empty() {
                    let _ = writeln!(
                        w,
                        "       {}",
                        match db.info.as_ref().and_then(|i| i.sqlite.as_ref()) {
                            Some(_) => "the SQLite database is copied into the journal first: `djmig undo` gives it back byte for byte",
                            None => "these values are lost from the local database (`--strategy reparent` keeps them)",
                        }
                    );
                }
                r
            }
            Step::MigrateAll => writeln!(
                w,
                "  {n}. manage.py migrate: apply upstream's and the new migrations to the local database"
            ),
            Step::RenameApplied { renames } => line(
                w,
                &format!(
                    "  {n}. rename in django_migrations (they stay applied, their data stays): {}",
                    renames
                        .iter()
                        .map(|r| format!("{}.{} -> {}", r.app, r.from, r.to))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Step::Delete { file } => line(w, &format!("  {n}. delete {file} (backed up)")),
            Step::Write {
                file,
                replaces: Some(old),
                diff,
                ..
            } => line(
                w,
                &format!("  {n}. rename {old} -> {file}, rewriting its references:"),
            )
            .and_then(|_| writeln!(w, "{}", indent(diff))),
            Step::Write {
                file,
                replaces: None,
                diff,
                ..
            } => line(w, &format!("  {n}. write {file}:"))
                .and_then(|_| writeln!(w, "{}", indent(diff))),
            Step::Makemigrations { apps } => line(
                w,
                &format!("  {n}. manage.py makemigrations {}", apps.join(" ")),
            ),
            Step::MakemigrationsMerge { app } => line(
                w,
                &format!("  {n}. manage.py makemigrations --merge --noinput {app}"),
            ),
            Step::WriteMaxMigration { file, leaf, .. } => line(
                w,
                &format!(
                    "  {n}. write {file}: {}",
                    leaf.as_deref().unwrap_or("the app's new leaf")
                ),
            ),
            Step::Check => writeln!(w, "  {n}. manage.py check: the project's system checks pass"),
            Step::Verify => writeln!(w, "  {n}. check: one leaf per app"),
        };
    }
    for p in plans {
        for h in &p.hints {
            let _ = line(w, &format!("  review: {h}"));
        }
    }
    if db.state == crate::core::resolve::Database::NotAsked {
        let _ = writeln!(
            w,
            "  note: the local database was not asked (a dry run runs no project code): a real run asks it first, \
             and adds the steps that unapply and apply again whatever of yours is applied"
        );
    }
}

/// A diff, indented, each of its lines as [`term`] shows it.
fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("       {}", term(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last words, and the exit code of an outcome other than a failure.
pub fn outcome(w: &mut dyn Write, outcome: &Outcome, suggest: &Suggest, state: &RepoState) -> Exit {
    match outcome {
        Outcome::Done => {
            let _ = writeln!(w, "Done: one leaf per app.");
            let next = match &state.in_progress {
                Some(InProgress::Merge { .. }) => {
                    "Review the changes (git diff), then conclude the merge: `git add -A` and `git commit`."
                }
                Some(InProgress::Rebase(_)) => {
                    "Review the changes (git diff), then `git add -A` and `git rebase --continue`."
                }
                Some(InProgress::CherryPick { .. }) => {
                    "Review the changes (git diff), then `git add -A` and `git cherry-pick --continue`."
                }
                _ => "Review the changes (git diff, git status), then commit.",
            };
            let _ = writeln!(w, "{next}");
            let _ = writeln!(
                w,
                "`djmig undo` puts back every file and the local database as they were, if needed."
            );
            Exit::Ok
        }
        Outcome::WouldDo => {
            let _ = writeln!(w, "Dry run: nothing was changed.");
            Exit::Conflicts
        }
        Outcome::Declined => {
            let _ = writeln!(
                w,
                "Nothing was changed. To see the plan again: `{} --dry-run`",
                suggest.resolve()
            );
            Exit::Conflicts
        }
        Outcome::Failed { .. } => Exit::Failed,
    }
}
