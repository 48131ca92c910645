//! `djmig scan`: which open branches are about to collide — pairs that each
//! add migrations to the same app on top of the same base migration —
//! without merging anything.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{ScanArgs, ScanFormat};
use crate::core::keys::MigrationKey;
use crate::core::load::Origin;
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
    let mut trees = Vec::with_capacity(branches.len());
    for b in &branches {
        trees.push(repo.tree(b.oid)?);
    }
    let progress = crate::style::Progress::stderr("scanning branches");
    progress.set_total(branches.len() as u64 + 1);
    let base_a = analyze_with(ws, &base_tree, &reader);
    progress.inc(1);
    let analyses: Vec<_> = trees
        .par_iter()
        .map(|t| {
            let a = analyze_with(ws, t, &reader);
            progress.inc(1);
            a
        })
        .collect();
    progress.finish();
    let _ = reader.save();

    let base_nodes: BTreeSet<&MigrationKey> = base_a.project.migrations.keys().collect();
    let mut warnings = Vec::new();
    // (app, base migration followed) → branches adding on top of it.
    let mut by_attach: BTreeMap<(String, String), Vec<Addition>> = BTreeMap::new();
    for (b, a) in branches.iter().zip(&analyses) {
        if a.built.errors.iter().any(|e| e.kind.is_error()) {
            warnings.push(format!(
                "{}: its migration graph cannot be built; skipped",
                b.name
            ));
            continue;
        }
        let g = &a.built.graph;
        let mut per_app: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (key, m) in &a.project.migrations {
            if m.origin != Origin::Project || base_nodes.contains(key) || !g.contains(key) {
                continue;
            }
            for p in g.parents(key) {
                if p.app == key.app && base_nodes.contains(&p) {
                    // The first of the branch's own chain, and what it follows.
                    let chain: BTreeSet<String> = std::iter::once(key.clone())
                        .chain(g.descendants(key))
                        .filter(|d| d.app == key.app && !base_nodes.contains(d))
                        .map(|d| d.name)
                        .collect();
                    per_app
                        .entry((key.app.clone(), p.name.clone()))
                        .or_default()
                        .extend(chain);
                }
            }
        }
        for (k, names) in per_app {
            let adds = by_attach.entry(k).or_default();
            // Branches at one commit are one line of work: `a = origin/a`.
            match adds.iter_mut().find(|x| x.oid == b.oid) {
                Some(x) => x.branch = format!("{} = {}", x.branch, b.name),
                None => adds.push(Addition {
                    branch: b.name.clone(),
                    oid: b.oid,
                    names: names.into_iter().collect(),
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
