//! Undo: every recorded file put back from the manifest alone, after a
//! finished resolution or one that was killed half-way.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use super::atomic::temp_name;
use super::atomic::{
    remove_logged, sync_dir, temporaries_of, write_atomic, write_atomic_mode, write_synced,
};
use super::files::{checked_rel, current_state, fresh_dir, link_bytes, list_files, Current};
use super::location::{current_journal, locate};
use super::manifest::{now_rfc3339, read_manifest, write_manifest, Entry, State};
use crate::adapters::git::blob_hex;
use crate::error::{Error, Result};

/// What [`undo`] did (or, with `dry_run`, would do). Paths are absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoReport {
    pub journal: PathBuf,
    pub description: String,
    pub started: String,
    /// False when the resolution never finished (failed or killed).
    pub was_complete: bool,
    pub dry_run: bool,
    /// Rewritten (or recreated) with their recorded bytes and mode.
    pub restored: Vec<PathBuf>,
    /// Removed: they did not exist before the resolution.
    pub deleted: Vec<PathBuf>,
    /// Already as recorded.
    pub unchanged: Vec<PathBuf>,
    /// Changed after the resolution finished (by hand, probably); their
    /// current content is in `saved_to` like every file undo replaced.
    pub changed_since: Vec<PathBuf>,
    /// Where undo copied the files it replaced or removed.
    pub saved_to: Option<PathBuf>,
}

/// Undo the last resolution recorded for the project at `root` — finished,
/// failed or killed — putting every recorded file back byte for byte (and
/// mode), deleting the files that did not exist before, and marking the
/// journal undone. Files undo replaces or deletes are first copied into the
/// journal's `before-undo` directory.
///
/// When there is nothing to undo (no journal, or the last one is already
/// undone) this returns an [`Error::usage`] error saying so: `djmig undo`
/// run twice exits 2 with "nothing to undo".
#[cfg(test)]
pub fn undo(root: &Path, dry_run: bool) -> Result<UndoReport> {
    restore_files(root, dry_run, true)
}

/// [`undo`]'s file part; `mark_undone: false` leaves the journal as it is
/// (the caller has database or git steps still to reverse, and marks it
/// with [`mark_undone`](super::mark_undone) at the end).
pub fn restore_files(root: &Path, dry_run: bool, mark_undone: bool) -> Result<UndoReport> {
    let (home, base) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Err(Error::usage(
            "nothing to undo: no resolution has been recorded for this project",
        ));
    };
    let mut m = read_manifest(&dir)?;
    if m.state == State::Undone {
        return Err(Error::usage(format!(
            "nothing to undo: the last resolution ({}, started {}) was undone {}",
            m.description,
            m.started,
            m.undone.as_deref().unwrap_or("already")
        )));
    }
    let mut report = UndoReport {
        journal: dir.clone(),
        description: m.description.clone(),
        started: m.started.clone(),
        was_complete: m.state == State::Complete,
        dry_run,
        ..UndoReport::default()
    };

    // Plan, checking every backup before changing anything.
    enum Action {
        Restore(Vec<u8>),
        Delete,
    }
    let mut plan: Vec<(PathBuf, &Entry, Action)> = Vec::new();
    let mut recorded: BTreeSet<PathBuf> = BTreeSet::new();
    for e in &m.files {
        let abs = base.join(checked_rel(&e.path)?);
        recorded.insert(abs.clone());
        let cur = current_state(&abs)
            .map_err(|err| Error::failed(format!("cannot read {}", abs.display())).cause(err))?;
        if matches!(cur, Current::Dir | Current::Other) {
            return Err(Error::failed(format!(
                "cannot undo: {} is now a directory or special file",
                abs.display()
            ))
            .hint("move it away, then run `djmig undo` again"));
        }
        if let (Some(after), State::Complete) = (&e.after, m.state) {
            if cur.id() != *after {
                report.changed_since.push(abs.clone());
            }
        }
        if !e.existed {
            if matches!(cur, Current::Absent) {
                report.unchanged.push(abs);
            } else {
                plan.push((abs, e, Action::Delete));
            }
            continue;
        }
        let backup = dir.join(e.backup.as_deref().ok_or_else(|| {
            Error::failed(format!(
                "the journal has no backup of {} ({})",
                e.path,
                dir.display()
            ))
        })?);
        let bytes = crate::adapters::fs::read::read(&backup, crate::core::limits::Kind::Migration)
            .map_err(|err| {
                Error::failed(format!("cannot read the backup {}", backup.display())).cause(err)
            })?;
        if e.blob.as_deref() != Some(blob_hex(&bytes).as_str()) {
            return Err(Error::failed(format!(
                "the backup {} of {} is damaged; nothing was changed",
                backup.display(),
                e.path
            )));
        }
        let same = match &cur {
            Current::File { blob, mode } => {
                !e.symlink && Some(blob) == e.blob.as_ref() && (e.mode.is_none() || *mode == e.mode)
            }
            Current::Symlink { blob } => e.symlink && Some(blob) == e.blob.as_ref(),
            _ => false,
        };
        if same {
            report.unchanged.push(abs);
        } else {
            plan.push((abs, e, Action::Restore(bytes)));
        }
    }
    let mut watched_new: Vec<PathBuf> = Vec::new();
    for w in &m.watched_dirs {
        let abs = base.join(checked_rel(&w.path)?);
        let now = list_files(&abs).unwrap_or_default();
        for name in now.difference(&w.entries) {
            let f = abs.join(name);
            if !recorded.contains(&f) {
                watched_new.push(f);
            }
        }
    }

    // Temporary files of atomic writes that a kill interrupted
    // (`.NAME.djmig-PID-N.tmp` next to a recorded file): the resolution
    // made them, so they go too.
    for e in &m.files {
        let abs = base.join(checked_rel(&e.path)?);
        for t in temporaries_of(&abs) {
            if !watched_new.contains(&t) {
                watched_new.push(t);
            }
        }
    }
    for (abs, _, action) in &plan {
        match action {
            Action::Restore(_) => report.restored.push(abs.clone()),
            Action::Delete => report.deleted.push(abs.clone()),
        }
    }
    report.deleted.extend(watched_new.iter().cloned());
    if dry_run {
        return Ok(report);
    }

    // Keep what is about to be replaced or removed.
    let to_save: Vec<&PathBuf> = plan
        .iter()
        .map(|(p, _, _)| p)
        .chain(watched_new.iter())
        .filter(|p| fs::symlink_metadata(p).is_ok())
        .collect();
    if !to_save.is_empty() {
        let save = fresh_dir(&dir, "before-undo")?;
        let mut index = Vec::new();
        for (i, p) in to_save.iter().enumerate() {
            let name = format!("{i:04}");
            let bytes = if fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
                link_bytes(p)
            } else {
                crate::adapters::fs::read::read(p, crate::core::limits::Kind::Migration)
            }
            .map_err(|e| Error::failed(format!("cannot read {}", p.display())).cause(e))?;
            write_synced(&save.join(&name), &bytes).map_err(|e| {
                Error::failed(format!("cannot save {} before undoing", p.display())).cause(e)
            })?;
            index.push(serde_json::json!({ "path": p, "copy": name }));
        }
        let text = serde_json::to_vec_pretty(&index).unwrap_or_default();
        write_atomic(&save.join("index.json"), &text)
            .map_err(|e| Error::failed(format!("cannot write {}", save.display())).cause(e))?;
        sync_dir(&save);
        report.saved_to = Some(save);
    }

    for (abs, e, action) in &plan {
        let res = match action {
            Action::Restore(bytes) => restore(abs, bytes, e.symlink, e.mode),
            Action::Delete => remove_logged(abs),
        };
        res.map_err(|err| {
            Error::failed(format!("cannot restore {}", abs.display()))
                .cause(err)
                .hint("fix the cause and run `djmig undo` again: it starts over safely")
        })?;
        if let Action::Delete = action {
            for d in &e.missing_dirs {
                // Only empty directories go; a failure leaves it be.
                let _ = fs::remove_dir(base.join(d));
            }
        }
    }
    for f in &watched_new {
        remove_logged(f).map_err(|err| {
            Error::failed(format!("cannot remove {}", f.display()))
                .cause(err)
                .hint("fix the cause and run `djmig undo` again: it starts over safely")
        })?;
    }

    if mark_undone {
        m.state = State::Undone;
        m.undone = Some(now_rfc3339());
        write_manifest(&dir, &m)?;
    }
    Ok(report)
}

fn restore(path: &Path, bytes: &[u8], symlink: bool, mode: Option<u32>) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    if symlink {
        return restore_symlink(path, bytes);
    }
    write_atomic_mode(path, bytes, mode)
}

#[cfg(unix)]
fn restore_symlink(path: &Path, target: &[u8]) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let tmp = temp_name(path);
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &tmp)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    Ok(())
}

#[cfg(not(unix))]
fn restore_symlink(path: &Path, target: &[u8]) -> io::Result<()> {
    // Not recorded as links off unix; restore the bytes.
    write_atomic_mode(path, target, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::journal::manifest::MANIFEST;
    use crate::adapters::store::journal::tests::{mode, project, BINARY};
    use crate::adapters::store::journal::{last, Journal};

    #[cfg(unix)]
    fn set_mode(p: &Path, m: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    }

    const CRLF: &[u8] = b"line one\r\nline two\r\n\r\nno newline at end";

    #[test]
    fn undo_restores_byte_for_byte() {
        let d = project();
        let r = d.path();
        let a = r.join("blog/migrations/0002_a.py");
        let bin = r.join("blog/data.bin");
        let gone = r.join("blog/migrations/0002_b.py");
        let new = r.join("blog/migrations/0003_merge.py");
        let deep = r.join("newapp/migrations/0001_initial.py");
        fs::write(&a, CRLF).unwrap();
        fs::write(&bin, BINARY).unwrap();
        fs::write(&gone, b"to be deleted\n").unwrap();
        #[cfg(unix)]
        {
            set_mode(&a, 0o751);
            set_mode(&bin, 0o600);
        }
        let files = vec![
            a.clone(),
            PathBuf::from("blog/data.bin"),
            gone.clone(),
            new.clone(),
            deep.clone(),
        ];
        let j = Journal::begin(r, "resolve blog", &files).unwrap();
        assert_eq!(j.dir(), r.join(".git/djmig/journal"));
        assert!(j.dir().join(MANIFEST).is_file());

        write_atomic(&a, b"rewritten\n").unwrap();
        #[cfg(unix)]
        assert_eq!(mode(&a), 0o751, "write_atomic keeps the mode");
        fs::write(&bin, b"changed").unwrap();
        #[cfg(unix)]
        set_mode(&bin, 0o644);
        fs::remove_file(&gone).unwrap();
        write_atomic(&new, b"merge\n").unwrap();
        fs::create_dir_all(deep.parent().unwrap()).unwrap();
        fs::write(&deep, b"x").unwrap();
        j.finish().unwrap();

        let info = last(r).unwrap().unwrap();
        assert_eq!(info.state, State::Complete);
        assert_eq!(info.description, "resolve blog");

        // A dry run changes nothing.
        let dry = undo(r, true).unwrap();
        assert_eq!(dry.restored.len(), 3, "{dry:?}");
        assert_eq!(dry.deleted.len(), 2, "{dry:?}");
        assert_eq!(fs::read(&a).unwrap(), b"rewritten\n");

        let rep = undo(r, false).unwrap();
        assert!(rep.was_complete);
        assert_eq!(fs::read(&a).unwrap(), CRLF);
        assert_eq!(fs::read(&bin).unwrap(), BINARY);
        assert_eq!(fs::read(&gone).unwrap(), b"to be deleted\n");
        assert!(!new.exists());
        assert!(!deep.exists());
        assert!(!r.join("newapp").exists(), "created directories go too");
        #[cfg(unix)]
        {
            assert_eq!(mode(&a), 0o751);
            assert_eq!(mode(&bin), 0o600);
        }
        assert!(rep.changed_since.is_empty(), "{rep:?}");
        // What undo replaced was kept.
        let saved = rep.saved_to.unwrap();
        let index = fs::read_to_string(saved.join("index.json")).unwrap();
        assert!(index.contains("0003_merge.py"), "{index}");
        // a, data.bin, 0003_merge.py, newapp/…/0001_initial.py (0002_b.py was gone), and the index.
        assert_eq!(fs::read_dir(&saved).unwrap().count(), 4 + 1);

        // Twice: nothing to undo.
        let e = undo(r, false).unwrap_err();
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(e.message.contains("nothing to undo"), "{e:?}");
        assert_eq!(last(r).unwrap().unwrap().state, State::Undone);
        // And a new resolution may begin; the old journal is kept.
        let j = Journal::begin(r, "again", std::slice::from_ref(&a)).unwrap();
        j.finish().unwrap();
        assert!(r.join(".git/djmig/journal.prev").join(MANIFEST).is_file());
    }

    /// A kill between writing the temporary file and renaming it leaves
    /// `.NAME.djmig-PID-N.tmp` beside the file: undo removes it (and keeps
    /// a copy with what it replaced).
    #[test]
    fn undo_removes_temporaries_a_killed_write_left() {
        let d = project();
        let r = d.path();
        let f = r.join("blog/migrations/max_migration.txt");
        fs::write(&f, b"0001_initial\n").unwrap();
        let _j = Journal::begin(r, "killed", std::slice::from_ref(&f)).unwrap();
        let tmp = r.join("blog/migrations/.max_migration.txt.djmig-4242-7.tmp");
        fs::write(&tmp, b"0002_half").unwrap();
        let other = r.join("blog/migrations/.other.txt.djmig-4242-8.tmp");
        fs::write(&other, b"not ours").unwrap();
        let dry = undo(r, true).unwrap();
        assert!(dry.deleted.contains(&tmp), "{dry:?}");
        assert!(tmp.exists());
        let rep = undo(r, false).unwrap();
        assert!(rep.deleted.contains(&tmp), "{rep:?}");
        assert!(!tmp.exists());
        assert!(other.exists(), "only temporaries of recorded files go");
        assert_eq!(fs::read(&f).unwrap(), b"0001_initial\n");
    }

    #[test]
    fn no_journal_nothing_to_undo() {
        let d = project();
        let e = undo(d.path(), false).unwrap_err();
        assert!(e.message.contains("nothing to undo"), "{e:?}");
        assert_eq!(last(d.path()).unwrap(), None);
    }

    #[test]
    fn changed_after_finish_is_reported_and_saved() {
        let d = project();
        let r = d.path();
        let f = r.join("blog/models.py");
        fs::write(&f, b"v1").unwrap();
        let j = Journal::begin(r, "t", std::slice::from_ref(&f)).unwrap();
        fs::write(&f, b"v2 by djmig").unwrap();
        j.finish().unwrap();
        fs::write(&f, b"v3 by hand").unwrap();
        let rep = undo(r, false).unwrap();
        assert_eq!(rep.changed_since, vec![f.clone()]);
        assert_eq!(fs::read(&f).unwrap(), b"v1");
        let saved = rep.saved_to.unwrap();
        assert_eq!(fs::read(saved.join("0000")).unwrap(), b"v3 by hand");
    }

    #[test]
    fn damaged_backup_changes_nothing() {
        let d = project();
        let r = d.path();
        let f = r.join("a.py");
        let g = r.join("b.py");
        fs::write(&f, b"a").unwrap();
        fs::write(&g, b"b").unwrap();
        let j = Journal::begin(r, "t", &[f.clone(), g.clone()]).unwrap();
        fs::write(&f, b"A").unwrap();
        fs::write(&g, b"B").unwrap();
        fs::write(j.dir().join("files/0001"), b"corrupt").unwrap();
        let e = undo(r, false).unwrap_err();
        assert!(e.message.contains("damaged"), "{e:?}");
        assert_eq!(fs::read(&f).unwrap(), b"A");
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_restored_as_links() {
        let d = project();
        let r = d.path();
        let link = r.join("link.py");
        std::os::unix::fs::symlink("target.py", &link).unwrap();
        let j = Journal::begin(r, "t", std::slice::from_ref(&link)).unwrap();
        write_atomic(&link, b"now a file").unwrap();
        drop(j);
        undo(r, false).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("target.py"));
    }
}
