//! `djmig undo`: put back every file the last resolution touched.

use crate::cli::UndoArgs;
use crate::error::{Exit, Result};
use crate::journal;
use crate::workspace::Workspace;

use super::Io;

pub fn run(ws: &Workspace, args: &UndoArgs, io: &mut Io) -> Result<Exit> {
    let r = journal::undo(&ws.root, args.dry_run)?;
    let rel = |p: &std::path::Path| {
        p.strip_prefix(&ws.root)
            .map(|x| x.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    let out = &mut *io.out;
    let verb = if args.dry_run {
        "would restore"
    } else {
        "restored"
    };
    let _ = writeln!(
        out,
        "{}: {} (started {}{})",
        if args.dry_run { "Would undo" } else { "Undid" },
        r.description,
        r.started,
        if r.was_complete {
            ""
        } else {
            ", interrupted before it finished"
        }
    );
    for p in &r.restored {
        let _ = writeln!(out, "  {verb} {}", rel(p));
    }
    for p in &r.deleted {
        let _ = writeln!(
            out,
            "  {} {}",
            if args.dry_run {
                "would delete"
            } else {
                "deleted"
            },
            rel(p)
        );
    }
    for p in &r.changed_since {
        let _ = writeln!(
            out,
            "  note: {} was changed after the resolution; that version is saved too",
            rel(p)
        );
    }
    if let Some(s) = &r.saved_to {
        let _ = writeln!(out, "Files undo replaced are saved in {}", s.display());
    }
    if !args.dry_run {
        let _ = writeln!(
            out,
            "The local database is not changed by undo: `python manage.py showmigrations` tells what is applied."
        );
    }
    Ok(Exit::Ok)
}
