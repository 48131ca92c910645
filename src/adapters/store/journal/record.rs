//! Recording: a journal begun before a resolution touches anything, the
//! files and directories it adds on the way, and its finish.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic::{sync_dir, unique, write_synced};
use super::files::{
    canonical_dir, current_state, link_bytes, list_files, normalize, rel_string, Current,
};
use super::location::{locate, BUILDING, CURRENT, PREVIOUS};
use super::manifest::{
    now_rfc3339, read_manifest, write_manifest, Entry, Manifest, State, WatchedDir, MANIFEST,
    MANIFEST_VERSION,
};
use crate::adapters::git::blob_hex;
use crate::error::{Error, Result};

/// A resolution in progress: record files before touching them.
#[derive(Debug)]
pub struct Journal {
    pub(super) dir: PathBuf,
    pub(super) root: PathBuf,
    pub(super) base: PathBuf,
    pub(super) manifest: Manifest,
}

impl Journal {
    /// Record `files` (absolute, or relative to `root`) before a resolution
    /// touches any of them: existing ones are copied, missing ones recorded
    /// as absent. Refuses while the last journal is still in progress.
    pub fn begin(root: &Path, description: &str, files: &[PathBuf]) -> Result<Journal> {
        let root = canonical_dir(root);
        let (home, base) = locate(&root)?;
        fs::create_dir_all(&home)
            .map_err(|e| Error::failed(format!("cannot create {}", home.display())).cause(e))?;
        let cur = home.join(CURRENT);
        if cur.exists() {
            match read_manifest(&cur) {
                Ok(m) if m.state == State::InProgress => {
                    return Err(Error::failed(format!(
                        "the last resolution did not finish: {} (started {})",
                        m.description, m.started
                    ))
                    .cause(format!("its journal is {}", cur.display()))
                    .hint(
                        "run `djmig undo` first to restore the files it recorded, then try again",
                    ));
                }
                Ok(_) => {}
                Err(e) if cur.join(MANIFEST).exists() => {
                    return Err(e.hint(format!(
                        "run `djmig undo`, or move {} away if its files no longer matter",
                        cur.display()
                    )));
                }
                // No manifest: never a journal that recorded anything.
                Err(_) => {}
            }
        }
        remove_stale_builds(&home);

        let building = home.join(format!("{BUILDING}{}-{}", std::process::id(), unique()));
        fs::create_dir_all(building.join("files"))
            .map_err(|e| Error::failed(format!("cannot create {}", building.display())).cause(e))?;
        let mut journal = Journal {
            dir: building.clone(),
            root,
            base: base.clone(),
            manifest: Manifest {
                version: MANIFEST_VERSION,
                description: description.to_string(),
                started: now_rfc3339(),
                finished: None,
                undone: None,
                state: State::InProgress,
                base,
                pid: std::process::id(),
                djmig_version: env!("CARGO_PKG_VERSION").to_string(),
                files: Vec::new(),
                watched_dirs: Vec::new(),
                effects: Vec::new(),
                database: None,
            },
        };
        let built = (|| {
            for f in files {
                journal.snapshot(f)?;
            }
            write_manifest(&building, &journal.manifest)?;
            sync_dir(&building.join("files"));
            sync_dir(&building);
            Ok::<(), Error>(())
        })();
        if let Err(e) = built {
            let _ = fs::remove_dir_all(&building);
            return Err(e);
        }

        let prev = home.join(PREVIOUS);
        let install = (|| -> io::Result<()> {
            if cur.exists() {
                if prev.exists() {
                    fs::remove_dir_all(&prev)?;
                }
                fs::rename(&cur, &prev)?;
            }
            fs::rename(&building, &cur)?;
            sync_dir(&home);
            Ok(())
        })();
        if let Err(e) = install {
            let _ = fs::remove_dir_all(&building);
            return Err(Error::failed(format!(
                "cannot put the journal in place at {}",
                cur.display()
            ))
            .cause(e));
        }
        journal.dir = cur;
        Ok(journal)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Record one more file before touching it: an existing file is copied,
    /// a missing one recorded as absent (undo deletes whatever is there
    /// later). A file already recorded keeps its first record.
    pub fn record_extra(&mut self, path: &Path) -> Result<()> {
        if self.snapshot(path)? {
            write_manifest(&self.dir, &self.manifest)?;
        }
        Ok(())
    }

    /// Record a file that something the resolution ran (makemigrations)
    /// has just created: it did not exist before, so undo deletes it. Only
    /// for files that are new; one already recorded keeps its first record.
    pub fn record_created(&mut self, path: &Path) -> Result<()> {
        let (_, rel) = self.resolve(path)?;
        if self.manifest.files.iter().any(|e| e.path == rel) {
            return Ok(());
        }
        self.manifest.files.push(Entry {
            path: rel,
            existed: false,
            symlink: false,
            blob: None,
            size: None,
            backup: None,
            mode: None,
            missing_dirs: Vec::new(),
            after: None,
        });
        write_manifest(&self.dir, &self.manifest)
    }

    /// Remember the files in `dir` now (before running a command that adds
    /// files to it, like makemigrations): undo deletes the files that appear
    /// there later, even when djmig was killed before recording them.
    pub fn watch_dir(&mut self, dir: &Path) -> Result<()> {
        let (abs, rel) = self.resolve(dir)?;
        if self.manifest.watched_dirs.iter().any(|w| w.path == rel) {
            return Ok(());
        }
        let entries = list_files(&abs)
            .map_err(|e| Error::failed(format!("cannot list {}", abs.display())).cause(e))?;
        self.manifest
            .watched_dirs
            .push(WatchedDir { path: rel, entries });
        write_manifest(&self.dir, &self.manifest)
    }

    /// Mark the resolution complete (still undoable), noting each file's
    /// state so undo can tell what was changed by hand since.
    pub fn finish(mut self) -> Result<()> {
        for e in &mut self.manifest.files {
            let abs = self.base.join(&e.path);
            e.after = Some(match current_state(&abs) {
                Ok(Current::Absent) => "absent".to_string(),
                Ok(Current::File { blob, .. }) | Ok(Current::Symlink { blob }) => blob,
                _ => "other".to_string(),
            });
        }
        self.manifest.state = State::Complete;
        self.manifest.finished = Some(now_rfc3339());
        write_manifest(&self.dir, &self.manifest)
    }

    /// Absolute path and path relative to the base of a file given
    /// absolute or relative to the root.
    fn resolve(&self, path: &Path) -> Result<(PathBuf, String)> {
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root.join(path)
        };
        let normal = normalize(&joined);
        let abs = match (normal.parent(), normal.file_name()) {
            (Some(parent), Some(name)) => canonical_dir(parent).join(name),
            _ => normal.clone(),
        };
        let rel = abs
            .strip_prefix(&self.base)
            .ok()
            .filter(|r| !r.as_os_str().is_empty())
            .and_then(rel_string)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{} is outside the project ({}); djmig does not change it",
                    path.display(),
                    self.base.display()
                ))
            })?;
        if rel == ".git"
            || rel.starts_with(".git/")
            || rel == ".djmig"
            || rel.starts_with(".djmig/")
        {
            return Err(Error::usage(format!(
                "{} is djmig's or git's own data",
                path.display()
            )));
        }
        Ok((abs, rel))
    }

    /// Record the current state of `path`; false when already recorded.
    fn snapshot(&mut self, path: &Path) -> Result<bool> {
        let (abs, rel) = self.resolve(path)?;
        if self.manifest.files.iter().any(|e| e.path == rel) {
            return Ok(false);
        }
        let io_err = |e: io::Error| {
            Error::failed(format!("cannot record {} in the journal", abs.display())).cause(e)
        };
        let state = current_state(&abs).map_err(io_err)?;
        let backup_name = format!("files/{:04}", self.manifest.files.len());
        let mut entry = Entry {
            path: rel.clone(),
            existed: true,
            symlink: false,
            blob: None,
            size: None,
            backup: None,
            mode: None,
            missing_dirs: Vec::new(),
            after: None,
        };
        let bytes = match state {
            Current::Absent => {
                entry.existed = false;
                let mut d = abs.parent();
                while let Some(dir) = d {
                    if dir == self.base || dir.exists() {
                        break;
                    }
                    if let Some(r) = dir.strip_prefix(&self.base).ok().and_then(rel_string) {
                        entry.missing_dirs.push(r);
                    }
                    d = dir.parent();
                }
                None
            }
            Current::Dir => {
                return Err(Error::usage(format!(
                    "{} is a directory, not a file",
                    abs.display()
                )))
            }
            Current::Other => {
                return Err(Error::usage(format!(
                    "{} is not a regular file",
                    abs.display()
                )))
            }
            Current::Symlink { .. } => {
                entry.symlink = true;
                Some(link_bytes(&abs).map_err(io_err)?)
            }
            Current::File { mode, .. } => {
                entry.mode = mode;
                Some(
                    crate::adapters::fs::read::read(&abs, crate::core::limits::Kind::Migration)
                        .map_err(io_err)?,
                )
            }
        };
        if let Some(bytes) = bytes {
            let dest = self.dir.join(&backup_name);
            write_synced(&dest, &bytes).map_err(|e| {
                Error::failed(format!("cannot write the backup {}", dest.display())).cause(e)
            })?;
            entry.blob = Some(blob_hex(&bytes));
            entry.size = Some(bytes.len() as u64);
            entry.backup = Some(backup_name);
        }
        self.manifest.files.push(entry);
        Ok(true)
    }
}

/// Journals that were being built when djmig died: they recorded nothing
/// that was changed (begin had not returned), so they can go.
pub(super) fn remove_stale_builds(home: &Path) {
    let Ok(rd) = fs::read_dir(home) else { return };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(BUILDING) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::journal::tests::project;
    use crate::adapters::store::journal::undo;

    #[test]
    fn in_progress_blocks_begin_and_undo_works_without_finish() {
        let d = project();
        let r = d.path();
        let f = r.join("blog/migrations/0001_initial.py");
        fs::write(&f, b"orig").unwrap();
        let mut j = Journal::begin(r, "first", std::slice::from_ref(&f)).unwrap();
        fs::write(&f, b"half-done").unwrap();
        let created = r.join("blog/migrations/0004_auto.py");
        fs::write(&created, b"made by makemigrations").unwrap();
        j.record_created(&created).unwrap();
        drop(j); // no finish: as if djmig failed here

        let e = Journal::begin(r, "second", std::slice::from_ref(&f)).unwrap_err();
        assert!(e.hints.iter().any(|h| h.contains("djmig undo")), "{e:?}");
        assert!(e.message.contains("first"), "{e:?}");

        let rep = undo(r, false).unwrap();
        assert!(!rep.was_complete);
        assert_eq!(fs::read(&f).unwrap(), b"orig");
        assert!(!created.exists());
        Journal::begin(r, "second", &[f]).unwrap().finish().unwrap();
    }

    #[test]
    fn record_extra_and_watch_dir() {
        let d = project();
        let r = d.path();
        let dir = r.join("blog/migrations");
        let keep = dir.join("0001_initial.py");
        let extra = dir.join("0002_x.py");
        fs::write(&keep, b"1").unwrap();
        fs::write(&extra, b"extra before").unwrap();
        let mut j = Journal::begin(r, "t", &[]).unwrap();
        j.watch_dir(&dir).unwrap();
        j.record_extra(&extra).unwrap();
        fs::write(&extra, b"extra after").unwrap();
        // Recording again keeps the first record.
        j.record_extra(&extra).unwrap();
        fs::write(dir.join("0003_auto_1.py"), b"new").unwrap();
        fs::create_dir(dir.join("__pycache__")).unwrap();
        // Killed before recording what makemigrations wrote: the watched
        // directory still catches it.
        drop(j);
        let rep = undo(r, false).unwrap();
        assert_eq!(fs::read(&extra).unwrap(), b"extra before");
        assert_eq!(fs::read(&keep).unwrap(), b"1");
        assert!(!dir.join("0003_auto_1.py").exists());
        assert!(
            dir.join("__pycache__").is_dir(),
            "directories are left alone"
        );
        assert_eq!(rep.deleted, vec![dir.join("0003_auto_1.py")]);
    }

    #[test]
    fn refuses_paths_outside_the_project() {
        let d = project();
        let outside = tempfile::tempdir().unwrap();
        let e = Journal::begin(d.path(), "t", &[outside.path().join("x.py")]).unwrap_err();
        assert!(e.message.contains("outside"), "{e:?}");
        let e = Journal::begin(d.path(), "t", &[PathBuf::from("../x.py")]).unwrap_err();
        assert!(e.message.contains("outside"), "{e:?}");
        let e = Journal::begin(d.path(), "t", &[PathBuf::from("blog")]).unwrap_err();
        assert!(e.message.contains("directory"), "{e:?}");
        // Nothing half-built is left behind.
        let home = d.path().join(".git/djmig");
        assert_eq!(fs::read_dir(home).unwrap().count(), 0);
    }
}
