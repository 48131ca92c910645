//! `djmig scan`: which open branches (or any refs: pull-request heads) are
//! about to collide — pairs that each add migrations to the same app on
//! top of the same base migration, or a ref and the base itself, when the
//! base added migrations on top of the one the ref builds on since they
//! forked — without merging anything.
//!
//! Refs merged into the base are left out (one walk of the history finds
//! them all), and with `--since` those not updated since. Each ref's new
//! migration files are found by following only the paths down to the
//! migrations directories, skipping every subtree the same as the base's:
//! no tree diff, no merge base per ref, no ancestry question per pair.
//!
//! Which refs collide is decided in [`crate::core::collisions`]; here the
//! refs are read, and the result written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use crate::adapters::git::{Blobs, Branch, DirSpec, GitError, GitTree, Oid, Repo, Resolved};
use crate::adapters::store::parse_cache::CachingReader;
use crate::cli::{ScanArgs, ScanFormat};
use crate::core::collisions::{self, Collision, Job, Tip};
use crate::core::escape::{shell_line, term};
use crate::core::keys::MigrationKey;
use crate::core::load::MigrationReader;
use crate::core::pyparse::ParsedMigration;
use crate::core::tree::BlobId;
use crate::core::tree::SourceTree;
use crate::error::{is_broken_pipe, Error, Exit, Result};
use crate::workspace::Workspace;

use super::{analyze_with, compare, Analysis, Io};

mod since;

#[derive(Debug, Serialize)]
struct ScanJson {
    schema_version: u32,
    base: String,
    branches: Vec<String>,
    skipped: Skipped,
    collisions: Vec<Collision>,
    warnings: Vec<String>,
}

pub fn run(ws: &Workspace, args: &ScanArgs, io: &mut Io) -> Result<Exit> {
    // Flags first: a bad date is a usage error before anything is read.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let since = args
        .since
        .as_deref()
        .map(|s| since::parse_since(s, now))
        .transpose()?;
    let repo = compare::open_repo(ws)?;
    let reader = ws.parse_cache(repo);
    let reader = &*reader;
    let (base, base_how) = compare::resolve_base(repo, ws, args.base.as_deref())?;
    let selected = select_refs(repo, &base, &args.branches, since)?;
    let branches: Vec<Branch> = selected.refs.iter().map(|(b, _)| b.clone()).collect();

    let progress = crate::terminal::style::Progress::stderr("scanning refs");
    progress.set_total(branches.len() as u64 + 1);
    let base_tree = repo.tree(base.oid)?;
    let base_a = analyze_with(ws, &base_tree, reader);
    super::missing_objects(&[&base_tree])?;
    progress.inc(1);
    let new = read_new_migrations(repo, reader, &base_tree, &base_a, &selected, &progress)?;
    progress.finish();
    ws.keep_parse_cache();

    let mut warnings = Vec::new();
    let collisions = decide(repo, &base_a, &base.rev, &branches, &new, &mut warnings)?;
    let skipped = Skipped {
        merged: selected.merged,
        older: selected.older,
    };
    let written = match args.format {
        ScanFormat::Json => {
            let j = ScanJson {
                schema_version: 1,
                base: base.oid.to_string(),
                branches: branches.iter().map(|b| b.name.clone()).collect(),
                skipped,
                collisions: collisions.clone(),
                warnings: warnings.clone(),
            };
            serde_json::to_writer_pretty(&mut *io.out, &j)
                .map_err(io::Error::other)
                .and_then(|_| writeln!(io.out))
        }
        ScanFormat::Text => {
            for w in &warnings {
                let _ = writeln!(io.err, "warning: {}", term(w));
            }
            write_text(
                io.out,
                &Summary {
                    collisions: &collisions,
                    scanned: branches.len(),
                    skipped,
                    since: args.since.as_deref(),
                    base: &base.describe(),
                    how: &base_how,
                    base_rev: &base.rev,
                    bare: repo.is_bare(),
                },
            )
        }
    };
    if let Err(e) = written {
        if !is_broken_pipe(&e) {
            return Err(Error::failed("cannot write the output").cause(e));
        }
    }
    Ok(if collisions.is_empty() {
        Exit::Ok
    } else {
        Exit::Conflicts
    })
}

/// The refs to compare, and what was left out.
struct Selected {
    /// Each ref and its commit's tree.
    refs: Vec<(Branch, Oid)>,
    /// Refs merged into the base already.
    merged: usize,
    /// Refs not updated since `--since`.
    older: usize,
    /// The base commit's tree.
    base_root: Oid,
}

/// The refs `globs` name (all branches without), but the base itself,
/// those not updated since `since`, and those merged into the base
/// already (their migrations are the base's own).
fn select_refs(
    repo: &Repo,
    base: &Resolved,
    globs: &[String],
    since: Option<i64>,
) -> Result<Selected> {
    let listed = repo.list_branches(globs)?;
    if listed.is_empty() && !globs.is_empty() {
        return Err(
            Error::usage(format!("no ref matches {}", globs.join(" ")))
                .hint("`git branch -a` lists the branches, `git for-each-ref` every ref")
                .hint(format!(
                    "pull requests on GitHub come with `{FETCH_PULLS}`, then `djmig scan 'refs/pull/*/head'`"
                )),
        );
    }
    let listed: Vec<Branch> = listed
        .into_iter()
        .filter(|b| b.oid != base.oid && Some(&b.refname) != base.refname.as_ref())
        .collect();
    let git = |what: &str, e: GitError| {
        Error::git(format!("cannot read the history to {what}")).cause(e.message())
    };
    let mut commits = repo.commits();
    let mut candidates = Vec::with_capacity(listed.len());
    let mut older = 0;
    for b in listed {
        let Some(info) = commits.get(b.oid).map_err(|e| git("date the refs", e))? else {
            continue;
        };
        if since.is_some_and(|s| info.time < s) {
            older += 1;
            continue;
        }
        candidates.push((b, info.tree));
    }
    // A history too short to find where a ref forked (a shallow clone)
    // could make merged work look new: stop, as `check --base` does.
    if repo.is_shallow() {
        for (b, _) in &candidates {
            repo.merge_base(b.oid, base.oid)
                .map_err(|e| e.cause(format!("scanning {}", b.name)))?;
        }
    }
    let tips: Vec<Oid> = candidates.iter().map(|(b, _)| b.oid).collect();
    let open = commits
        .exclusive(&tips, &[base.oid])
        .map_err(|e| git("tell which refs are merged", e))?;
    let base_root = commits
        .get(base.oid)
        .map_err(|e| git("read the base", e))?
        .map(|c| c.tree)
        .ok_or_else(|| Error::git(format!("{} is not a commit", base.describe())))?;
    commits.save();
    let (refs, merged): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|(b, _)| open.contains(&b.oid));
    Ok(Selected {
        refs,
        merged: merged.len(),
        older,
        base_root,
    })
}

/// Each ref's migration files the base does not have, parsed.
struct NewMigrations {
    /// One per file: `(ref, app, name, path)`.
    jobs: Vec<Job>,
    /// Each job's file, parsed.
    parsed: Vec<io::Result<Arc<ParsedMigration>>>,
    /// (ref, app) → the migrations directory's tree and its new modules.
    dirs: BTreeMap<(usize, String), (Oid, BTreeSet<String>)>,
}

/// Each selected ref's migration files the base does not have: only the
/// paths down to the migrations directories are read, and a directory the
/// same as the base's is skipped by its id; each distinct file is parsed
/// once, through the parse cache.
fn read_new_migrations(
    repo: &Repo,
    reader: &CachingReader,
    base_tree: &GitTree,
    base_a: &Analysis,
    selected: &Selected,
    progress: &crate::terminal::style::Progress,
) -> Result<NewMigrations> {
    let refs = &selected.refs;
    // The project's apps at base, and the files base has in each.
    let apps: Vec<(&str, &str)> = base_a
        .project
        .project_apps()
        .map(|a| (a.path.as_str(), a.label.as_str()))
        .collect();
    let specs: Vec<DirSpec> = apps
        .iter()
        .map(|(path, _)| DirSpec {
            path: path.to_string(),
            known: base_tree
                .list_dir(path)
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.name)
                .collect(),
        })
        .collect();
    let mut scan = repo.dir_scan(selected.base_root, &specs)?;
    let mut jobs: Vec<Job> = Vec::new();
    let mut blob_of: Vec<BlobId> = Vec::new();
    let mut dirs: BTreeMap<(usize, String), (Oid, BTreeSet<String>)> = BTreeMap::new();
    for (i, (_, tree)) in refs.iter().enumerate() {
        for new in scan.new_files(*tree)? {
            let (path, app) = apps[new.dir];
            let mut names = BTreeSet::new();
            for (file, blob) in new.files.iter() {
                let Some(name) = module_name(file) else {
                    continue;
                };
                names.insert(name.to_string());
                jobs.push((
                    i,
                    app.to_string(),
                    name.to_string(),
                    format!("{path}/{file}"),
                ));
                blob_of.push(*blob);
            }
            dirs.insert((i, app.to_string()), (new.tree, names));
        }
        progress.inc(1);
    }
    drop(scan);
    let blobs = repo.blobs();
    let mut unique: Vec<BlobId> = blob_of.clone();
    unique.sort();
    unique.dedup();
    let parsed_unique: Vec<_> = unique
        .par_iter()
        .map(|id| reader.parse(&blobs, &Blobs::path(id)))
        .collect();
    for (id, p) in unique.iter().zip(&parsed_unique) {
        if let Err(e) = p {
            if e.kind() == io::ErrorKind::NotFound {
                let at = blob_of.iter().position(|b| b == id).map(|k| &jobs[k]);
                let (r, path) = at
                    .map(|(i, _, _, path)| (refs[*i].0.name.as_str(), path.as_str()))
                    .unwrap_or_default();
                return Err(Error::git(format!(
                    "git object {} ({path} in {r}) is missing from the repository",
                    Blobs::path(id)
                ))
                .hint("`git fsck --full` lists what is missing or damaged")
                .hint("fetch the objects again: `git fetch --refetch` (a partial clone: clone or fetch without --filter)"));
            }
        }
    }
    let parsed: Vec<_> = blob_of
        .iter()
        .map(|id| {
            let k = unique.binary_search(id).expect("listed");
            match &parsed_unique[k] {
                Ok(p) => Ok(p.clone()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            }
        })
        .collect();
    Ok(NewMigrations { jobs, parsed, dirs })
}

/// The collisions ([`collisions::collisions`]): what each ref adds on top
/// of which base migration, and — read from the ref's tree — whether it
/// lacks what the base added since. Files that cannot be read are
/// `warnings`.
fn decide(
    repo: &Repo,
    base_a: &Analysis,
    base_name: &str,
    branches: &[Branch],
    new: &NewMigrations,
    warnings: &mut Vec<String>,
) -> Result<Vec<Collision>> {
    let base_nodes: BTreeSet<&MigrationKey> = base_a.project.migrations.keys().collect();
    let added = collisions::fold_added(
        &new.jobs,
        &new.parsed,
        |_, parent| base_nodes.contains(parent),
        |i| branches[i].name.clone(),
        warnings,
    );
    let tips: Vec<Tip<Oid>> = branches
        .iter()
        .map(|b| Tip {
            name: b.name.clone(),
            commit: b.oid,
        })
        .collect();
    let new_modules: BTreeMap<(usize, String), BTreeSet<String>> = new
        .dirs
        .iter()
        .map(|(k, (_, names))| (k.clone(), names.clone()))
        .collect();
    let scan = collisions::Scan {
        refs: &tips,
        added,
        new_modules: &new_modules,
        base: &base_a.project,
        base_name,
    };
    // Whether the ref's migrations directory lacks one of base's files.
    let lacks = |i: usize, k: &MigrationKey| -> Result<bool> {
        let (tree, _) = &new.dirs[&(i, k.app.clone())];
        let file = &base_a.project.migrations[k].file;
        let name = crate::core::tree::split_parent(file).1;
        Ok(!repo.tree_has_file(*tree, name)?)
    };
    collisions::collisions(scan, lacks)
}

/// How pull-request heads are fetched from GitHub.
const FETCH_PULLS: &str = "git fetch origin '+refs/pull/*/head:refs/pull/*/head'";

/// A file name as `pkgutil.iter_modules` names a module: `0042_x.py` →
/// `0042_x`; not `_private.py`, `~x.py`, `a.b.py`.
fn module_name(file: &str) -> Option<&str> {
    let name = file.strip_suffix(".py")?;
    (!name.is_empty() && !name.starts_with(['_', '~']) && !name.contains('.')).then_some(name)
}

/// Refs left out of the comparison.
#[derive(Debug, Clone, Copy, Serialize)]
struct Skipped {
    /// Merged into the base already.
    merged: usize,
    /// Not updated since `--since`.
    older: usize,
}

/// What the text says.
struct Summary<'a> {
    collisions: &'a [Collision],
    scanned: usize,
    skipped: Skipped,
    since: Option<&'a str>,
    base: &'a str,
    how: &'a str,
    base_rev: &'a str,
    bare: bool,
}

/// Each line is shown as [`term`] shows it: ref, app and migration names
/// come from the repository.
fn write_text(w: &mut dyn Write, s: &Summary) -> io::Result<()> {
    let mut line = |text: String| writeln!(w, "{}", term(&text));
    let mut left_out = Vec::new();
    if s.skipped.merged > 0 {
        left_out.push(format!("{} already merged into it", s.skipped.merged));
    }
    if let (Some(since), true) = (s.since, s.skipped.older > 0) {
        left_out.push(format!("{} not updated since {since}", s.skipped.older));
    }
    let left_out = if left_out.is_empty() {
        String::new()
    } else {
        format!(" Left out: {}.", left_out.join(", "))
    };
    line(format!(
        "Scanned {} ref(s) against {} ({}).{left_out}",
        s.scanned, s.base, s.how
    ))?;
    if s.collisions.is_empty() {
        return line(format!(
            "No collisions: no two refs, nor a ref and {}, add migrations to an app on top of the same migration.",
            s.base_rev
        ));
    }
    for c in s.collisions {
        line(format!(
            "{} and {} both add {} migrations after {} ({} / {})",
            c.branches[0],
            c.branches[1],
            c.app,
            c.after,
            c.adds[0].join(", "),
            c.adds[1].join(", ")
        ))?;
    }
    line(String::new())?;
    if s.collisions.iter().any(|c| !c.with_base) {
        line(
            "Whichever merges second will need `djmig resolve`; agree on an order now.".to_string(),
        )?;
    }
    if s.collisions.iter().any(|c| c.with_base) {
        let where_ = if s.bare {
            "in a checkout of it (this repository is bare: `git worktree add` makes one), run"
        } else {
            "on it, run"
        };
        line(format!(
            "A ref that collides with {} conflicts already: {where_} `{}`.",
            s.base_rev,
            shell_line(&["djmig", "resolve", "--base", s.base_rev])
        ))?;
    }
    Ok(())
}
