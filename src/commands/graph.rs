//! `djmig graph`: the migration graph as text, JSON or Graphviz dot.
//!
//! `graph` only shows: a conflict is drawn, not reported, so it exits 0 and
//! `djmig graph --format dot | dot -Tsvg` works under `set -o pipefail`. A
//! graph that cannot be built is still exit 3.

use crate::cli::{GraphArgs, GraphFormat};
use crate::core::report::GraphReport;
use crate::error::{is_broken_pipe, Error, Exit, Result};
use crate::workspace::Workspace;

use super::{analyze_worktree, print_diags, selected_apps, Io};

pub fn run(ws: &Workspace, args: &GraphArgs, io: &mut Io) -> Result<Exit> {
    let a = match &args.rev {
        None => {
            super::require_worktree(ws)?;
            analyze_worktree(ws)
        }
        Some(rev) => {
            let repo = super::compare::open_repo(ws)?;
            let reader = ws.parse_cache(repo);
            let r = repo.resolve(rev)?;
            let tree = repo.tree(r.oid)?;
            let a = super::analyze_with(ws, &tree, &*reader);
            super::missing_objects(&[&tree])
                .map_err(|e| e.cause(format!("reading {}", r.describe())))?;
            ws.keep_parse_cache();
            a
        }
    };
    let only = selected_apps(&a.project, &args.apps)?;
    let report = GraphReport::new(&a.project, &a.built.graph, &a.built.errors, &only);
    let written = match args.format {
        GraphFormat::Json => report.write_json(io.out),
        GraphFormat::Text => {
            print_diags(io, &report);
            report.write_graph_text(io.out)
        }
        GraphFormat::Dot => {
            print_diags(io, &report);
            report.write_dot(io.out)
        }
    };
    // The process ends right after: freeing the project one allocation at
    // a time would only add to the wait.
    std::mem::forget(a);
    if let Err(e) = written {
        if !is_broken_pipe(&e) {
            return Err(Error::failed("cannot write the output").cause(e));
        }
    }
    Ok(if report.errors.is_empty() {
        Exit::Ok
    } else {
        Exit::Graph
    })
}
