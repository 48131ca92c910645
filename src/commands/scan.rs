//! `djmig scan`: which open branches are about to collide — pairs that each
//! add migrations to the same app on top of the same base migration —
//! without merging anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{ScanArgs, ScanFormat};
use crate::core::keys::MigrationKey;
use crate::core::load::MigrationReader;
use crate::error::{is_broken_pipe, Error, Exit, Result};
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
    pub branches: [String; 2],
    /// What each branch adds, in the order of `branches`.
    pub adds: [Vec<String>; 2],
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
    let mut jobs: Vec<(usize, String, String, String)> = Vec::new();
    for (i, b) in branches.iter().enumerate() {
        for path in repo.added_or_modified(base.oid, b.oid)? {
            let (dir, file) = crate::core::tree::split_parent(&path);
            let Some(app) = app_of_dir.get(dir) else {
                continue;
            };
            let Some(name) = file.strip_suffix(".py") else {
                continue;
            };
            if name.is_empty() || name.starts_with(['_', '~']) || name.contains('.') {
                continue;
            }
            jobs.push((i, app.to_string(), name.to_string(), path.clone()));
        }
    }
    let mut trees = Vec::with_capacity(branches.len());
    for b in &branches {
        trees.push(repo.tree(b.oid)?);
    }
    let parsed: Vec<_> = jobs
        .par_iter()
        .map(|(i, _, _, path)| reader.parse(&trees[*i], path))
        .collect();
    progress.set(branches.len() as u64 + 1);
    progress.finish();
    let _ = reader.save();

    let mut warnings = Vec::new();
    // Per branch and app: the new migrations and the base ones they follow.
    let mut added: BTreeMap<(usize, String), (BTreeSet<String>, BTreeSet<String>)> =
        BTreeMap::new();
    for ((i, app, name, path), p) in jobs.iter().zip(&parsed) {
        let key = MigrationKey::new(app.clone(), name.clone());
        if base_nodes.contains(&key) {
            continue; // changed, not added
        }
        let p = match p {
            Ok(p) if p.has_migration_class => p,
            Ok(_) => continue,
            Err(e) => {
                warnings.push(format!("{}: cannot read {path}: {e}", branches[*i].name));
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
                if parent.app == *app && base_nodes.contains(&parent) {
                    entry.1.insert(parent.name);
                }
            }
        }
    }
    // (app, base migration followed) → branches adding on top of it.
    let mut by_attach: BTreeMap<(String, String), Vec<Addition>> = BTreeMap::new();
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
                if x.names == y.names || related(&repo, x.oid, y.oid) {
                    continue;
                }
                collisions.push(Collision {
                    app: app.clone(),
                    after: after.clone(),
                    branches: [x.branch.clone(), y.branch.clone()],
                    adds: [x.names.clone(), y.names.clone()],
                });
            }
        }
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
                let _ = writeln!(io.err, "warning: {w}");
            }
            write_text(
                io.out,
                &collisions,
                branches.len(),
                &base.describe(),
                &base_how,
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

/// Whether one commit contains the other.
fn related(repo: &crate::git::Repo, a: Oid, b: Oid) -> bool {
    matches!(repo.merge_base(a, b), Ok(Some(m)) if m == a || m == b)
}

fn write_text(
    w: &mut dyn Write,
    collisions: &[Collision],
    n: usize,
    base: &str,
    how: &str,
) -> io::Result<()> {
    writeln!(w, "Scanned {n} branch(es) against {base} ({how}).")?;
    if collisions.is_empty() {
        writeln!(
            w,
            "No collisions: no two branches add migrations to an app on top of the same migration."
        )?;
        return Ok(());
    }
    for c in collisions {
        writeln!(
            w,
            "{} and {} both add {} migrations after {} ({} / {})",
            c.branches[0],
            c.branches[1],
            c.app,
            c.after,
            c.adds[0].join(", "),
            c.adds[1].join(", ")
        )?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Whichever merges second will need `djmig resolve`; agree on an order now."
    )?;
    Ok(())
}
