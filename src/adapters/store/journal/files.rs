//! What a path holds now (absent, a file with its blob id and mode, a
//! link, something else), and the path arithmetic the journal relies on.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::adapters::git::blob_hex;
use crate::error::{Error, Result};

/// `NAME`, or `NAME-2`, `NAME-3`, … : a directory that did not exist.
pub(super) fn fresh_dir(parent: &Path, name: &str) -> Result<PathBuf> {
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

/// The state of a path now.
pub(super) enum Current {
    Absent,
    File { blob: String, mode: Option<u32> },
    Symlink { blob: String },
    Dir,
    Other,
}

impl Current {
    /// As recorded in `Entry::after`.
    pub(super) fn id(&self) -> String {
        match self {
            Current::Absent => "absent".into(),
            Current::File { blob, .. } | Current::Symlink { blob } => blob.clone(),
            Current::Dir | Current::Other => "other".into(),
        }
    }
}

pub(super) fn current_state(path: &Path) -> io::Result<Current> {
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
            crate::core::limits::Kind::Migration,
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
pub(super) fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    Ok(fs::read_link(path)?.as_os_str().as_bytes().to_vec())
}

#[cfg(not(unix))]
pub(super) fn link_bytes(path: &Path) -> io::Result<Vec<u8>> {
    fs::read(path)
}

/// The names of the non-directory entries of `dir` (none if it is missing).
pub(super) fn list_files(dir: &Path) -> io::Result<BTreeSet<String>> {
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
pub(super) fn canonical_dir(p: &Path) -> PathBuf {
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
pub(super) fn normalize(p: &Path) -> PathBuf {
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

pub(super) fn rel_string(p: &Path) -> Option<String> {
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
pub(super) fn checked_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(Error::failed(format!(
            "the journal manifest names {rel:?}, which is not inside the project"
        )));
    }
    Ok(p.to_path_buf())
}
