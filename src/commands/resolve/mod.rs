//! `djmig resolve`: read where the user stands, show each conflicted app's
//! situation, choose a strategy, print the whole plan, ask every question,
//! then carry it out behind a journal (`djmig undo`).
//!
//! - `mod.rs`: gathering the facts and the plan;
//! - `database.rs`: what the project's Django says about the local
//!   database;
//! - `execute.rs`: running the steps, each recorded in the journal;
//! - `render.rs`: what the user reads.

mod database;
mod execute;
mod render;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use crate::adapters::git::{Repo, Resolved};
use crate::adapters::store::parse_cache::CachingReader;
use crate::cli::{PlanFormat, ResolveArgs, Strategy as CliStrategy};
use crate::core::escape::term;
use crate::core::graph::detect_conflicts;
use crate::core::keys::MigrationKey;
use crate::core::load::Origin;
use crate::core::pyparse::ParsedMigration;
use crate::core::resolve::{self, Database, Plan, PlanError, Situation, Step, Strategy};
use crate::core::standpoint::How;
use crate::core::tree::SourceTree;
use crate::error::{Error, Exit, Result};
use crate::terminal::prompt::{self as term, Prompter};
use crate::workspace::Workspace;

use super::{analyze_with, compare, Analysis, Io};

pub use execute::Outcome;

#[derive(Serialize)]
struct ResolveJson<'a> {
    schema_version: u32,
    base: String,
    upstream: String,
    upstream_how: How,
    dry_run: bool,
    database: database::DatabaseJson,
    situations: &'a [Situation],
    plans: &'a [Plan],
    /// Every step, in the order it runs.
    steps: &'a [Step],
    outcome: execute::OutcomeJson,
}

pub fn run(ws: &Workspace, args: &ResolveArgs, io: &mut Io) -> Result<Exit> {
    refuse_after_interrupted(ws)?;
    let repo = compare::open_repo(ws)?;
    let reader = ws.parse_cache(repo);
    let (upstream, how) = repo.standpoint(args.base.as_deref(), ws.config.base.as_deref())?;
    // With --format json, stdout holds the JSON document and nothing else:
    // the talk goes to stderr.
    if args.format == PlanFormat::Json {
        run_with(ws, args, repo, &reader, upstream, how, io.err, Some(io.out))
    } else {
        run_with(ws, args, repo, &reader, upstream, how, io.out, None)
    }
}

/// A resolution that was interrupted left files half-changed: the graph
/// read now would be misleading.
fn refuse_after_interrupted(ws: &Workspace) -> Result<()> {
    if let Some(last) = crate::adapters::store::journal::last(&ws.root)? {
        if last.state == crate::adapters::store::journal::State::InProgress {
            return Err(Error::failed(format!(
                "the last resolution did not finish: {} (started {})",
                last.description, last.started
            ))
            .hint("run `djmig undo` to restore what it changed, then `djmig resolve` again"));
        }
    }
    Ok(())
}

/// What the plans are built from: the work tree, or — when the branch has
/// not taken upstream in yet — the merge to come, after djmig's rebase.
struct Ground {
    analysis: Analysis,
    /// The apps to resolve.
    conflicted: Vec<String>,
    /// The rebase that must run first.
    rebase: Option<Step>,
}

#[allow(clippy::too_many_arguments)]
fn run_with(
    ws: &Workspace,
    args: &ResolveArgs,
    repo: &Repo,
    reader: &CachingReader,
    upstream: Resolved,
    how: How,
    talk: &mut dyn std::io::Write,
    json_out: Option<&mut dyn std::io::Write>,
) -> Result<Exit> {
    let json = json_out.is_some();
    let suggest = render::Suggest::new(args, how, &upstream);
    let _ = writeln!(
        talk,
        "Upstream is {} ({}).",
        term(&upstream.describe()),
        how.phrase()
    );
    if let Some(s) = compare::where_you_are(&repo.state()?) {
        let _ = writeln!(talk, "{}", term(&s));
    }
    refuse_conflict_markers(ws, repo)?;
    let (wt, a) = read_worktree(ws, repo, reader)?;
    let conflicted = conflicted_apps(&a, &args.apps)?;
    let upstream_tree = repo.tree(upstream.oid)?;

    // No conflict in the files: maybe only a stale max_migration.txt, or
    // a conflict that shows once upstream is taken in.
    let mut settle: Vec<Plan> = Vec::new();
    let ground = if !conflicted.is_empty() {
        Ground {
            analysis: a,
            conflicted,
            rebase: None,
        }
    } else {
        settle = settle_max_migration(ws, &a, &args.apps)?;
        let pending = if how.came_in() || !settle.is_empty() {
            Vec::new()
        } else {
            let (_, cmp) =
                compare::compare(ws, repo, reader, Some(&upstream.oid.to_string()), None)?;
            let apps: Vec<String> = cmp
                .divergence
                .keys()
                .filter(|app| args.apps.is_empty() || args.apps.contains(app))
                .cloned()
                .collect();
            if apps.is_empty() {
                Vec::new()
            } else {
                vec![(apps, cmp)]
            }
        };
        match pending.into_iter().next() {
            Some((apps, cmp)) => {
                let _ = writeln!(
                    talk,
                    "Your branch has not taken in {} yet; once it does, {} will have two leaf migrations.\n\
                     The safe order is: rebase onto upstream first, then resolve.",
                    term(&upstream.describe()),
                    term(&apps.join(", "))
                );
                Ground {
                    analysis: cmp.merged_a,
                    conflicted: apps,
                    rebase: Some(Step::Rebase {
                        onto: upstream.oid.to_string(),
                        upstream: upstream.describe(),
                    }),
                }
            }
            None if settle.is_empty() => {
                let msg = format!(
                    "No conflicts: every app has one leaf migration{}.",
                    if how.came_in() {
                        String::new()
                    } else {
                        format!(", also once {} is merged", term(&upstream.describe()))
                    }
                );
                let _ = writeln!(talk, "{msg}");
                if let Some(out) = json_out {
                    let j = serde_json::json!({
                        "schema_version": 1,
                        "base": upstream.oid.to_string(),
                        "upstream": upstream.describe(),
                        "upstream_how": how,
                        "dry_run": args.dry_run,
                        "situations": [],
                        "plans": [],
                        "steps": [],
                        "outcome": {"status": "nothing_to_do"},
                    });
                    let _ = writeln!(out, "{j:#}");
                }
                return Ok(Exit::Ok);
            }
            None => Ground {
                analysis: a,
                conflicted: Vec::new(),
                rebase: None,
            },
        }
    };

    // What else we need to know: upstream's files, what is published, the
    // local database, full parses of the files involved.
    let an = &ground.analysis;
    let candidates: Vec<String> = an
        .project
        .migrations
        .values()
        .filter(|m| m.origin == Origin::Project && !upstream_tree.is_file(&m.file))
        .map(|m| m.file.clone())
        .collect();
    let published: BTreeSet<String> = repo.published_at_head(&candidates)?;
    // A dry run starts no process: it does not ask the project's Python
    // whether it can import Django, nor the database what is applied (that
    // would run the project's code, and SQLite would create its file).
    let located = super::locate_django(ws);
    let django = if args.dry_run {
        None
    } else {
        located
            .as_ref()
            .ok()
            .filter(|d| d.can_run_django())
            .cloned()
    };
    let django_runs = django.is_some() || (args.dry_run && located.is_ok());
    let db = if args.dry_run {
        database::not_asked(args.no_database)
    } else {
        database::ask(args.no_database, &located, django.as_ref())
    };
    for w in &db.warnings {
        let _ = writeln!(talk, "warning: {}", term(w));
    }
    let full = |k: &MigrationKey| -> Option<Arc<ParsedMigration>> {
        let m = an.project.migrations.get(k)?;
        reader
            .parse_full(&wt, &m.file)
            .or_else(|_| reader.parse_full(&upstream_tree, &m.file))
            .ok()
    };
    let in_base = |f: &str| upstream_tree.is_file(f);
    let is_published = |f: &str| published.contains(f);
    let data_at_risk = |keys: &[MigrationKey]| -> Vec<resolve::DataLoss> {
        match &django {
            Some(d) if matches!(db.state, Database::Known(_)) => {
                match database::data_at_risk(d, keys) {
                    Ok(v) => v,
                    Err(e) => {
                        db.note(format!("cannot count the rows at risk: {}", e.message));
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        }
    };
    let facts = resolve::Facts {
        in_base: &in_base,
        published: &is_published,
        database: &db.state,
        full: &full,
        django_runs,
        data_at_risk: &data_at_risk,
        rebuilds_tables: db
            .info
            .as_ref()
            .is_some_and(|i| i.sqlite.is_some() || i.vendor == "sqlite"),
    };

    let mut prompter = term::prompter(args.yes, args.strategy.is_some());
    let mut situations = Vec::new();
    let mut plans = Vec::new();
    let max_migration = |app: &str| -> Option<String> {
        let a = an.project.apps.get(app)?;
        let f = crate::core::dlm::file_path(&a.path);
        wt.is_file(&f).then_some(f)
    };
    for app in &ground.conflicted {
        let s = resolve::situation(&an.project, &an.built.graph, app, &facts)?;
        if !json {
            render::situation(talk, &s, &upstream.describe());
        }
        // A dry run changes nothing: it shows the recommended plan unless
        // told otherwise, without asking.
        let given = args.strategy.map(strategy_of);
        let strategy = match (given, args.dry_run) {
            (Some(st), _) => {
                confirm_merge(&s, st, &mut *prompter, talk, args.dry_run)?;
                st
            }
            (None, true) => s.recommended,
            (None, false) => {
                let st = choose_strategy(&s, &mut *prompter)?;
                confirm_merge(&s, st, &mut *prompter, talk, false)?;
                st
            }
        };
        let merge_file =
            (strategy == Strategy::Merge && !django_runs).then(|| own_merge_file(ws, an, app));
        let sources = |f: &str| wt.read(f).map_err(|e| e.to_string());
        let ctx = resolve::PlanContext {
            project: &an.project,
            sources: &sources,
            full: &full,
            merge_file,
            database: &db.state,
            max_migration: &max_migration,
        };
        let plan = resolve::plan(&s, strategy, &ctx)?;
        situations.push(s);
        plans.push(plan);
    }
    plans.extend(settle);
    let steps = resolve::assemble(&plans, ground.rebase.clone());
    for line in db.notes() {
        let _ = writeln!(talk, "warning: {}", term(&line));
    }
    if !json {
        render::plan(talk, &plans, &steps, &db);
    }

    // Before anything runs: the tree must be safe to change.
    let state = repo.state()?;
    preconditions(repo, &plans, &state, args.allow_dirty)?;
    if steps.iter().any(Step::runs_django) && !django_runs {
        let why = located
            .as_ref()
            .err()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "its Python cannot import Django".to_string());
        return Err(Error::failed(format!(
            "this plan runs manage.py, but no Python environment here can run Django: {why}"
        ))
        .hint("set `python:` in .djmig.yml or activate the project's virtualenv; or use --strategy reparent"));
    }

    let outcome = if args.dry_run {
        Outcome::WouldDo
    } else if !prompter.confirm("Apply this plan?", true)? {
        Outcome::Declined
    } else {
        let mut ex = execute::Executor {
            ws,
            repo,
            django: django.as_ref(),
            db: &db,
            talk: &mut *talk,
            plans: &plans,
            predicted: &ground,
            resume: suggest.resolve(),
        };
        ex.run(&steps)
    };
    let state_after = repo.state()?;
    let exit = render::outcome(talk, &outcome, &suggest, &state_after);
    if let Some(out) = json_out {
        let j = ResolveJson {
            schema_version: 1,
            base: upstream.oid.to_string(),
            upstream: upstream.describe(),
            upstream_how: how,
            dry_run: args.dry_run,
            database: db.json(),
            situations: &situations,
            plans: &plans,
            steps: &steps,
            outcome: outcome.json(),
        };
        serde_json::to_writer_pretty(&mut *out, &j)
            .map_err(|e| Error::failed("cannot write JSON").cause(e))?;
        let _ = writeln!(out);
    }
    ws.keep_parse_cache();
    match outcome {
        Outcome::Failed { error, .. } => {
            if json {
                // The document says what failed; stderr gets it too.
                error.report(talk);
                Ok(Exit::Failed)
            } else {
                Err(error)
            }
        }
        _ => Ok(exit),
    }
}

fn strategy_of(s: CliStrategy) -> Strategy {
    match s {
        CliStrategy::Regenerate => Strategy::Regenerate,
        CliStrategy::Reparent => Strategy::Reparent,
        CliStrategy::Merge => Strategy::Merge,
    }
}

/// The exit code and hints of each reason a plan cannot be made, in one
/// place: only a strategy that cannot be used here is a usage error with
/// the hint to pick another; the rest (the database, a file that cannot
/// be read or rewritten, nothing to resolve) is a resolution that cannot
/// go on (exit 5).
impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        let message = e.to_string();
        match e {
            PlanError::StrategyNotPossible { .. }
            | PlanError::NoUpstreamLeaf { .. }
            | PlanError::NameTaken { .. } => Error::usage(message)
                .hint("pick another --strategy; `merge` is always possible"),
            PlanError::DatabaseUnknown { .. } => Error::failed(message).hint(
                "make `manage.py showmigrations` work (the project's interpreter: `python:` in .djmig.yml), \
                 or pass --no-database if the local database does not matter",
            ),
            PlanError::Io { why, .. } => Error::failed(message).cause(why),
            PlanError::NothingToResolve { .. } | PlanError::Rewrite { .. } => {
                Error::failed(message)
            }
        }
    }
}

/// The work tree and its analysis; a graph that cannot be built stops here.
fn read_worktree(
    ws: &Workspace,
    repo: &Repo,
    reader: &CachingReader,
) -> Result<(crate::adapters::git::WorktreeTree, Analysis)> {
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

/// Plans for apps with one leaf whose `max_migration.txt` is stale or
/// holds conflict markers (django-linear-migrations).
fn settle_max_migration(ws: &Workspace, a: &Analysis, only: &[String]) -> Result<Vec<Plan>> {
    let only = super::selected_apps(&a.project, only)?;
    let fs = crate::adapters::fs::tree::FsTree::new(&ws.root);
    let mut out = Vec::new();
    for app in a.project.project_apps() {
        if !only.is_empty() && !only.contains(&app.label) {
            continue;
        }
        let file = crate::core::dlm::file_path(&app.path);
        let Ok(bytes) = fs.read(&file) else { continue };
        let leaves = a.built.graph.leaves(&app.label);
        let [leaf] = leaves.as_slice() else { continue };
        let text = String::from_utf8_lossy(&bytes);
        match crate::core::dlm::read_max_migration(&text) {
            crate::core::dlm::MaxMigration::Name(n) if n == leaf.name => {}
            _ => out.push(Plan::settle_max_migration(
                &app.label, &file, &leaf.name, true,
            )),
        }
    }
    Ok(out)
}

fn choose_strategy(s: &Situation, prompter: &mut dyn Prompter) -> Result<Strategy> {
    let items: Vec<String> = Strategy::ALL
        .iter()
        .map(|st| render::menu_item(s, *st))
        .collect();
    let default = Strategy::ALL
        .iter()
        .position(|st| *st == s.recommended)
        .unwrap_or(0);
    Ok(Strategy::ALL
        [prompter.select(&format!("How should {} be fixed?", s.app), &items, default)?])
}

/// Merge when something better was possible: say why it is the last
/// resort, and ask (No by default).
fn confirm_merge(
    s: &Situation,
    strategy: Strategy,
    prompter: &mut dyn Prompter,
    talk: &mut dyn std::io::Write,
    dry_run: bool,
) -> Result<()> {
    if strategy != Strategy::Merge || s.recommended == Strategy::Merge {
        return Ok(());
    }
    let _ = writeln!(
        talk,
        "A merge migration is the last resort: the two chains stay side by side, so their operations can run \
         in a different order in different environments, and merge nodes pile up in the history."
    );
    if dry_run {
        return Ok(());
    }
    if !prompter.confirm("Add a merge migration anyway?", false)? {
        return Err(
            Error::new(Exit::Failed, "declined; nothing was changed").hint(format!(
                "the recommended strategy is {}",
                s.recommended.name()
            )),
        );
    }
    Ok(())
}

/// Text conflicts git left unresolved (models.py with its conflict
/// markers) stop everything before the project's Django is even asked:
/// it could not import the models. `max_migration.txt` is djmig's to
/// settle.
fn refuse_conflict_markers(ws: &Workspace, repo: &Repo) -> Result<()> {
    let mut marked = Vec::new();
    for p in repo.unmerged_paths()? {
        if p.rsplit('/').next() == Some(crate::core::dlm::FILE_NAME) {
            continue;
        }
        let text = std::fs::read(ws.root.join(&p)).unwrap_or_default();
        if has_conflict_markers(&String::from_utf8_lossy(&text)) {
            marked.push(p);
        }
    }
    if !marked.is_empty() {
        return Err(Error::usage(format!(
            "these files still have git's conflict markers: {}",
            marked.join(", ")
        ))
        .hint(
            "resolve the text conflicts and `git add` the files, then run `djmig resolve` again",
        ));
    }
    Ok(())
}

/// Refuse before anything runs: files with the user's own uncommitted
/// edits.
fn preconditions(
    repo: &Repo,
    plans: &[Plan],
    state: &crate::adapters::git::RepoState,
    allow_dirty: bool,
) -> Result<()> {
    let files: Vec<String> = plans
        .iter()
        .flat_map(|p| p.files.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let stopped = state.in_progress.is_some();
    if !allow_dirty {
        let dirty = repo.user_changes(&files, stopped);
        if !dirty.is_empty() {
            let hint = if stopped {
                "`git add` them (the merge or rebase in progress keeps them), or pass --allow-dirty (everything is backed up either way)"
            } else {
                "commit or stash them first, or pass --allow-dirty (everything is backed up either way)"
            };
            return Err(Error::usage(format!(
                "these files have uncommitted changes: {}",
                dirty.join(", ")
            ))
            .hint(hint));
        }
    }
    Ok(())
}

/// Whether a text has a git conflict: a `<<<<<<<` line and a `>>>>>>>`
/// line.
pub fn has_conflict_markers(text: &str) -> bool {
    let starts = |p: &str| {
        text.lines()
            .any(|l| l.starts_with(p) && l[p.len()..].chars().next().is_none_or(|c| c == ' '))
    };
    starts("<<<<<<<") && starts(">>>>>>>")
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
    let version = super::site_packages(ws)
        .and_then(|sp| std::fs::read_to_string(sp.join("django/__init__.py")).ok())
        .and_then(|src| crate::core::merge_migration::django_version_from_init(&src))
        .unwrap_or_else(|| "5.2".to_string());
    crate::core::merge_migration::merge_migration(app, &leaves, &version, now_minute())
}

fn now_minute() -> crate::core::dates::Minute {
    crate::core::dates::minute(crate::core::dates::now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each reason a plan cannot be made, its exit code, and whether the
    /// hint is to pick another strategy: only for a strategy that cannot be
    /// used here (an I/O failure once came out as a usage error saying so).
    #[test]
    fn plan_errors_map_to_exit_codes_and_hints() {
        use crate::core::rewrite::RewriteError;
        let pick = "pick another --strategy";
        let cases: Vec<(PlanError, Exit, bool, Option<&str>)> = vec![
            (
                PlanError::StrategyNotPossible {
                    strategy: Strategy::Regenerate,
                    app: "blog".into(),
                    why: "0004_x already published".into(),
                },
                Exit::Usage,
                true,
                None,
            ),
            (
                PlanError::NoUpstreamLeaf { app: "blog".into() },
                Exit::Usage,
                true,
                None,
            ),
            (
                PlanError::NameTaken {
                    from: "0002_a".into(),
                    to: "0003_a".into(),
                },
                Exit::Usage,
                true,
                None,
            ),
            (
                PlanError::Io {
                    file: "blog/migrations/0002_a.py".into(),
                    why: "Permission denied (os error 13)".into(),
                },
                Exit::Failed,
                false,
                Some("Permission denied (os error 13)"),
            ),
            (
                PlanError::Rewrite {
                    file: "blog/migrations/0002_a.py".into(),
                    error: RewriteError {
                        migration: MigrationKey::new("blog", "0002_a"),
                        line: 3,
                        message: "not a plain string literal".into(),
                    },
                },
                Exit::Failed,
                false,
                None,
            ),
            (
                PlanError::DatabaseUnknown {
                    app: "blog".into(),
                    reason: "no Django".into(),
                },
                Exit::Failed,
                false,
                None,
            ),
            (
                PlanError::NothingToResolve { app: "blog".into() },
                Exit::Failed,
                false,
                None,
            ),
        ];
        for (plan_error, exit, pick_another, cause) in cases {
            let message = plan_error.to_string();
            let e = Error::from(plan_error.clone());
            assert_eq!(e.exit, exit, "{plan_error:?}");
            assert_eq!(e.message, message, "{plan_error:?}");
            assert_eq!(
                e.hints.iter().any(|h| h.contains(pick)),
                pick_another,
                "{plan_error:?}: {:?}",
                e.hints
            );
            assert_eq!(
                e.causes,
                cause.map(String::from).into_iter().collect::<Vec<_>>(),
                "{plan_error:?}"
            );
        }
    }

    #[test]
    fn conflict_markers() {
        assert!(has_conflict_markers(
            "a\n<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> main\n"
        ));
        assert!(has_conflict_markers("<<<<<<<\nx\n>>>>>>>\n"));
        assert!(!has_conflict_markers("# <<<<<<< in a comment\n"));
        assert!(!has_conflict_markers("<<<<<<<< eight\n>>>>>>>> eight\n"));
        assert!(!has_conflict_markers("<<<<<<< HEAD only\n"));
    }
}
