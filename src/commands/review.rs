//! `djmig review`: the migration review a pull request needs, statically,
//! on exactly what the branch adds or changes relative to its base — or on
//! every migration (`--all`), or on the files named.
//!
//! The request is checked before anything is read; `gather` copies what
//! git and the work tree hold into plain data, the core's rules run on it,
//! `apply` rewrites what `--fix` may, and `render` writes the report.

mod apply;
mod gather;
mod render;
mod sarif;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::adapters::fs::tree::FsTree;
use crate::adapters::git::Snapshot;
use crate::adapters::store::results::{Key, Recorder, Recording, ResultCache};
use crate::cli::{ReviewArgs, ReviewFormat};
use crate::core::escape::Mode;
use crate::core::review::{
    models_created_before, review_branch, review_operations, settle, suppressions, Reviewed, Rule,
    RuleSettings, Settled, Severity,
};
use crate::error::{Error, Exit, Result};
use crate::workspace::{Env, Workspace};

use super::{compare, Io};

pub use render::Report;

/// What stdout holds for this command.
pub fn stdout_mode(args: &ReviewArgs, env: &Env, colour: bool) -> Mode {
    match review_format(args.format, env) {
        ReviewFormat::Json | ReviewFormat::Sarif => Mode::Json,
        ReviewFormat::Github => Mode::Raw,
        ReviewFormat::Text => Mode::Text { colour },
    }
}

/// The format asked for, else annotations inside GitHub Actions, else text.
fn review_format(asked: Option<ReviewFormat>, env: &Env) -> ReviewFormat {
    match asked {
        Some(f) => f,
        None if env.github_actions => ReviewFormat::Github,
        None => ReviewFormat::Text,
    }
}

/// What is reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// What head adds or changes relative to its merge base with base.
    Branch { apps: Vec<String> },
    /// Every migration of the work tree.
    All { apps: Vec<String> },
    /// These files.
    Files(Vec<String>),
}

/// `--fix` as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixRequest {
    pub irreversible: bool,
    pub dry_run: bool,
}

/// The request, checked before any I/O.
struct Request {
    scope: Scope,
    rules: RuleSettings,
    format: ReviewFormat,
    fix: Option<FixRequest>,
}

fn rule_list(flag: &str, ids: &[String]) -> Result<Vec<Rule>> {
    ids.iter()
        .filter(|id| !id.trim().is_empty())
        .map(|id| {
            Rule::from_id(id.trim()).ok_or_else(|| {
                Error::usage(format!("{flag}: unknown rule {:?}", id.trim()))
                    .hint(format!("the rules are: {}", Rule::all_ids()))
            })
        })
        .collect()
}

impl Request {
    fn new(ws: &Workspace, args: &ReviewArgs) -> Result<Request> {
        let (files, apps): (Vec<String>, Vec<String>) = args
            .targets
            .iter()
            .cloned()
            .partition(|t| t.contains('/') || t.ends_with(".py"));
        let scope = if !files.is_empty() {
            if !apps.is_empty() {
                return Err(Error::usage(format!(
                    "give app labels or migration files, not both ({} and {})",
                    apps[0], files[0]
                )));
            }
            if args.all || args.base.is_some() || args.head.is_some() {
                return Err(Error::usage(
                    "files named on the command line are reviewed on their own: \
                     --all, --base and --head do not apply",
                ));
            }
            Scope::Files(files)
        } else if args.all {
            Scope::All { apps }
        } else {
            Scope::Branch { apps }
        };
        let mut rules = RuleSettings::default();
        for id in &ws.config.review.ignore {
            rules.ignore.extend(Rule::from_id(id));
        }
        for (id, s) in &ws.config.review.severity {
            if let Some(r) = Rule::from_id(id) {
                rules.severity.insert(r, *s);
            }
        }
        rules.ignore.extend(rule_list("--ignore", &args.ignore)?);
        let select = rule_list("--select", &args.select)?;
        if !select.is_empty() {
            rules.select = Some(select.into_iter().collect());
        }
        let fix = (args.fix || args.fix_irreversible).then_some(FixRequest {
            irreversible: args.fix_irreversible,
            dry_run: args.dry_run,
        });
        if fix.is_some() && args.all {
            return Err(Error::usage(
                "--fix does not go with --all: it would rewrite migrations that may be deployed already",
            )
            .hint("fix what the branch adds (`djmig review --fix`), or name the files to fix"));
        }
        if args.dry_run && fix.is_none() {
            return Err(
                Error::usage("--dry-run goes with --fix or --fix-irreversible")
                    .hint("`djmig review --fix --dry-run` prints the diff and changes nothing"),
            );
        }
        Ok(Request {
            scope,
            rules,
            format: review_format(args.format, &ws.env),
            fix,
        })
    }
}

pub fn run(ws: &Workspace, args: &ReviewArgs, io: &mut Io) -> Result<Exit> {
    let req = Request::new(ws, args)?;
    if args.head.is_none() {
        if let Some(j) = super::unfinished_resolution(ws) {
            return Err(Error::failed(format!(
                "the last resolution did not finish: {} (started {}); files it changed are half-way",
                j.description, j.started
            ))
            .cause(format!("its journal is {}", j.dir.display()))
            .hint("run `djmig undo` to put back every file it touched, then `djmig review` again"));
        }
    }
    let report = match &req.scope {
        Scope::Branch { apps } => branch_report(ws, args, apps, &req)?,
        Scope::All { apps } => {
            let tree = FsTree::new(&ws.root);
            let mut g = gather::all(ws, &tree, apps)?;
            finish(ws, &mut g, &req)?
        }
        Scope::Files(paths) => {
            let tree = FsTree::new(&ws.root);
            let mut g = gather::files(ws, &tree, paths)?;
            finish(ws, &mut g, &req)?
        }
    };
    let written = render::write(req.format, io, &report, &ws.repo_prefix);
    if let Err(e) = written {
        if !crate::error::is_broken_pipe(&e) {
            return Err(Error::failed("cannot write the output").cause(e));
        }
    }
    Ok(if !report.errors.is_empty() {
        Exit::Graph
    } else if report
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error)
    {
        Exit::Conflicts
    } else {
        Exit::Ok
    })
}

/// The rules, then `--fix` when asked.
fn finish(ws: &Workspace, g: &mut gather::Gathered, req: &Request) -> Result<Report> {
    let settled = review(g, &req.rules);
    let mut report = Report::new(g, settled);
    if let Some(fix) = req.fix {
        apply::run(ws, g, &req.rules, fix, &mut report)?;
    }
    Ok(report)
}

/// A git problem: say how to review without git.
fn without_git(e: Error) -> Error {
    match e.exit {
        Exit::Git => {
            e.hint("to review without git, name the files or pass --all: `djmig review --all`")
        }
        _ => e,
    }
}

/// What `review --base` keeps in the result cache: the whole report but
/// the comparison (recomputed from the refs every run).
#[derive(Serialize, Deserialize)]
struct Stored {
    reviewed: Vec<String>,
    findings: Vec<crate::core::review::Finding>,
    suppressed: Vec<crate::core::review::Suppressed>,
    errors: Vec<gather::FileError>,
}

/// `review [--base REV] [--head REV]`: the branch's changes, from the
/// result cache when nothing read for the last answer has changed (as
/// `check --base` keeps its answer).
fn branch_report(
    ws: &Workspace,
    args: &ReviewArgs,
    apps: &[String],
    req: &Request,
) -> Result<Report> {
    let repo = compare::open_repo(ws).map_err(without_git)?;
    let revs = compare::revisions(ws, repo, args.base.as_deref(), args.head.as_deref())
        .map_err(without_git)?;
    let store = ResultCache::new(&repo.cache_dir(), ws.env.trace_cache);
    let key = Key {
        slot: super::result_key(
            ws,
            &format!(
                "review\nbase {}\nhead {:?}\napps {apps:?}\nselect {:?}\nignore {:?}",
                revs.base.rev,
                revs.head.as_ref().map(|h| &h.rev),
                req.rules.select,
                req.rules.ignore
            ),
        ),
        exact: format!(
            "base {}\nhead {}\nmerge base {}",
            revs.base.oid, revs.head_commit, revs.merge_base
        ),
    };
    if req.fix.is_none() {
        if let Some(s) = store.load::<Stored>(&key) {
            return Ok(Report {
                mode: "branch",
                compared: Some(render::Compared::of(&revs)),
                reviewed: s.reviewed,
                findings: s.findings,
                suppressed: s.suppressed,
                errors: s.errors,
                fix: None,
            });
        }
    }
    let mb = repo.tree(revs.merge_base)?;
    let base_tree = repo.tree(revs.base.oid)?;
    let rec = Recording::new();
    let (git_head, wt) = match &revs.head {
        Some(h) => (Some(repo.tree(h.oid)?), None),
        None => (None, Some(repo.worktree_tree()?)),
    };
    let recorder = wt.as_ref().map(|t| Recorder::new(t, &rec));
    let head: &dyn Snapshot = match (&git_head, &recorder) {
        (Some(t), _) => t,
        (None, Some(r)) => r,
        (None, None) => unreachable!("one of the two is set"),
    };
    let mut g = gather::branch(ws, revs, &mb, &base_tree, head, apps)?;
    let report = finish(ws, &mut g, req)?;
    drop(g);
    if req.fix.is_none() {
        store.store(
            &key,
            rec,
            &Stored {
                reviewed: report.reviewed.clone(),
                findings: report.findings.clone(),
                suppressed: report.suppressed.clone(),
                errors: report.errors.clone(),
            },
        );
    }
    Ok(report)
}

/// Run every rule on what was gathered, then the project's wishes.
fn review(g: &gather::Gathered, rules: &RuleSettings) -> Settled {
    let reviewed: Vec<Reviewed> = g
        .sources
        .iter()
        .map(|s| Reviewed {
            app: &s.app,
            name: &s.name,
            file: &s.file,
            bytes: &s.bytes,
            parsed: &s.parsed,
        })
        .collect();
    let created = if g.chain {
        models_created_before(&reviewed)
    } else {
        vec![Default::default(); reviewed.len()]
    };
    let mut findings = Vec::new();
    for (i, r) in reviewed.iter().enumerate() {
        findings.extend(review_operations(
            r,
            &g.sources[i].facts,
            &created[i],
            &g.history,
        ));
    }
    let mut comments = BTreeMap::new();
    for s in &g.sources {
        comments.insert(s.file.clone(), suppressions(&s.bytes));
    }
    if let Some(b) = &g.branch {
        findings.extend(review_branch(b));
        for e in &b.edited {
            comments.insert(e.file.clone(), suppressions(&e.after));
        }
    }
    for (file, bytes) in &g.comment_sources {
        comments.insert(file.clone(), suppressions(bytes));
    }
    settle(findings, &comments, rules)
}
