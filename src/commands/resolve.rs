//! `djmig resolve`: show each conflicted app's situation, choose a strategy,
//! print the plan, then carry it out behind a journal (`djmig undo`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cache::CachingReader;
use crate::cli::{PlanFormat, ResolveArgs, Strategy as CliStrategy};
use crate::core::graph::detect_conflicts;
use crate::core::keys::MigrationKey;
use crate::core::load::Origin;
use crate::core::pyparse::ParsedMigration;
use crate::core::resolve::{self, Plan, Situation, Step, Strategy};
use crate::core::tree::SourceTree;
use crate::django::Django;
use crate::error::{Error, Exit, Result};
use crate::git::Repo;
use crate::journal::{write_atomic, Journal};
use crate::term::{self, Prompter};
use crate::workspace::Workspace;

use super::{analyze_with, compare, Analysis, Io};

#[derive(Serialize)]
struct ResolveJson<'a> {
    schema_version: u32,
    base: String,
    dry_run: bool,
    situations: &'a [Situation],
    plans: &'a [Plan],
}

pub fn run(ws: &Workspace, args: &ResolveArgs, io: &mut Io) -> Result<Exit> {
    // A resolution that was interrupted left files half-changed: the graph
    // read now would be misleading.
    if let Some(last) = crate::journal::last(&ws.root)? {
        if last.state == crate::journal::State::InProgress {
            return Err(Error::usage(format!(
                "the last resolution did not finish: {} (started {})",
                last.description, last.started
            ))
            .hint("run `djmig undo` to restore the files it changed, then `djmig resolve` again"));
        }
    }
    let repo = compare::open_repo(ws)?;
    let reader = compare::open_cache(&repo);
    let (base, base_how) = compare::resolve_base(&repo, ws, args.base.as_deref())?;
    let mut prompter = term::prompter(args.yes, args.strategy.is_some());
    let text = args.format == PlanFormat::Text;
    let out = &mut *io.out;
    if text {
        let _ = writeln!(out, "Upstream is {} ({base_how}).", base.describe());
    }

    let (mut wt, mut a) = read_worktree(ws, &repo, &reader)?;
    let mut conflicted = conflicted_apps(&a, &args.apps)?;
    if conflicted.is_empty() {
        // Maybe the conflict only shows once upstream is taken in.
        let (_, cmp) = compare::compare(ws, &repo, &reader, Some(&base.rev), None)?;
        // The divergence holds exactly the apps the merge would conflict.
        let pending: Vec<String> = cmp
            .divergence
            .keys()
            .filter(|app| args.apps.is_empty() || args.apps.contains(app))
            .cloned()
            .collect();
        if pending.is_empty() {
            let _ = writeln!(
                out,
                "No conflicts: every app has one leaf migration, also once {} is merged.",
                base.rev
            );
            return Ok(Exit::Ok);
        }
        let _ = writeln!(
            out,
            "Your branch has not taken in {} yet; once it does, {} will have two leaf migrations.\n\
             The safe order is: rebase onto upstream first, then resolve.",
            base.rev,
            pending.join(", ")
        );
        if args.dry_run {
            let _ = writeln!(out, "would run: git rebase {}", base.rev);
            return Ok(Exit::Conflicts);
        }
        if !prompter.confirm(&format!("Run `git rebase {}` now?", base.rev), true)? {
            let _ = writeln!(
                out,
                "Run `git rebase {}` yourself, then `djmig resolve` again.",
                base.rev
            );
            return Ok(Exit::Conflicts);
        }
        run_git_rebase(&ws.root, &base.rev)?;
        (wt, a) = read_worktree(ws, &repo, &reader)?;
        conflicted = conflicted_apps(&a, &args.apps)?;
        if conflicted.is_empty() {
            let _ = writeln!(out, "After the rebase there is no conflict left.");
            return Ok(Exit::Ok);
        }
    }

    // What else we need to know: upstream's files, what is published, the
    // local database, full parses of the files involved.
    let base_tree = repo.tree(base.oid)?;
    let candidates: Vec<String> = a
        .project
        .migrations
        .values()
        .filter(|m| m.origin == Origin::Project && !base_tree.is_file(&m.file))
        .map(|m| m.file.clone())
        .collect();
    let published: BTreeSet<String> = repo.published_paths(&candidates)?.into_keys().collect();
    let django = Django::locate(ws).ok();
    let django_runs = django.as_ref().is_some_and(|d| d.can_run_django());
    let applied: Option<BTreeSet<MigrationKey>> = match (&django, django_runs) {
        (Some(d), true) => match d.showmigrations(&[]) {
            Ok(m) => Some(
                m.into_iter()
                    .flat_map(|(app, v)| {
                        v.into_iter()
                            .filter(|(_, applied)| *applied)
                            .map(move |(n, _)| MigrationKey::new(app.clone(), n))
                    })
                    .collect(),
            ),
            Err(e) => {
                let _ = writeln!(
                    io.err,
                    "warning: cannot ask the local database what is applied: {e}"
                );
                None
            }
        },
        _ => None,
    };
    let full = |k: &MigrationKey| -> Option<Arc<ParsedMigration>> {
        let m = a.project.migrations.get(k)?;
        reader.parse_full(&wt, &m.file).ok()
    };
    let in_base = |f: &str| base_tree.is_file(f);
    let is_published = |f: &str| published.contains(f);
    let facts = resolve::Facts {
        in_base: &in_base,
        published: &is_published,
        applied: applied.as_ref(),
        full: &full,
        django_runs,
    };

    let mut situations = Vec::new();
    let mut plans = Vec::new();
    for app in &conflicted {
        let s =
            resolve::situation(&a.project, &a.built.graph, app, &facts).map_err(Error::failed)?;
        if text {
            write_situation(out, &s, &base.rev);
        }
        // A dry run changes nothing: it shows the recommended plan unless
        // told otherwise, without asking.
        let given = args
            .strategy
            .or(args.dry_run.then_some(match s.recommended {
                Strategy::Regenerate => CliStrategy::Regenerate,
                Strategy::Reparent => CliStrategy::Reparent,
                Strategy::Merge => CliStrategy::Merge,
            }));
        let strategy = if args.dry_run {
            match given {
                Some(CliStrategy::Regenerate) | None => Strategy::Regenerate,
                Some(CliStrategy::Reparent) => Strategy::Reparent,
                Some(CliStrategy::Merge) => Strategy::Merge,
            }
        } else {
            choose_strategy(&s, given, &mut *prompter, out, text)?
        };
        let merge_file = if strategy == Strategy::Merge && !django_runs {
            Some(own_merge_file(ws, &a, app))
        } else {
            None
        };
        let sources = |f: &str| wt.read(f).ok();
        let plan = resolve::plan(&s, strategy, &a.project, &sources, &full, merge_file).map_err(
            |why| Error::usage(why).hint("pick another --strategy; `merge` is always possible"),
        )?;
        if text {
            write_plan(out, &plan);
        }
        situations.push(s);
        plans.push(plan);
    }
    if args.format == PlanFormat::Json {
        let j = ResolveJson {
            schema_version: 1,
            base: base.oid.to_string(),
            dry_run: args.dry_run,
            situations: &situations,
            plans: &plans,
        };
        serde_json::to_writer_pretty(&mut *out, &j)
            .map_err(|e| Error::failed("cannot write JSON").cause(e))?;
        let _ = writeln!(out);
    }
    if args.dry_run {
        if text {
            let _ = writeln!(out, "Dry run: nothing was changed.");
        }
        return Ok(Exit::Conflicts);
    }

    // Safety: files with uncommitted changes are not touched unless asked.
    let files: BTreeSet<String> = plans.iter().flat_map(|p| p.files.iter().cloned()).collect();
    if !args.allow_dirty {
        let dirty = dirty_files(&repo, &files);
        if !dirty.is_empty() {
            return Err(Error::usage(format!(
                "these files have uncommitted changes: {}",
                dirty.join(", ")
            ))
            .hint("commit or stash them first, or pass --allow-dirty (everything is backed up either way)"));
        }
    }
    if !prompter.confirm("Apply this plan?", true)? {
        let _ = writeln!(out, "Nothing was changed.");
        return Ok(Exit::Conflicts);
    }
    let needs_django = plans.iter().flat_map(|p| &p.steps).any(|s| {
        matches!(
            s,
            Step::Unapply { .. }
                | Step::Makemigrations { .. }
                | Step::MakemigrationsMerge { .. }
                | Step::Migrate
        )
    });
    let django = match (django, needs_django) {
        (Some(d), true) if django_runs => Some(d),
        (_, true) => {
            return Err(Error::failed("this plan runs manage.py, but no Python environment here can run Django")
                .hint("set `python:` in .djmig.yml or activate the project's virtualenv; or use --strategy reparent"))
        }
        (d, false) => d,
    };
    let abs: Vec<PathBuf> = files.iter().map(|f| ws.root.join(f)).collect();
    let desc = format!(
        "djmig resolve {}",
        plans
            .iter()
            .map(|p| format!("{} ({})", p.app, p.strategy.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut journal = Journal::begin(&ws.root, &desc, &abs)?;
    for plan in &plans {
        if let Err(e) = execute(
            ws,
            plan,
            &a,
            django.as_ref(),
            &mut journal,
            &mut *prompter,
            out,
        ) {
            return Err(e.hint("`djmig undo` restores every file as it was before this resolution"));
        }
    }
    let (_, after) = read_worktree(ws, &repo, &CachingReader::in_memory())?;
    update_max_migration(ws, &after, &plans, &mut journal)?;
    journal.finish()?;
    let left: Vec<String> = conflicted_apps(&after, &conflicted)?;
    if !after.built.errors.is_empty() || !left.is_empty() {
        return Err(Error::failed(format!(
            "after the resolution the graph still has problems: {}",
            if left.is_empty() {
                "errors".to_string()
            } else {
                format!("conflicts in {}", left.join(", "))
            }
        ))
        .hint("`djmig undo` restores every file as it was before this resolution"));
    }
    let _ = writeln!(
        out,
        "Done: one leaf per app. Review the changes (git diff, git status), then commit."
    );
    let _ = writeln!(
        out,
        "`djmig undo` restores every file as it was, if needed."
    );
    let _ = reader.save();
    Ok(Exit::Ok)
}

/// The work tree and its analysis; a graph that cannot be built stops here.
fn read_worktree(
    ws: &Workspace,
    repo: &Repo,
    reader: &CachingReader,
) -> Result<(crate::git::WorktreeTree, Analysis)> {
    let wt = repo.worktree_tree()?;
    let a = analyze_with(ws, &wt, reader);
    let errors: Vec<String> = a
        .project
        .errors()
        .chain(&a.built.errors)
        .map(|d| {
            format!(
                "{}{}",
                d.file
                    .as_ref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default(),
                d.message
            )
        })
        .collect();
    if !errors.is_empty() {
        let mut e = Error::new(
            Exit::Graph,
            "the migration graph cannot be built, so there is nothing safe to resolve yet",
        );
        for m in errors.iter().take(10) {
            e = e.cause(m);
        }
        return Err(e.hint("`djmig check` lists the problems; fix them first"));
    }
    Ok((wt, a))
}

fn conflicted_apps(a: &Analysis, only: &[String]) -> Result<Vec<String>> {
    let only = super::selected_apps(&a.project, only)?;
    Ok(detect_conflicts(
        &a.built.graph,
        a.project
            .project_apps()
            .filter(|app| only.is_empty() || only.contains(&app.label))
            .map(|app| app.label.clone()),
    )
    .into_keys()
    .collect())
}

fn choose_strategy(
    s: &Situation,
    given: Option<CliStrategy>,
    prompter: &mut dyn Prompter,
    out: &mut dyn Write,
    text: bool,
) -> Result<Strategy> {
    let strategy = match given {
        Some(CliStrategy::Regenerate) => Strategy::Regenerate,
        Some(CliStrategy::Reparent) => Strategy::Reparent,
        Some(CliStrategy::Merge) => Strategy::Merge,
        None => {
            let all = [Strategy::Regenerate, Strategy::Reparent, Strategy::Merge];
            let items: Vec<String> = all
                .iter()
                .map(|st| {
                    let label = match st {
                        Strategy::Regenerate => {
                            "regenerate: delete yours, run makemigrations again"
                        }
                        Strategy::Reparent => "reparent: rename yours to follow upstream's leaf",
                        Strategy::Merge => "merge: add a merge migration (last resort)",
                    };
                    if *st == s.recommended {
                        format!("{label}  (recommended)")
                    } else if let Some(why) = s.refused.get(st) {
                        format!("{label}  (not possible: {why})")
                    } else {
                        label.to_string()
                    }
                })
                .collect();
            let default = all.iter().position(|st| *st == s.recommended).unwrap_or(0);
            all[prompter.select(&format!("How should {} be fixed?", s.app), &items, default)?]
        }
    };
    if strategy == Strategy::Merge && s.recommended != Strategy::Merge {
        if text {
            let _ = writeln!(
                out,
                "A merge migration is the last resort: the two chains stay side by side, so their operations can run \
                 in a different order in different environments, and merge nodes pile up in the history."
            );
        }
        if !prompter.confirm("Add a merge migration anyway?", false)? {
            return Err(
                Error::new(Exit::Failed, "declined; nothing was changed").hint(format!(
                    "the recommended strategy is {}",
                    s.recommended.name()
                )),
            );
        }
    }
    Ok(strategy)
}

/// The merge migration Django would write, for when Django cannot run. The
/// header names the Django of the project's virtualenv, read statically.
fn own_merge_file(ws: &Workspace, a: &Analysis, app: &str) -> (String, String) {
    let leaves: Vec<String> = a
        .built
        .graph
        .leaves(app)
        .into_iter()
        .map(|k| k.name)
        .collect();
    let version = crate::fs_tree::find_site_packages(
        &ws.root,
        ws.config.python.as_deref(),
        std::env::var("VIRTUAL_ENV").ok().as_deref(),
    )
    .and_then(|sp| std::fs::read_to_string(sp.join("django/__init__.py")).ok())
    .and_then(|src| crate::core::merge_migration::django_version_from_init(&src))
    .unwrap_or_else(|| "5.2".to_string());
    crate::core::merge_migration::merge_migration(app, &leaves, &version, now_minute())
}

fn now_minute() -> crate::core::merge_migration::Minute {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y as i32,
        m as u32,
        d as u32,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
    )
}

fn write_situation(w: &mut dyn Write, s: &Situation, base: &str) {
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "{}: two leaf migrations after {}",
        s.app,
        s.common_ancestor.as_deref().unwrap_or("the start")
    );
    let list = |w: &mut dyn Write, title: &str, ms: &[resolve::MigInfo]| {
        let _ = writeln!(w, "  {title}");
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
            let _ = writeln!(w, "    {}{flags}", m.name);
            for op in &m.operations {
                let _ = writeln!(w, "        {op}");
            }
        }
    };
    list(w, &format!("upstream ({base}):"), &s.theirs);
    list(w, "yours (not upstream):", &s.ours);
    if !s.dependents.is_empty() {
        list(
            w,
            "other apps' migrations that depend on yours:",
            &s.dependents,
        );
    }
    for o in &s.overlaps {
        let _ = writeln!(
            w,
            "  warning: both sides touch {o}; read both before going on"
        );
    }
    let _ = writeln!(w, "  recommended: {} ({})", s.recommended.name(), s.reason);
}

fn write_plan(w: &mut dyn Write, p: &Plan) {
    let _ = writeln!(w, "Plan for {} ({}):", p.app, p.strategy.name());
    for (i, step) in p.steps.iter().enumerate() {
        let n = i + 1;
        let _ = match step {
            Step::Unapply { app, target, set_aside } => writeln!(
                w,
                "  {n}. unapply yours in the local database: manage.py migrate {app} {target} (with upstream's {} set aside meanwhile)",
                set_aside.join(", ")
            ),
            Step::Delete { file } => writeln!(w, "  {n}. delete {file} (backed up)"),
            Step::Write { file, replaces: Some(old), diff, .. } => {
                writeln!(w, "  {n}. rename {old} -> {file}, rewriting its references:\n{}", indent(diff))
            }
            Step::Write { file, replaces: None, diff, .. } => writeln!(w, "  {n}. write {file}:\n{}", indent(diff)),
            Step::Makemigrations { apps } => writeln!(w, "  {n}. manage.py makemigrations {}", apps.join(" ")),
            Step::MakemigrationsMerge { app } => writeln!(w, "  {n}. manage.py makemigrations --merge --noinput {app}"),
            Step::Migrate => writeln!(w, "  {n}. manage.py migrate (apply again what step 1 unapplied)"),
            Step::Verify => writeln!(w, "  {n}. check: one leaf per app"),
        };
    }
    for h in &p.hints {
        let _ = writeln!(w, "  review: {h}");
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("       {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Carry out one plan; every file it touches is in the journal already.
fn execute(
    ws: &Workspace,
    plan: &Plan,
    a: &Analysis,
    django: Option<&Django>,
    journal: &mut Journal,
    prompter: &mut dyn Prompter,
    out: &mut dyn Write,
) -> Result<()> {
    let root = &ws.root;
    let need = || {
        django.ok_or_else(|| Error::failed("this step runs manage.py, but Django cannot run here"))
    };
    let mut deleted: Vec<(String, Vec<u8>)> = Vec::new();
    let mig_dir = a.project.apps.get(&plan.app).map(|x| root.join(&x.path));
    for step in &plan.steps {
        match step {
            Step::Unapply {
                app,
                target,
                set_aside,
            } => {
                let _ = writeln!(out, "unapplying: manage.py migrate {app} {target}");
                let aside = journal.dir().join("aside");
                let moved = set_files_aside(root, set_aside, &aside)?;
                let res = need().and_then(|d| d.migrate(app, target));
                put_back(&moved)?;
                res?;
            }
            Step::Delete { file } => {
                let path = root.join(file);
                deleted.push((file.clone(), std::fs::read(&path).unwrap_or_default()));
                std::fs::remove_file(&path)
                    .map_err(|e| Error::failed(format!("cannot delete {file}")).cause(e))?;
                let _ = writeln!(out, "deleted {file}");
            }
            Step::Write {
                file,
                replaces,
                content,
                ..
            } => {
                let path = root.join(file);
                journal.record_extra(&path)?;
                write_atomic(&path, content)
                    .map_err(|e| Error::failed(format!("cannot write {file}")).cause(e))?;
                if let Some(old) = replaces {
                    std::fs::remove_file(root.join(old))
                        .map_err(|e| Error::failed(format!("cannot remove {old}")).cause(e))?;
                    let _ = writeln!(out, "renamed {old} -> {file}");
                } else {
                    let _ = writeln!(out, "wrote {file}");
                }
            }
            Step::Makemigrations { apps } => {
                let dirs = app_dirs(ws, a, apps);
                let before = listings(&dirs);
                for d in &dirs {
                    journal.watch_dir(d)?;
                }
                let names: Vec<&str> = apps.iter().map(String::as_str).collect();
                let o = need()?.makemigrations(&names)?;
                let _ = write!(out, "{}", o.stdout);
                let created = record_new(journal, &dirs, &before)?;
                show_new(out, &deleted, &created, plan);
            }
            Step::MakemigrationsMerge { app } => {
                let dirs: Vec<PathBuf> = mig_dir.iter().cloned().collect();
                let before = listings(&dirs);
                for d in &dirs {
                    journal.watch_dir(d)?;
                }
                let o = need()?.makemigrations_merge(app)?;
                let _ = write!(out, "{}", o.stdout);
                record_new(journal, &dirs, &before)?;
            }
            Step::Migrate => {
                if prompter.confirm(
                    "Apply the migrations to the local database again (manage.py migrate)?",
                    true,
                )? {
                    let o = need()?.migrate_all()?;
                    let _ = write!(out, "{}", o.stdout);
                } else {
                    let _ = writeln!(out, "skipped: run `python manage.py migrate` when ready");
                }
            }
            Step::Verify => {}
        }
    }
    Ok(())
}

fn app_dirs(ws: &Workspace, a: &Analysis, apps: &[String]) -> Vec<PathBuf> {
    apps.iter()
        .filter_map(|l| a.project.apps.get(l))
        .map(|x| ws.root.join(&x.path))
        .collect()
}

fn listings(dirs: &[PathBuf]) -> Vec<BTreeSet<PathBuf>> {
    dirs.iter()
        .map(|d| {
            std::fs::read_dir(d)
                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                .unwrap_or_default()
        })
        .collect()
}

fn record_new(
    journal: &mut Journal,
    dirs: &[PathBuf],
    before: &[BTreeSet<PathBuf>],
) -> Result<Vec<PathBuf>> {
    let mut created = Vec::new();
    for (now, was) in listings(dirs).iter().zip(before) {
        for p in now.difference(was) {
            if p.extension().is_some_and(|e| e == "py") {
                journal.record_created(p)?;
                created.push(p.clone());
            }
        }
    }
    Ok(created)
}

/// The new files next to what was deleted, and review hints on them.
fn show_new(out: &mut dyn Write, deleted: &[(String, Vec<u8>)], created: &[PathBuf], plan: &Plan) {
    let old: Vec<u8> = deleted
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    let mut new: Vec<u8> = Vec::new();
    for p in created {
        let bytes = std::fs::read(p).unwrap_or_default();
        new.extend_from_slice(&bytes);
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let parsed = crate::core::pyparse::parse_migration(&bytes);
        let _ = writeln!(out, "new: {}", p.display());
        for h in resolve::review_lines(&name, &parsed, &plan.app) {
            let _ = writeln!(out, "  review: {h}");
        }
    }
    let old_names: Vec<&str> = deleted.iter().map(|(f, _)| f.as_str()).collect();
    let _ = writeln!(
        out,
        "{}",
        resolve::unified_diff(&old_names.join(" + "), "new migrations", &old, &new)
    );
}

/// Move upstream's files away so Django sees one leaf; returns the moves.
fn set_files_aside(root: &Path, files: &[String], aside: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut moved = Vec::new();
    for f in files {
        let from = root.join(f);
        let to = aside.join(f);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p)
                .map_err(|e| Error::failed(format!("cannot create {}", p.display())).cause(e))?;
        }
        if let Err(e) = std::fs::rename(&from, &to) {
            put_back(&moved)?;
            return Err(Error::failed(format!("cannot set {f} aside")).cause(e));
        }
        moved.push((from, to));
    }
    Ok(moved)
}

fn put_back(moved: &[(PathBuf, PathBuf)]) -> Result<()> {
    for (orig, aside) in moved {
        std::fs::rename(aside, orig)
            .map_err(|e| Error::failed(format!("cannot put {} back", orig.display())).cause(e))?;
    }
    Ok(())
}

/// Keep django-linear-migrations' `max_migration.txt` naming each app's leaf.
fn update_max_migration(
    ws: &Workspace,
    after: &Analysis,
    plans: &[Plan],
    journal: &mut Journal,
) -> Result<()> {
    for p in plans {
        let Some(app) = after.project.apps.get(&p.app) else {
            continue;
        };
        let file = ws.root.join(crate::core::dlm::file_path(&app.path));
        if !file.is_file() {
            continue;
        }
        let leaves = after.built.graph.leaves(&p.app);
        if let [leaf] = leaves.as_slice() {
            journal.record_extra(&file)?;
            write_atomic(&file, crate::core::dlm::render(&leaf.name).as_bytes())
                .map_err(|e| Error::failed(format!("cannot write {}", file.display())).cause(e))?;
        }
    }
    Ok(())
}

/// Project files among `files` with changes git has not committed.
fn dirty_files(repo: &Repo, files: &BTreeSet<String>) -> Vec<String> {
    let prefix = repo.project_prefix().to_string();
    let mut out = Vec::new();
    for f in files {
        let path = if prefix.is_empty() {
            f.clone()
        } else {
            format!("{prefix}/{f}")
        };
        match repo.raw().status_file(Path::new(&path)) {
            Ok(st) if st.is_empty() || st.contains(git2::Status::IGNORED) => {}
            Ok(_) => out.push(f.clone()),
            Err(_) => {} // not in the index nor the work tree: a new file
        }
    }
    out
}

/// The user's own git, as an argument vector: `git rebase <base>`.
fn run_git_rebase(root: &Path, base: &str) -> Result<()> {
    let status = std::process::Command::new("git")
        .arg("rebase")
        .arg(base)
        .current_dir(root)
        .status()
        .map_err(|e| Error::failed("cannot run git").cause(e))?;
    if !status.success() {
        return Err(Error::failed(format!("`git rebase {base}` stopped")).hint(
            "resolve the conflicts git lists, `git add` them and `git rebase --continue` (or `git rebase --abort` to go back); then run `djmig resolve` again",
        ));
    }
    Ok(())
}
