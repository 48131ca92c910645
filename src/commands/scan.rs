//! `djmig scan`: which open branches are about to collide — pairs that each
//! add migrations to the same app on top of the same base migration, or a
//! branch and the base itself, when the base added migrations on top of the
//! one the branch builds on since they forked — without merging anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{ScanArgs, ScanFormat};
use crate::core::keys::MigrationKey;
use crate::core::load::MigrationReader;
use crate::core::tree::SourceTree;
use crate::error::{is_broken_pipe, Error, Exit, Result};
use crate::escape::{shell_line, term};
use crate::git::Oid;
use crate::workspace::Workspace;

use super::{analyze_with, compare, Io};

/// One branch's new migrations in an app, and what they follow.
#[derive(Debug, Clone)]
struct Addition {
    branch: String,
    oid: Oid,
    names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Collision {
    pub app: String,
    /// The base migration both build on.
    pub after: String,
    /// Two branches; with `with_base`, a branch and the base (as named).
    pub branches: [String; 2],
    /// What each branch adds, in the order of `branches` (for the base:
    /// what it added since it and the branch forked).
    pub adds: [Vec<String>; 2],
    /// The second side is the base itself: the branch conflicts already.
    pub with_base: bool,
}

/// Per side and app: the migrations added, and the base migrations they
/// follow.
type Added = BTreeMap<(usize, String), (BTreeSet<String>, BTreeSet<String>)>;

/// A migration file among changed paths: `(side, app, name, path)`.
type Job = (usize, String, String, String);

/// The changed paths that are migration modules of a known app (as
/// `pkgutil.iter_modules` lists them).
fn migration_jobs(
    side: usize,
    paths: &[String],
    app_of_dir: &BTreeMap<&str, &str>,
    out: &mut Vec<Job>,
) {
    for path in paths {
        let (dir, file) = crate::core::tree::split_parent(path);
        let Some(app) = app_of_dir.get(dir) else {
            continue;
        };
        let Some(name) = file.strip_suffix(".py") else {
            continue;
        };
        if name.is_empty() || name.starts_with(['_', '~']) || name.contains('.') {
            continue;
        }
        out.push((side, app.to_string(), name.to_string(), path.clone()));
    }
}

/// What each side adds, from the parsed files: a file that defines no
/// `Migration` is not one; `follows` says which parents count as the base
/// migrations the side builds on. Files that cannot be read are warnings
/// named by `side_name`.
fn fold_added(
    jobs: &[Job],
    parsed: &[std::io::Result<std::sync::Arc<crate::core::pyparse::ParsedMigration>>],
    follows: impl Fn(usize, &MigrationKey) -> bool,
    side_name: impl Fn(usize) -> String,
    warnings: &mut Vec<String>,
) -> Added {
    let mut added = Added::new();
    for ((i, app, name, path), p) in jobs.iter().zip(parsed) {
        let p = match p {
            Ok(p) if p.has_migration_class => p,
            Ok(_) => continue,
            Err(e) => {
                warnings.push(format!("{}: cannot read {path}: {e}", side_name(*i)));
                continue;
            }
        };
        let entry = added.entry((*i, app.clone())).or_default();
        entry.0.insert(name.clone());
        for d in &p.dependencies {
            if let crate::core::pyparse::DepEntry::Key {
                app: a, name: n, ..
            } = d
            {
                let parent = MigrationKey::new(a.value.clone(), n.value.clone());
                if parent.app == *app && follows(*i, &parent) {
                    entry.1.insert(parent.name);
                }
            }
        }
    }
    added
}

#[derive(Debug, Serialize)]
struct ScanJson {
    schema_version: u32,
    base: String,
    branches: Vec<String>,
    collisions: Vec<Collision>,
    warnings: Vec<String>,
}

pub fn run(ws: &Workspace, args: &ScanArgs, io: &mut Io) -> Result<Exit> {
    let repo = compare::open_repo(ws)?;
    let reader = compare::open_cache(&repo);
    let (base, base_how) = compare::resolve_base(&repo, ws, args.base.as_deref())?;
    let branches: Vec<_> = repo
        .list_branches(&args.branches)?
        .into_iter()
        .filter(|b| b.oid != base.oid && Some(&b.refname) != base.refname.as_ref())
        .collect();
    if branches.is_empty() && !args.branches.is_empty() {
        return Err(
            Error::usage(format!("no branch matches {}", args.branches.join(" ")))
                .hint("list them with `git branch -a`"),
        );
    }
    let base_tree = repo.tree(base.oid)?;
    let progress = crate::style::Progress::stderr("scanning branches");
    progress.set_total(branches.len() as u64 + 1);
    let base_a = analyze_with(ws, &base_tree, &reader);
    progress.inc(1);
    let base_nodes: BTreeSet<&MigrationKey> = base_a.project.migrations.keys().collect();
    // Migrations directory → app label, for the project's apps at base.
    let app_of_dir: BTreeMap<&str, &str> = base_a
        .project
        .project_apps()
        .map(|a| (a.path.as_str(), a.label.as_str()))
        .collect();

    // A branch differs from base in a few files: read only those. Git's
    // tree diff skips every directory that is the same on both sides.
    let mut jobs: Vec<Job> = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        migration_jobs(
            i,
            &repo.added_or_modified(base.oid, b.oid)?,
            &app_of_dir,
            &mut jobs,
        );
    }
    // A migration the branch has and base has too is changed, not added.
    jobs.retain(|(_, app, name, _)| {
        !base_nodes.contains(&MigrationKey::new(app.clone(), name.clone()))
    });
    let mut trees = Vec::with_capacity(branches.len());
    for b in &branches {
        trees.push(repo.tree(b.oid)?);
    }
    let parsed: Vec<_> = jobs
        .par_iter()
        .map(|(i, _, _, path)| reader.parse(&trees[*i], path))
        .collect();

    // What base itself added since each branch forked from it: a branch
    // adding on top of a migration that base has added to since conflicts
    // with base already. Branches forked at one commit share the reading.
    let mut warnings = Vec::new();
    let mut fork_of: BTreeMap<Oid, usize> = BTreeMap::new();
    let mut fork_index: BTreeMap<Oid, usize> = BTreeMap::new();
    let mut forks: Vec<Oid> = Vec::new();
    for b in &branches {
        // A history too short to find where they forked (a shallow clone)
        // would make everything look added: stop, as `check --base` does.
        let fork = match repo
            .merge_base(b.oid, base.oid)
            .map_err(|e| e.cause(format!("scanning {}", b.name)))?
        {
            Some(m) => m,
            None => continue,
        };
        // Base has nothing of its own since (or the branch is in base
        // already: merging it again changes nothing).
        if fork == base.oid || fork == b.oid {
            continue;
        }
        let k = *fork_index.entry(fork).or_insert_with(|| {
            forks.push(fork);
            forks.len() - 1
        });
        fork_of.insert(b.oid, k);
    }
    let mut base_jobs: Vec<Job> = Vec::new();
    let mut fork_trees = Vec::with_capacity(forks.len());
    for (k, fork) in forks.iter().enumerate() {
        fork_trees.push(repo.tree(*fork)?);
        let fork_tree = &fork_trees[k];
        let mut js = Vec::new();
        migration_jobs(
            k,
            &repo.added_or_modified(*fork, base.oid)?,
            &app_of_dir,
            &mut js,
        );
        base_jobs.extend(
            js.into_iter()
                .filter(|(_, _, _, path)| !fork_tree.is_file(path)),
        );
    }
    let base_parsed: Vec<_> = base_jobs
        .par_iter()
        .map(|(_, _, _, path)| reader.parse(&base_tree, path))
        .collect();
    progress.set(branches.len() as u64 + 1);
    progress.finish();
    // A branch or the base read with objects missing could lose a real
    // collision: a git problem, not a quieter answer.
    let mut read: Vec<&dyn SourceTree> = vec![&base_tree];
    read.extend(trees.iter().map(|t| t as &dyn SourceTree));
    read.extend(fork_trees.iter().map(|t| t as &dyn SourceTree));
    super::missing_objects(&read)?;
    let _ = reader.save();

    let added = fold_added(
        &jobs,
        &parsed,
        |_, parent| base_nodes.contains(parent),
        |i| branches[i].name.clone(),
        &mut warnings,
    );
    let base_new: BTreeSet<(usize, &str, &str)> = base_jobs
        .iter()
        .map(|(k, app, name, _)| (*k, app.as_str(), name.as_str()))
        .collect();
    let base_added = fold_added(
        &base_jobs,
        &base_parsed,
        |k, parent| {
            base_nodes.contains(parent)
                && !base_new.contains(&(k, parent.app.as_str(), parent.name.as_str()))
        },
        |_| base.rev.clone(),
        &mut warnings,
    );

    // (app, base migration followed) → branches adding on top of it.
    let mut by_attach: BTreeMap<(String, String), Vec<Addition>> = BTreeMap::new();
    let mut related_cache: BTreeMap<(Oid, Oid), bool> = BTreeMap::new();
    let mut related_err = None;
    for ((i, app), (names, parents)) in added {
        let b = &branches[i];
        for after in parents {
            let adds = by_attach.entry((app.clone(), after)).or_default();
            // Branches at one commit are one line of work: `a = origin/a`.
            match adds.iter_mut().find(|x| x.oid == b.oid) {
                Some(x) => x.branch = format!("{} = {}", x.branch, b.name),
                None => adds.push(Addition {
                    branch: b.name.clone(),
                    oid: b.oid,
                    names: names.iter().cloned().collect(),
                }),
            }
        }
    }
    let mut collisions = Vec::new();
    for ((app, after), adds) in &by_attach {
        for i in 0..adds.len() {
            for j in i + 1..adds.len() {
                let (x, y) = (&adds[i], &adds[j]);
                // The same work seen twice (a branch and its remote-tracking
                // copy, or one built on the other) is not a collision.
                if x.names == y.names {
                    continue;
                }
                let rel = *related_cache.entry((x.oid, y.oid)).or_insert_with(|| {
                    match related(&repo, x.oid, y.oid) {
                        Ok(r) => r,
                        Err(e) => {
                            related_err.get_or_insert(e);
                            false
                        }
                    }
                });
                if rel {
                    continue;
                }
                collisions.push(Collision {
                    app: app.clone(),
                    after: after.clone(),
                    branches: [x.branch.clone(), y.branch.clone()],
                    adds: [x.names.clone(), y.names.clone()],
                    with_base: false,
                });
            }
        }
        for x in adds {
            let Some(k) = fork_of.get(&x.oid) else {
                continue;
            };
            let Some((names, parents)) = base_added.get(&(*k, app.clone())) else {
                continue;
            };
            if !parents.contains(after) {
                continue;
            }
            collisions.push(Collision {
                app: app.clone(),
                after: after.clone(),
                branches: [x.branch.clone(), base.rev.clone()],
                adds: [x.names.clone(), names.iter().cloned().collect()],
                with_base: true,
            });
        }
    }
    if let Some(e) = related_err {
        return Err(e);
    }
    collisions.sort();
    let written = match args.format {
        ScanFormat::Json => {
            let j = ScanJson {
                schema_version: 1,
                base: base.oid.to_string(),
                branches: branches.iter().map(|b| b.name.clone()).collect(),
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
                &collisions,
                branches.len(),
                &base.describe(),
                &base_how,
                &base.rev,
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

/// Whether one commit contains the other; an error when the history is too
/// short to tell (a shallow clone).
fn related(repo: &crate::git::Repo, a: Oid, b: Oid) -> Result<bool> {
    Ok(matches!(repo.merge_base(a, b)?, Some(m) if m == a || m == b))
}

/// Each line is shown as [`term`] shows it: branch, app and migration
/// names come from the repository.
fn write_text(
    w: &mut dyn Write,
    collisions: &[Collision],
    n: usize,
    base: &str,
    how: &str,
    base_rev: &str,
) -> io::Result<()> {
    let mut line = |text: String| writeln!(w, "{}", term(&text));
    line(format!("Scanned {n} branch(es) against {base} ({how})."))?;
    if collisions.is_empty() {
        return line(format!(
            "No collisions: no two branches, nor a branch and {base_rev}, add migrations to an app on top of the same migration."
        ));
    }
    for c in collisions {
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
    if collisions.iter().any(|c| !c.with_base) {
        line(
            "Whichever merges second will need `djmig resolve`; agree on an order now.".to_string(),
        )?;
    }
    if collisions.iter().any(|c| c.with_base) {
        line(format!(
            "A branch that collides with {base_rev} conflicts already: on it, run `{}`.",
            shell_line(&["djmig", "resolve", "--base", base_rev])
        ))?;
    }
    Ok(())
}
