//! `djmig check`: apps whose migration graph has more than one leaf.

use std::io::{self, Write};

use crate::cli::{CheckArgs, CheckFormat};
use crate::core::report::GraphReport;
use crate::error::{is_broken_pipe, Error, Exit, Result};
use crate::workspace::Workspace;

use super::{analyze_worktree, print_diags, selected_apps, Io};

pub fn run(ws: &Workspace, args: &CheckArgs, io: &mut Io) -> Result<Exit> {
    let a = analyze_worktree(ws);
    let only = selected_apps(&a.project, &args.apps)?;
    let report = GraphReport::new(&a.project, &a.built.graph, &a.built.errors, &only);
    let written = match args.format {
        CheckFormat::Json => report.write_json(io.out),
        CheckFormat::Text => {
            print_diags(io.err, &report);
            write_text(io.out, &report)
        }
    };
    finish(written, &report)
}

/// The exit code of a report, once written.
pub fn finish(written: io::Result<()>, report: &GraphReport) -> Result<Exit> {
    if let Err(e) = written {
        if !is_broken_pipe(&e) {
            return Err(Error::failed("cannot write the output").cause(e));
        }
    }
    Ok(if !report.errors.is_empty() {
        Exit::Graph
    } else if !report.conflicts.is_empty() {
        Exit::Conflicts
    } else {
        Exit::Ok
    })
}

fn write_text(w: &mut dyn Write, report: &GraphReport) -> io::Result<()> {
    if !report.errors.is_empty() {
        writeln!(
            w,
            "The migration graph cannot be built: {} error(s), listed above. Django's migrate would stop too.",
            report.errors.len()
        )?;
        return Ok(());
    }
    if report.conflicts.is_empty() {
        let n: usize = report.apps.values().map(|a| a.nodes.len()).sum();
        writeln!(
            w,
            "No conflicts: {} app(s), {n} migration(s), one leaf per app.",
            report.apps.len()
        )?;
        return Ok(());
    }
    for (app, leaves) in &report.conflicts {
        let info = &report.apps[app];
        writeln!(
            w,
            "{app}: {} leaf migrations; Django will stop with \"Conflicting migrations detected\"",
            leaves.len()
        )?;
        for leaf in leaves {
            writeln!(w, "  {leaf:<40} {}/{leaf}.py", info.path)?;
        }
    }
    let apps: Vec<&str> = report.conflicts.keys().map(String::as_str).collect();
    writeln!(w)?;
    writeln!(w, "next: djmig resolve {}", apps.join(" "))?;
    Ok(())
}
