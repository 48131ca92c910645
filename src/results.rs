//! The result cache: what a whole read of the project gave (the report of
//! `check`, or of `check --base`), kept under `<git common dir>/djmig/` and
//! reused while nothing that read looked at has changed.
//!
//! A run records every file and directory it reads on disk (the work tree,
//! the virtualenv's site-packages) with its `lstat` data — size, mtime,
//! ctime, inode, device, mode — as `git status` trusts the index. The next
//! run with the same key takes the stored result only if every recorded
//! path still stats the same: a changed, added, removed or renamed file
//! changes its own stat data or its directory's. Git revisions are part of
//! the key by commit id, so they need no stat at all.
//!
//! Nothing doubtful is stored: a symbolic link or special file read, a path
//! that stated differently twice in one run, or a stat whose mtime or ctime
//! is within the run's own time window (the "racily clean" case: a change
//! in the same clock tick would leave the stat data equal) leaves the cache
//! unwritten, so the next run reads everything again. Files are versioned,
//! carry their full key and a checksum, and are replaced atomically; a bad
//! one is ignored.

use std::collections::HashMap;
use std::fs::Metadata;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::core::tree::{BlobId, Entry, SourceTree};
use crate::fs_tree::FsTree;
use crate::git::{Snapshot, WorktreeTree};

/// The directory of result files inside the cache directory.
pub const RESULTS_DIR: &str = "results-v1";

const MAGIC: &[u8; 8] = b"DJMIGRC\0";

/// Set to print what the result cache did (`hit`, `miss`, `stored`, or why
/// nothing was stored) on stderr.
pub const TRACE_ENV: &str = "DJMIG_TRACE_CACHE";

/// A path's `lstat` data, as far as it vouches for what was read there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stamp {
    Absent,
    File {
        mtime: (i64, u32),
        ctime: (i64, u32),
        size: u64,
        ino: u64,
        dev: u64,
        mode: u32,
    },
    Dir {
        mtime: (i64, u32),
        ctime: (i64, u32),
        ino: u64,
        dev: u64,
    },
    /// Stat data cannot vouch for it: a symbolic link (its target may
    /// change), a special file, an unreadable path.
    Volatile,
}

impl Stamp {
    /// `lstat` of a path.
    pub fn of(path: &Path) -> Stamp {
        Stamp::from_metadata(std::fs::symlink_metadata(path))
    }

    /// A stamp from `lstat`'s answer.
    #[cfg(unix)]
    pub fn from_metadata(md: io::Result<Metadata>) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        let md = match md {
            Ok(m) => m,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.kind() == io::ErrorKind::NotADirectory =>
            {
                return Stamp::Absent
            }
            Err(_) => return Stamp::Volatile,
        };
        let mtime = (md.mtime(), md.mtime_nsec() as u32);
        let ctime = (md.ctime(), md.ctime_nsec() as u32);
        let ft = md.file_type();
        if ft.is_file() {
            Stamp::File {
                mtime,
                ctime,
                size: md.size(),
                ino: md.ino(),
                dev: md.dev(),
                mode: md.mode(),
            }
        } else if ft.is_dir() {
            Stamp::Dir {
                mtime,
                ctime,
                ino: md.ino(),
                dev: md.dev(),
            }
        } else {
            Stamp::Volatile
        }
    }

    /// Without inode numbers and ctimes nothing can be vouched for.
    #[cfg(not(unix))]
    pub fn from_metadata(_md: io::Result<Metadata>) -> Stamp {
        Stamp::Volatile
    }

    /// The newest of mtime and ctime, when there is one.
    fn newest(&self) -> Option<(i64, u32)> {
        match self {
            Stamp::File { mtime, ctime, .. } | Stamp::Dir { mtime, ctime, .. } => {
                Some(*mtime.max(ctime))
            }
            _ => None,
        }
    }
}

/// A tree on disk whose reads can be stamped.
pub trait Stamped: Snapshot {
    /// Where a tree-relative path is on disk.
    fn disk_path(&self, path: &str) -> PathBuf;

    /// The blob id (when known without reading) and the stat data it was
    /// decided from.
    fn blob_id_stamped(&self, path: &str) -> (Option<BlobId>, Stamp) {
        let s = Stamp::of(&self.disk_path(path));
        (self.blob_id(path), s)
    }

    /// The listing and the directory's stat data, taken first; `Volatile`
    /// when the listing depends on where a symbolic link points.
    fn list_dir_stamped(&self, dir: &str) -> (Option<Vec<Entry>>, Stamp);
}

impl Stamped for FsTree {
    fn disk_path(&self, path: &str) -> PathBuf {
        self.disk_path(path)
    }

    fn list_dir_stamped(&self, dir: &str) -> (Option<Vec<Entry>>, Stamp) {
        let s = Stamp::of(&self.disk_path(dir));
        match self.list_dir_links(dir) {
            Some((entries, false)) => (Some(entries), s),
            Some((entries, true)) => (Some(entries), Stamp::Volatile),
            None => (None, s),
        }
    }
}

impl Stamped for WorktreeTree {
    fn disk_path(&self, path: &str) -> PathBuf {
        self.fs().disk_path(path)
    }

    /// One `lstat` decides both, as `git status` does.
    fn blob_id_stamped(&self, path: &str) -> (Option<BlobId>, Stamp) {
        let md = std::fs::symlink_metadata(self.fs().disk_path(path));
        let id = md.as_ref().ok().and_then(|m| self.index_blob_with(path, m));
        (id, Stamp::from_metadata(md))
    }

    fn list_dir_stamped(&self, dir: &str) -> (Option<Vec<Entry>>, Stamp) {
        self.fs().list_dir_stamped(dir)
    }
}

/// What one run read on disk.
#[derive(Debug)]
pub struct Recording {
    started: Instant,
    /// Paths as bytes: sorted and compared as such, not by component.
    stamps: Mutex<Vec<(Vec<u8>, Stamp)>>,
}

impl Default for Recording {
    fn default() -> Self {
        Self::new()
    }
}

impl Recording {
    /// Start recording; the run's time window starts now.
    pub fn new() -> Self {
        Recording {
            started: Instant::now(),
            stamps: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, path: PathBuf, stamp: Stamp) {
        let entry = match path_bytes(path) {
            Some(b) => (b, stamp),
            // Not a path the file can hold: never vouched for.
            None => (Vec::new(), Stamp::Volatile),
        };
        self.stamps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }

    /// Everything recorded, one stamp per path; `Err` says why it cannot
    /// vouch for the result.
    fn finish(self) -> Result<Vec<(Vec<u8>, Stamp)>, &'static str> {
        let mut v = self.stamps.into_inner().unwrap_or_else(|e| e.into_inner());
        v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        v.dedup();
        if v.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("a file changed while it was read");
        }
        if v.iter().any(|(_, s)| *s == Stamp::Volatile) {
            return Err("a symbolic link or special file was read");
        }
        Ok(v)
    }
}

/// A tree whose reads are recorded. Each directory is listed (and
/// stamped) once: a run reads one snapshot.
pub struct Recorder<'a> {
    inner: &'a dyn Stamped,
    rec: &'a Recording,
    listings: Mutex<HashMap<String, Option<Vec<Entry>>>>,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn Stamped, rec: &'a Recording) -> Self {
        Recorder {
            inner,
            rec,
            listings: Mutex::new(HashMap::new()),
        }
    }

    fn stamp(&self, path: &str) {
        let p = self.inner.disk_path(path);
        let s = Stamp::of(&p);
        self.rec.push(p, s);
    }
}

impl SourceTree for Recorder<'_> {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        let seen = |m: &HashMap<String, Option<Vec<Entry>>>| m.get(dir).cloned();
        if let Some(l) = seen(&self.listings.lock().unwrap_or_else(|e| e.into_inner())) {
            return l;
        }
        let (l, s) = self.inner.list_dir_stamped(dir);
        self.rec.push(self.inner.disk_path(dir), s);
        self.listings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_string(), l.clone());
        l
    }
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.stamp(path);
        self.inner.read(path)
    }
    fn blob_id(&self, path: &str) -> Option<BlobId> {
        let (id, s) = self.inner.blob_id_stamped(path);
        self.rec.push(self.inner.disk_path(path), s);
        id
    }
    fn is_file(&self, path: &str) -> bool {
        self.stamp(path);
        self.inner.is_file(path)
    }
    fn problems(&self) -> Vec<crate::core::tree::Problem> {
        self.inner.problems()
    }
    fn is_dir(&self, path: &str) -> bool {
        self.stamp(path);
        self.inner.is_dir(path)
    }
}

impl Snapshot for Recorder<'_> {
    fn dir_id(&self, dir: &str) -> Option<BlobId> {
        self.inner.dir_id(dir)
    }
}

/// What a stored result answers. `slot` names the file: one question
/// (work tree or comparison, apps, configuration…) keeps one answer, the
/// latest, so the directory stays small however many commits are
/// compared; `exact` (commit ids) must match as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub slot: String,
    pub exact: String,
}

impl Key {
    fn full(&self) -> String {
        format!("{}\n{}", self.slot, self.exact)
    }
}

/// At most this many result files are kept; the oldest go first.
pub const MAX_FILES: usize = 16;

/// The stored form.
#[derive(Serialize, Deserialize)]
struct Stored {
    key: String,
    stamps: Vec<(Vec<u8>, Stamp)>,
    payload: Vec<u8>,
}

/// A result store in a cache directory (`Repo::cache_dir()`).
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    trace: bool,
}

impl ResultCache {
    pub fn new(cache_dir: &Path) -> Self {
        ResultCache {
            dir: cache_dir.join(RESULTS_DIR),
            trace: std::env::var_os(TRACE_ENV).is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }

    fn file(&self, key: &Key) -> PathBuf {
        let h = crate::cache::checksum(key.slot.as_bytes());
        self.dir.join(format!("{h:016x}.bin"))
    }

    fn trace(&self, what: &str) {
        if self.trace {
            eprintln!("djmig: result cache: {what}");
        }
    }

    /// The stored result for `key`, if every path it read stats the same.
    pub fn load<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        let got = self.load_inner(key);
        self.trace(match &got {
            Ok(_) => "hit",
            Err(why) => why,
        });
        got.ok()
    }

    fn load_inner<T: DeserializeOwned>(&self, key: &Key) -> Result<T, &'static str> {
        let data = match crate::limits::read(&self.file(key), crate::limits::Kind::ResultCache) {
            Ok(d) => d,
            // A FIFO, a device, a huge file: never read, and replaced by
            // the next answer stored.
            Err(e) if crate::limits::refusal(&e).is_some() => {
                return Err("miss (not a regular file of a sane size)")
            }
            Err(_) => return Err("miss (nothing stored)"),
        };
        let body = data
            .strip_prefix(MAGIC.as_slice())
            .filter(|b| b.len() >= 8)
            .ok_or("miss (not a result file)")?;
        let (body, sum) = body.split_at(body.len() - 8);
        let mut s = [0u8; 8];
        s.copy_from_slice(sum);
        if crate::cache::checksum(body) != u64::from_le_bytes(s) {
            return Err("miss (bad checksum)");
        }
        let stored: Stored = postcard::from_bytes(body).map_err(|_| "miss (undecodable)")?;
        if stored.key != key.full() {
            return Err("miss (another question or revision)");
        }
        let same = stored
            .stamps
            .par_iter()
            .all(|(p, s)| path_of(p).is_some_and(|p| Stamp::of(&p) == *s));
        if !same {
            return Err("miss (files changed)");
        }
        postcard::from_bytes(&stored.payload).map_err(|_| "miss (undecodable result)")
    }

    /// Store `payload` for `key` with what `rec` recorded, unless the
    /// recording cannot vouch for it. Returns whether it was stored.
    pub fn store<T: Serialize>(&self, key: &Key, rec: Recording, payload: &T) -> bool {
        match self.store_inner(key, rec, payload) {
            Ok(()) => {
                self.trace("stored");
                true
            }
            Err(why) => {
                self.trace(&format!("not stored: {why}"));
                false
            }
        }
    }

    fn store_inner<T: Serialize>(
        &self,
        key: &Key,
        rec: Recording,
        payload: &T,
    ) -> Result<(), String> {
        let started = rec.started;
        let stamps = rec.finish()?;
        // Buffers sized up front: growing them by doubling costs more than
        // encoding.
        let guess: usize = stamps.iter().map(|(p, _)| p.len() + 48).sum();
        let payload =
            postcard::to_extend(payload, Vec::with_capacity(guess)).map_err(|e| e.to_string())?;
        let stored = Stored {
            key: key.full(),
            stamps,
            payload,
        };
        let mut out = Vec::with_capacity(guess * 2 + stored.payload.len() + 1024);
        out.extend_from_slice(MAGIC);
        out = postcard::to_extend(&stored, out).map_err(|e| e.to_string())?;
        let sum = crate::cache::checksum(&out[MAGIC.len()..]);
        out.extend_from_slice(&sum.to_le_bytes());

        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".result-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| e.to_string())?;
        tmp.write_all(&out).map_err(|e| e.to_string())?;
        // The file system's clock, as the stamps have it: anything stamped
        // within this run's window (plus a tick) may change again with
        // equal stat data.
        let written = tmp
            .as_file()
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| e.to_string())?;
        let limit = racy_limit(written, started.elapsed())
            .ok_or("the file system's clock is before 1970")?;
        if stored
            .stamps
            .iter()
            .any(|(_, s)| s.newest().is_some_and(|t| t >= limit))
        {
            return Err("a file read changed too recently to be vouched for (racy)".into());
        }
        tmp.persist(self.file(key))
            .map_err(|e| e.error.to_string())?;
        crate::cache::remove_stale_temporaries(&self.dir, ".result-");
        keep_newest(&self.dir, MAX_FILES, &self.file(key));
        Ok(())
    }
}

/// Stamps at or after this (seconds, nanoseconds) are racy: the run's
/// length before `written`, plus a clock tick — two seconds on a file
/// system that keeps whole seconds only (FAT keeps even ones).
fn racy_limit(written: SystemTime, run: Duration) -> Option<(i64, u32)> {
    let d = written.duration_since(UNIX_EPOCH).ok()?;
    let tick = if d.subsec_nanos() == 0 {
        Duration::from_secs(2)
    } else {
        Duration::from_millis(50)
    };
    let t = d.checked_sub(run + tick).unwrap_or_default();
    Some((t.as_secs() as i64, t.subsec_nanos()))
}

#[cfg(unix)]
fn path_bytes(p: PathBuf) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    Some(p.into_os_string().into_vec())
}

#[cfg(not(unix))]
fn path_bytes(p: PathBuf) -> Option<Vec<u8>> {
    p.into_os_string()
        .into_string()
        .ok()
        .map(String::into_bytes)
}

#[cfg(unix)]
fn path_of(b: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
}

#[cfg(not(unix))]
fn path_of(b: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(b).ok().map(PathBuf::from)
}

/// Remove all but the `keep` newest result files, `written` always kept.
fn keep_newest(dir: &Path, keep: usize, written: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(SystemTime, PathBuf)> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
        .filter(|e| e.path() != written)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    let keep = keep.saturating_sub(1);
    if files.len() <= keep {
        return;
    }
    files.sort();
    for (_, p) in &files[..files.len() - keep] {
        let _ = std::fs::remove_file(p);
    }
}

/// The part of every key that names this build and its parser: a rebuilt
/// binary never trusts an older one's results.
pub fn build_key() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(&p).ok().map(|m| (p, m)))
        .map(|(p, m)| {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{} {} {t}", p.display(), m.len())
        })
        .unwrap_or_default();
    format!(
        "djmig {} parser {:016x} exe {exe}",
        env!("CARGO_PKG_VERSION"),
        crate::cache::parser_fingerprint().0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racy_limit_is_the_run_plus_a_tick_before_the_write() {
        let at = |s: u64, ns: u32| UNIX_EPOCH + Duration::new(s, ns);
        // Nanosecond clocks: 50 ms of tick.
        assert_eq!(
            racy_limit(at(1000, 500_000_000), Duration::from_millis(100)),
            Some((1000, 350_000_000))
        );
        // Whole seconds only: two seconds of tick.
        assert_eq!(
            racy_limit(at(1000, 0), Duration::from_millis(100)),
            Some((997, 900_000_000))
        );
    }

    #[cfg(unix)]
    #[test]
    fn stamps_tell_files_directories_links_and_nothing_apart() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f.py");
        std::fs::write(&f, "x = 1\n").unwrap();
        std::os::unix::fs::symlink(&f, d.path().join("l.py")).unwrap();
        assert!(matches!(Stamp::of(&f), Stamp::File { size: 6, .. }));
        assert!(matches!(Stamp::of(d.path()), Stamp::Dir { .. }));
        assert_eq!(Stamp::of(&d.path().join("l.py")), Stamp::Volatile);
        assert_eq!(Stamp::of(&d.path().join("none.py")), Stamp::Absent);
        // Below a file: not a directory, so absent too.
        assert_eq!(Stamp::of(&f.join("below")), Stamp::Absent);
    }

    #[test]
    fn a_recording_cannot_vouch_for_a_path_stamped_two_ways() {
        let rec = Recording::new();
        rec.push(PathBuf::from("/p/a.py"), Stamp::Absent);
        rec.push(PathBuf::from("/p/a.py"), Stamp::Absent);
        rec.push(PathBuf::from("/p"), Stamp::Volatile);
        assert_eq!(
            rec.finish().unwrap_err(),
            "a symbolic link or special file was read"
        );
        let rec = Recording::new();
        rec.push(PathBuf::from("/p/a.py"), Stamp::Absent);
        rec.push(
            PathBuf::from("/p/a.py"),
            Stamp::Dir {
                mtime: (1, 0),
                ctime: (1, 0),
                ino: 1,
                dev: 1,
            },
        );
        assert_eq!(
            rec.finish().unwrap_err(),
            "a file changed while it was read"
        );
        let rec = Recording::new();
        rec.push(PathBuf::from("/p/b.py"), Stamp::Absent);
        rec.push(PathBuf::from("/p/a.py"), Stamp::Absent);
        rec.push(PathBuf::from("/p/b.py"), Stamp::Absent);
        let v = rec.finish().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].0, b"/p/a.py");
    }

    #[test]
    fn a_result_is_only_taken_for_its_own_key_and_unchanged_files() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f.py");
        std::fs::write(&f, "x = 1\n").unwrap();
        // Old enough not to be racy.
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .and_then(|h| h.set_modified(old))
            .unwrap();
        std::thread::sleep(Duration::from_millis(120));
        let store = ResultCache::new(&d.path().join("cache"));
        let key = |slot: &str, exact: &str| Key {
            slot: slot.into(),
            exact: exact.into(),
        };
        let stored = |k: &Key| {
            let rec = Recording::new();
            rec.push(f.clone(), Stamp::of(&f));
            store.store(k, rec, &vec![1u32, 2, 3])
        };
        assert!(stored(&key("k", "1")));
        assert_eq!(store.load::<Vec<u32>>(&key("k", "1")), Some(vec![1, 2, 3]));
        assert_eq!(store.load::<Vec<u32>>(&key("k", "2")), None);
        assert_eq!(store.load::<Vec<u32>>(&key("other", "1")), None);
        // One file per slot, and no more than MAX_FILES of them.
        assert!(stored(&key("k", "2")));
        assert_eq!(store.load::<Vec<u32>>(&key("k", "1")), None);
        for i in 0..MAX_FILES + 3 {
            assert!(stored(&key(&format!("slot {i}"), "")));
        }
        let files = std::fs::read_dir(d.path().join("cache").join(RESULTS_DIR))
            .unwrap()
            .count();
        assert_eq!(files, MAX_FILES);
        let last = key(&format!("slot {}", MAX_FILES + 2), "");
        assert_eq!(store.load::<Vec<u32>>(&last), Some(vec![1, 2, 3]));
        std::fs::remove_file(&f).unwrap();
        assert_eq!(store.load::<Vec<u32>>(&last), None);
    }
}
