//! The manifest: what a journal recorded and where it stands, as JSON in
//! `manifest.json`, read and written whole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::effects::{DatabaseRecord, EffectRecord};
use crate::error::{Error, Result};

/// The manifest format version.
pub(super) const MANIFEST_VERSION: u32 = 2;
pub(super) const MANIFEST: &str = "manifest.json";
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
    pub(super) version: u32,
    pub(super) description: String,
    /// RFC 3339, UTC.
    pub(super) started: String,
    #[serde(default)]
    pub(super) finished: Option<String>,
    #[serde(default)]
    pub(super) undone: Option<String>,
    pub(super) state: State,
    /// What `path`s are relative to: the git work-tree top, else the root.
    pub(super) base: PathBuf,
    pub(super) pid: u32,
    pub(super) djmig_version: String,
    pub(super) files: Vec<Entry>,
    #[serde(default)]
    pub(super) watched_dirs: Vec<WatchedDir>,
    /// Side effects besides files (git, the local database), in order.
    #[serde(default)]
    pub(super) effects: Vec<EffectRecord>,
    /// The local database before the resolution.
    #[serde(default)]
    pub(super) database: Option<DatabaseRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Entry {
    /// Relative to the base, '/'-separated.
    pub(super) path: String,
    pub(super) existed: bool,
    /// The original was a symbolic link; its backup holds the target.
    #[serde(default)]
    pub(super) symlink: bool,
    /// git's blob id of the original bytes (of the link target for a link).
    #[serde(default)]
    pub(super) blob: Option<String>,
    #[serde(default)]
    pub(super) size: Option<u64>,
    /// The backup, relative to the journal directory.
    #[serde(default)]
    pub(super) backup: Option<String>,
    /// Permission bits of the original (unix).
    #[serde(default)]
    pub(super) mode: Option<u32>,
    /// Directories (relative, deepest first) that did not exist either;
    /// undo removes them when they are empty.
    #[serde(default)]
    pub(super) missing_dirs: Vec<String>,
    /// The state at `finish`: a blob id, or "absent".
    #[serde(default)]
    pub(super) after: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct WatchedDir {
    pub(super) path: String,
    /// The names of the non-directory entries when it was watched.
    pub(super) entries: BTreeSet<String>,
}

pub(super) fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let bytes = crate::adapters::fs::read::read(&path, crate::core::limits::Kind::Journal)
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

pub(super) fn write_manifest(dir: &Path, m: &Manifest) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(m)
        .map_err(|e| Error::failed("cannot encode the journal manifest").cause(e))?;
    bytes.push(b'\n');
    let path = dir.join(MANIFEST);
    write_atomic(&path, &bytes)
        .map_err(|e| Error::failed(format!("cannot write {}", path.display())).cause(e))
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub(super) fn now_rfc3339() -> String {
    crate::core::dates::rfc3339(crate::core::dates::now_secs())
}
