//! Durable file writes: atomic replacement (temporary file, fsync, rename),
//! the temporaries a killed write leaves, and durable removal.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn remove_logged(path: &Path) -> io::Result<()> {
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

/// Write `bytes` to `path` atomically: a temporary file in the same
/// directory, fsynced, then renamed over `path` (and the directory fsynced).
/// An existing file's permissions are kept; a new file gets the usual
/// permissions (umask applied).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, None)
}

/// [`write_atomic`] with the permission bits to give the file (unix); `None`
/// keeps the existing file's.
pub(super) fn write_atomic_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
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
pub(super) fn temporaries_of(path: &Path) -> Vec<PathBuf> {
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
pub(super) fn temp_name(path: &Path) -> PathBuf {
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

pub(super) fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (N.fetch_add(1, Ordering::Relaxed) << 32) | nanos
}

/// Create a new file with `bytes` and fsync it.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Make a directory's entries (a rename, a new file) durable. Best effort:
/// not every platform can open a directory.
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::journal::tests::mode;

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
}
