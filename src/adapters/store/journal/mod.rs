//! The journal: nothing a user had is ever lost.
//!
//! Before a resolution writes anything, [`Journal::begin`] copies every file
//! it may touch, byte for byte, into the journal directory and writes a
//! manifest that says what each file was (content hash, mode, or absent).
//! [`undo`] puts every recorded file back from the manifest alone, so it
//! works after djmig was killed half-way as well as after a finished
//! resolution.
//!
//! Layout: `<git dir>/djmig/journal/` inside a git repository (the git dir of
//! the work tree, so each linked worktree has its own), else
//! `<root>/.djmig/journal/`:
//!
//! ```text
//! djmig/journal/manifest.json     what was recorded, and the state
//! djmig/journal/files/0000        the original bytes (or a symlink's target)
//! djmig/journal/before-undo/      what undo replaced, in case it was wanted
//! djmig/journal.prev/             the journal before, kept for reference
//! ```
//!
//! Crash safety: the journal is built in `journal.tmp-*` and renamed into
//! place, manifest included, before `begin` returns; every later manifest
//! change is written to a temporary file, fsynced and renamed. A journal is
//! `in_progress` until [`Journal::finish`]; while one is, `begin` refuses.
//! Undo is idempotent until it marks the journal `undone`, so an undo that
//! was itself interrupted can be run again.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::adapters::git::blob_hex;
use crate::error::{Error, Result};

pub mod effects;
pub use effects::{
    last_record, mark_effect_undone, mark_undone, restore_database, DatabaseRecord, Effect,
    EffectRecord, Phase, Record,
};

/// The manifest format version.
const MANIFEST_VERSION: u32 = 2;
const MANIFEST: &str = "manifest.json";
const CURRENT: &str = "journal";
const PREVIOUS: &str = "journal.prev";
const BUILDING: &str = "journal.tmp-";

/// Where a journal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Begun, not finished: the resolution is running, failed or was killed.
    InProgress,
    /// Finished; still undoable.
    Complete,
    /// Undone; nothing left to undo.
    Undone,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    version: u32,
    description: String,
    /// RFC 3339, UTC.
    started: String,
    #[serde(default)]
    finished: Option<String>,
    #[serde(default)]
    undone: Option<String>,
    state: State,
    /// What `path`s are relative to: the git work-tree top, else the root.
    base: PathBuf,
    pid: u32,
    djmig_version: String,
    files: Vec<Entry>,
    #[serde(default)]
    watched_dirs: Vec<WatchedDir>,
    /// Side effects besides files (git, the local database), in order.
    #[serde(default)]
    effects: Vec<EffectRecord>,
    /// The local database before the resolution.
    #[serde(default)]
    database: Option<DatabaseRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Relative to the base, '/'-separated.
    path: String,
    existed: bool,
    /// The original was a symbolic link; its backup holds the target.
    #[serde(default)]
    symlink: bool,
    /// git's blob id of the original bytes (of the link target for a link).
    #[serde(default)]
    blob: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    /// The backup, relative to the journal directory.
    #[serde(default)]
    backup: Option<String>,
    /// Permission bits of the original (unix).
    #[serde(default)]
    mode: Option<u32>,
    /// Directories (relative, deepest first) that did not exist either;
    /// undo removes them when they are empty.
    #[serde(default)]
    missing_dirs: Vec<String>,
    /// The state at `finish`: a blob id, or "absent".
    #[serde(default)]
    after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WatchedDir {
    path: String,
    /// The names of the non-directory entries when it was watched.
    entries: BTreeSet<String>,
}

/// A resolution in progress: record files before touching them.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    root: PathBuf,
    base: PathBuf,
    manifest: Manifest,
}

/// The last journal, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalInfo {
    pub dir: PathBuf,
    pub description: String,
    pub started: String,
    pub state: State,
    pub files: usize,
}

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

/// The directory holding the journals of the project at `root`, and the base
/// directory recorded paths are relative to.
fn locate(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let root = canonical_dir(root);
    for dir in root.ancestors() {
        let dotgit = dir.join(".git");
        let Ok(meta) = fs::metadata(&dotgit) else {
            continue;
        };
        if meta.is_dir() {
            return Ok((dotgit.join("djmig"), dir.to_path_buf()));
        }
        if meta.is_file() {
            let gitdir = read_gitdir_file(&dotgit)?;
            return Ok((gitdir.join("djmig"), dir.to_path_buf()));
        }
    }
    Ok((root.join(".djmig"), root))
}

/// A `.git` file (linked worktree, submodule): `gitdir: PATH`, relative to
/// the directory holding the file.
fn read_gitdir_file(dotgit: &Path) -> Result<PathBuf> {
    let text =
        crate::adapters::fs::read::read_string(dotgit, crate::adapters::fs::read::Kind::GitState)
            .map_err(|e| Error::git(format!("cannot read {}", dotgit.display())).cause(e))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let Some(p) = line.strip_prefix("gitdir:") else {
        return Err(Error::git(format!(
            "{} is a file but not a `gitdir: …` link",
            dotgit.display()
        )));
    };
    let p = Path::new(p.trim());
    let gitdir = match dotgit.parent() {
        Some(parent) if p.is_relative() => parent.join(p),
        _ => p.to_path_buf(),
    };
    if !gitdir.is_dir() {
        return Err(Error::git(format!(
            "{} points to {}, which is not a directory",
            dotgit.display(),
            gitdir.display()
        ))
        .hint("if the worktree's repository moved, run `git worktree repair`"));
    }
    Ok(canonical_dir(&gitdir))
}

/// Where the journal of the project at `root` lives.
#[cfg(test)]
pub fn journal_dir(root: &Path) -> Result<PathBuf> {
    Ok(locate(root)?.0.join(CURRENT))
}

/// The last journal, if any.
pub fn last(root: &Path) -> Result<Option<JournalInfo>> {
    let (home, _) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Ok(None);
    };
    let m = read_manifest(&dir)?;
    Ok(Some(JournalInfo {
        dir,
        description: m.description,
        started: m.started,
        state: m.state,
        files: m.files.len(),
    }))
}

/// The journal undo applies to: `journal`, or `journal.prev` when djmig died
/// between moving the old journal aside and putting a new one in place
/// (nothing had been touched by then).
fn current_journal(home: &Path) -> Option<PathBuf> {
    let cur = home.join(CURRENT);
    if cur.exists() {
        return Some(cur);
    }
    let prev = home.join(PREVIOUS);
    prev.join(MANIFEST).is_file().then_some(prev)
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let bytes = crate::adapters::fs::read::read(&path, crate::adapters::fs::read::Kind::Journal)
        .map_err(|e| {
            Error::failed(format!(
                "cannot read the journal manifest {}",
                path.display()
            ))
            .cause(e)
        })?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        Error::failed(format!(
            "the journal manifest {} is damaged",
            path.display()
        ))
        .cause(e)
    })?;
    if m.version > MANIFEST_VERSION {
        return Err(Error::failed(format!(
            "the journal {} was written by a newer djmig (format {})",
            dir.display(),
            m.version
        ))
        .hint("undo it with that version of djmig"));
    }
    Ok(m)
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(m)
        .map_err(|e| Error::failed("cannot encode the journal manifest").cause(e))?;
    bytes.push(b'\n');
    let path = dir.join(MANIFEST);
    write_atomic(&path, &bytes)
        .map_err(|e| Error::failed(format!("cannot write {}", path.display())).cause(e))
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
                    crate::adapters::fs::read::read(
                        &abs,
                        crate::adapters::fs::read::Kind::Migration,
                    )
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
/// with [`mark_undone`] at the end).
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
        let bytes =
            crate::adapters::fs::read::read(&backup, crate::adapters::fs::read::Kind::Migration)
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
                crate::adapters::fs::read::read(p, crate::adapters::fs::read::Kind::Migration)
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

fn remove_logged(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(parent) = path.parent() {
                sync_dir(parent);
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
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

/// Write `bytes` to `path` atomically: a temporary file in the same
/// directory, fsynced, then renamed over `path` (and the directory fsynced).
/// An existing file's permissions are kept; a new file gets the usual
/// permissions (umask applied).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, None)
}

/// [`write_atomic`] with the permission bits to give the file (unix); `None`
/// keeps the existing file's.
fn write_atomic_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let perms = match fs::metadata(path) {
        Ok(m) if m.is_file() => Some(m.permissions()),
        _ => None,
    };
    let tmp = temp_name(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        } else if let Some(p) = &perms {
            f.set_permissions(p.clone())?;
        }
        #[cfg(not(unix))]
        {
            let _ = mode;
            if let Some(p) = &perms {
                f.set_permissions(p.clone())?;
            }
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    if let Some(parent) = path.parent() {
        sync_dir(parent);
    }
    Ok(())
}

/// The temporary files [`write_atomic`] (or a symlink restore) may have
/// left next to `path` when killed: `.NAME.djmig-*.tmp`.
fn temporaries_of(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!(".{}.djmig-", name.to_string_lossy());
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix) && n.ends_with(".tmp")
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// `.NAME.djmig-PID-N.tmp` next to `path`.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.djmig-{}-{}.tmp",
        std::process::id(),
        unique()
    ))
}

fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (N.fetch_add(1, Ordering::Relaxed) << 32) | nanos
}

/// Create a new file with `bytes` and fsync it.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Make a directory's entries (a rename, a new file) durable. Best effort:
/// not every platform can open a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// `NAME`, or `NAME-2`, `NAME-3`, … : a directory that did not exist.
fn fresh_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    for i in 1.. {
        let p = if i == 1 {
            parent.join(name)
        } else {
            parent.join(format!("{name}-{i}"))
        };
        match fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::failed(format!("cannot create {}", p.display())).cause(e)),
        }
    }
    unreachable!()
}

/// Journals that were being built when djmig died: they recorded nothing
/// that was changed (begin had not returned), so they can go.
fn remove_stale_builds(home: &Path) {
    let Ok(rd) = fs::read_dir(home) else { return };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(BUILDING) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// The state of a path now.
enum Current {
    Absent,
    File { blob: String, mode: Option<u32> },
    Symlink { blob: String },
    Dir,
    Other,
}

impl Current {
    /// As recorded in `Entry::after`.
    fn id(&self) -> String {
        match self {
            Current::Absent => "absent".into(),
            Current::File { blob, .. } | Current::Symlink { blob } => blob.clone(),
            Current::Dir | Current::Other => "other".into(),
        }
    }
}

fn current_state(path: &Path) -> io::Result<Current> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Current::Absent),
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    if ft.is_symlink() && cfg!(unix) {
        return Ok(Current::Symlink {
            blob: blob_hex(&link_bytes(path)?),
        });
    }
    let meta = if ft.is_symlink() {
        fs::metadata(path)?
    } else {
        meta
    };
    if meta.is_dir() {
        return Ok(Current::Dir);
    }
    if !meta.is_file() {
        return Ok(Current::Other);
    }
    Ok(Current::File {
        blob: blob_hex(&crate::adapters::fs::read::read(
            path,
            crate::adapters::fs::read::Kind::Migration,
        )?),
        mode: mode_of(&meta),
    })
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata) -> Option<u32> {
    None
}

#[cfg(unix)]
fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(fs::read_link(path)?.as_os_str().as_bytes().to_vec())
}

#[cfg(not(unix))]
fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    fs::read(path)
}

/// The names of the non-directory entries of `dir` (none if it is missing).
fn list_files(dir: &Path) -> io::Result<BTreeSet<String>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    let mut out = BTreeSet::new();
    for e in rd {
        let e = e?;
        if !e.file_type()?.is_dir() {
            if let Some(n) = e.file_name().to_str() {
                out.insert(n.to_string());
            }
        }
    }
    Ok(out)
}

/// A directory canonicalized as far as it exists (the missing rest kept).
fn canonical_dir(p: &Path) -> PathBuf {
    let p = normalize(p);
    let mut rest = Vec::new();
    let mut cur = p.as_path();
    loop {
        if let Ok(c) = cur.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return p,
        }
    }
}

/// `.` and `..` resolved lexically.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn rel_string(p: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = p
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    parts.map(|v| v.join("/"))
}

/// A manifest path, refusing anything that leaves the base.
fn checked_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(Error::failed(format!(
            "the journal manifest names {rel:?}, which is not inside the project"
        )));
    }
    Ok(p.to_path_buf())
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_rfc3339() -> String {
    crate::core::dates::rfc3339(crate::core::dates::now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn set_mode(p: &Path, m: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    }

    /// A project in a git-like directory (`.git/` is all `locate` needs).
    fn project() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join(".git")).unwrap();
        fs::create_dir_all(d.path().join("blog/migrations")).unwrap();
        d
    }

    const BINARY: &[u8] = b"\x00\xff\xfe\r\n\x80binary\x00\r";
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

    #[test]
    fn outside_git_and_in_a_subdirectory() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        assert_eq!(
            journal_dir(r).unwrap(),
            canonical_dir(r).join(".djmig/journal")
        );

        // Root below the work-tree top: the journal is in the git dir and
        // paths are relative to the top, so undo works from anywhere in it.
        let p = project();
        let sub = p.path().join("backend");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("m.py"), b"x").unwrap();
        let j = Journal::begin(&sub, "t", &[PathBuf::from("m.py")]).unwrap();
        assert_eq!(j.manifest.files[0].path, "backend/m.py");
        fs::write(sub.join("m.py"), b"y").unwrap();
        drop(j);
        undo(p.path(), false).unwrap();
        assert_eq!(fs::read(sub.join("m.py")).unwrap(), b"x");
    }

    #[test]
    fn linked_worktree_git_file() {
        let d = tempfile::tempdir().unwrap();
        let main_gitdir = d.path().join("main/.git/worktrees/wt");
        fs::create_dir_all(&main_gitdir).unwrap();
        let wt = d.path().join("wt");
        fs::create_dir_all(&wt).unwrap();
        fs::write(wt.join(".git"), "gitdir: ../main/.git/worktrees/wt\n").unwrap();
        let want = canonical_dir(&main_gitdir).join("djmig/journal");
        assert_eq!(journal_dir(&wt).unwrap(), want);
        fs::write(
            wt.join(".git"),
            format!("gitdir: {}\r\n", main_gitdir.display()),
        )
        .unwrap();
        assert_eq!(journal_dir(&wt).unwrap(), want);

        fs::write(wt.join("f.py"), b"orig").unwrap();
        let j = Journal::begin(&wt, "wt", &[wt.join("f.py")]).unwrap();
        assert_eq!(j.dir(), want);
        fs::write(wt.join("f.py"), b"new").unwrap();
        j.finish().unwrap();
        undo(&wt, false).unwrap();
        assert_eq!(fs::read(wt.join("f.py")).unwrap(), b"orig");

        fs::write(wt.join(".git"), "not a link\n").unwrap();
        assert!(journal_dir(&wt).is_err());
        fs::write(wt.join(".git"), "gitdir: /nonexistent/djmig-test\n").unwrap();
        let e = journal_dir(&wt).unwrap_err();
        assert!(
            e.hints.iter().any(|h| h.contains("worktree repair")),
            "{e:?}"
        );
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

    #[cfg(unix)]
    #[test]
    fn write_atomic_new_file_gets_umask_permissions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("new.py");
        write_atomic(&p, b"x").unwrap();
        // Not tempfile's 0600: the usual permissions for a new file.
        assert_ne!(mode(&p) & 0o044, 0, "mode {:o}", mode(&p));
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    const CRASH_ENV: &str = "DJMIG_JOURNAL_CRASH_CHILD";

    /// The child half of `killed_halfway_is_undone`: begins a journal, makes
    /// half the changes, says so, and waits to be killed. A no-op unless the
    /// parent test started it.
    #[test]
    fn crash_child() {
        let Some(root) = std::env::var_os(CRASH_ENV) else {
            return;
        };
        let r = PathBuf::from(root);
        let files: Vec<PathBuf> = (0..6).map(|i| r.join(format!("f{i}.py"))).collect();
        let mut all = files.clone();
        all.push(r.join("new.py"));
        let mut j = Journal::begin(&r, "killed", &all).unwrap();
        for f in &files[..3] {
            write_atomic(f, b"changed by the child").unwrap();
        }
        fs::remove_file(&files[3]).unwrap();
        write_atomic(&r.join("new.py"), b"created").unwrap();
        j.record_extra(&r.join("also_new.py")).unwrap();
        fs::write(r.join("also_new.py"), b"created too").unwrap();
        fs::write(r.join("ready"), b"").unwrap();
        std::thread::sleep(Duration::from_secs(120));
        panic!("the parent did not kill this process");
    }

    #[cfg(unix)]
    #[test]
    fn killed_halfway_is_undone() {
        let d = project();
        let r = d.path();
        for i in 0..6 {
            let mut bytes = BINARY.to_vec();
            bytes.push(i);
            fs::write(r.join(format!("f{i}.py")), bytes).unwrap();
        }
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "adapters::store::journal::tests::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, r)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !r.join("ready").exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the child exited early: {status}");
            }
            assert!(Instant::now() < deadline, "the child never got ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        fs::remove_file(r.join("ready")).unwrap();

        assert_eq!(last(r).unwrap().unwrap().state, State::InProgress);
        assert!(Journal::begin(r, "next", &[]).is_err());
        let rep = undo(r, false).unwrap();
        assert!(!rep.was_complete);
        for i in 0..6 {
            let mut bytes = BINARY.to_vec();
            bytes.push(i);
            assert_eq!(fs::read(r.join(format!("f{i}.py"))).unwrap(), bytes, "f{i}");
        }
        assert!(!r.join("new.py").exists());
        assert!(!r.join("also_new.py").exists());
        assert_eq!(rep.restored.len(), 4, "{rep:?}");
        assert_eq!(rep.unchanged.len(), 2, "{rep:?}");
        // Only the project's own files remain, and no temporary files.
        let mut names: Vec<String> = fs::read_dir(r)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".git", "blog", "f0.py", "f1.py", "f2.py", "f3.py", "f4.py", "f5.py"]
        );
    }
}
