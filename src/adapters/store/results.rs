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

use std::fs::Metadata;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::adapters::fs::tree::FsTree;
use crate::adapters::git::{Snapshot, WorktreeTree};
use crate::core::tree::{BlobId, Entry, SourceTree};

/// The directory of result files inside the cache directory.
pub const RESULTS_DIR: &str = "results-v1";

const MAGIC: &[u8; 8] = b"DJMIGRC\0";

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
    stamps: Mutex<Stamps>,
}

/// One stamp per path (paths as bytes); a path stamped twice is kept once,
/// and noted when the two differ. A map rather than a list: a run stamps
/// most files twice (deciding the blob id, then reading), and a list of
/// every stamp, grown by doubling, was the largest thing a cold `check`
/// held besides the project.
#[derive(Debug, Default)]
struct Stamps {
    /// Every path recorded, one after the other: one buffer, not ten
    /// thousand small allocations spread over the threads' heaps.
    paths: Vec<u8>,
    /// By hash of the path: where the path is in `paths`, and its stamp.
    map: rustc_hash::FxHashMap<u64, (u32, u32, Packed)>,
    /// Paths whose hash another path has already.
    others: Vec<(Vec<u8>, Packed)>,
    /// A path stamped two ways: it changed while the run read it.
    changed: bool,
    /// A path the result file cannot hold.
    unusable: bool,
}

impl Stamps {
    fn add(&mut self, path: &[u8], stamp: Packed) {
        use std::hash::BuildHasher;
        self.add_hashed(rustc_hash::FxBuildHasher.hash_one(path), path, stamp);
    }

    fn add_hashed(&mut self, h: u64, path: &[u8], stamp: Packed) {
        let Stamps { paths, map, .. } = self;
        let slot = match map.entry(h) {
            std::collections::hash_map::Entry::Vacant(v) => {
                let start = paths.len() as u32;
                paths.extend_from_slice(path);
                v.insert((start, path.len() as u32, stamp));
                return;
            }
            std::collections::hash_map::Entry::Occupied(o) => *o.get(),
        };
        let (start, len, old) = slot;
        let existing = if &paths[start as usize..(start + len) as usize] == path {
            Some(old)
        } else {
            match self.others.iter().find(|(p, _)| p == path) {
                Some((_, s)) => Some(*s),
                None => {
                    self.others.push((path.to_vec(), stamp));
                    None
                }
            }
        };
        if existing.is_some_and(|e| e != stamp) {
            self.changed = true;
        }
    }

    /// Every path and its stamp.
    fn iter(&self) -> impl Iterator<Item = (&[u8], &Packed)> {
        self.map
            .values()
            .map(|(s, l, p)| (&self.paths[*s as usize..(*s + *l) as usize], p))
            .chain(self.others.iter().map(|(p, s)| (p.as_slice(), s)))
    }
}

/// A [`Stamp`] as the recording holds it: the same data in 56 bytes
/// instead of 72, for ten thousand of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    mtime: i64,
    ctime: i64,
    size: u64,
    ino: u64,
    dev: u64,
    mtime_ns: u32,
    ctime_ns: u32,
    mode: u32,
    /// 0 absent, 1 file, 2 directory, 3 volatile.
    kind: u8,
}

impl Packed {
    fn of(s: Stamp) -> Packed {
        let none = Packed {
            mtime: 0,
            ctime: 0,
            size: 0,
            ino: 0,
            dev: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            mode: 0,
            kind: 0,
        };
        match s {
            Stamp::Absent => none,
            Stamp::File {
                mtime,
                ctime,
                size,
                ino,
                dev,
                mode,
            } => Packed {
                mtime: mtime.0,
                ctime: ctime.0,
                size,
                ino,
                dev,
                mtime_ns: mtime.1,
                ctime_ns: ctime.1,
                mode,
                kind: 1,
            },
            Stamp::Dir {
                mtime,
                ctime,
                ino,
                dev,
            } => Packed {
                mtime: mtime.0,
                ctime: ctime.0,
                ino,
                dev,
                mtime_ns: mtime.1,
                ctime_ns: ctime.1,
                kind: 2,
                ..none
            },
            Stamp::Volatile => Packed { kind: 3, ..none },
        }
    }

    fn stamp(&self) -> Stamp {
        let mtime = (self.mtime, self.mtime_ns);
        let ctime = (self.ctime, self.ctime_ns);
        match self.kind {
            0 => Stamp::Absent,
            1 => Stamp::File {
                mtime,
                ctime,
                size: self.size,
                ino: self.ino,
                dev: self.dev,
                mode: self.mode,
            },
            2 => Stamp::Dir {
                mtime,
                ctime,
                ino: self.ino,
                dev: self.dev,
            },
            _ => Stamp::Volatile,
        }
    }
}

/// Encodes as the [`Stamp`] it holds.
struct AsStamp<'a>(&'a Packed);

impl Serialize for AsStamp<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.stamp().serialize(s)
    }
}

impl Default for Recording {
    fn default() -> Self {
        Self::new()
    }
}

impl Recording {
    /// Start recording; the run's time window starts now.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// [`Recording::new`], with room for about `paths` stamps from the
    /// start (growing a large map holds the old and the new one at once).
    pub fn with_capacity(paths: usize) -> Self {
        let mut stamps = Stamps::default();
        stamps.map.reserve(paths);
        stamps.paths.reserve(paths * 64);
        Recording {
            started: Instant::now(),
            stamps: Mutex::new(stamps),
        }
    }

    fn push(&self, path: PathBuf, stamp: Stamp) {
        let bytes = path_bytes(path);
        let mut s = self.stamps.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = bytes else {
            // Not a path the file can hold: never vouched for.
            s.unusable = true;
            return;
        };
        s.add(&b, Packed::of(stamp));
    }

    /// Everything recorded, one stamp per path; `Err` says why it cannot
    /// vouch for the result.
    fn finish(self) -> Result<Stamps, &'static str> {
        let s = self.stamps.into_inner().unwrap_or_else(|e| e.into_inner());
        if s.changed {
            return Err("a file changed while it was read");
        }
        if s.unusable || s.iter().any(|(_, st)| st.stamp() == Stamp::Volatile) {
            return Err("a symbolic link or special file was read");
        }
        Ok(s)
    }
}

/// A tree whose reads are recorded. A directory listed twice is stamped
/// twice: if it changed in between, the recording says so and nothing is
/// stored (keeping every listing to answer the second time from it cost
/// more memory than listing again).
pub struct Recorder<'a> {
    inner: &'a dyn Stamped,
    rec: &'a Recording,
}

impl<'a> Recorder<'a> {
    pub fn new(inner: &'a dyn Stamped, rec: &'a Recording) -> Self {
        Recorder { inner, rec }
    }

    fn stamp(&self, path: &str) {
        let p = self.inner.disk_path(path);
        let s = Stamp::of(&p);
        self.rec.push(p, s);
    }
}

impl SourceTree for Recorder<'_> {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        let (l, s) = self.inner.list_dir_stamped(dir);
        self.rec.push(self.inner.disk_path(dir), s);
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

/// [`Stored`] without its payload, borrowed: what is written before it
/// (a slice of pairs of references encodes as the list of pairs does).
#[derive(Serialize)]
struct StoredHead<'a> {
    key: String,
    stamps: &'a [(&'a [u8], AsStamp<'a>)],
}

/// A writer that checksums what goes through it.
struct Summed<W: Write> {
    out: W,
    sum: crate::adapters::store::parse_cache::Checksum,
}

impl<W: Write> Write for Summed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A writer that only counts.
struct Counted(usize);

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A result store in a cache directory (`Repo::cache_dir()`).
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    trace: bool,
}

impl ResultCache {
    /// `trace`: say on stderr why each lookup hit or missed (the run's
    /// `DJMIG_TRACE_CACHE`).
    pub fn new(cache_dir: &Path, trace: bool) -> Self {
        ResultCache {
            dir: cache_dir.join(RESULTS_DIR),
            trace,
        }
    }

    fn file(&self, key: &Key) -> PathBuf {
        let h = crate::adapters::store::parse_cache::checksum(key.slot.as_bytes());
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
        let data = match crate::adapters::fs::read::read(
            &self.file(key),
            crate::core::limits::Kind::ResultCache,
        ) {
            Ok(d) => d,
            // A FIFO, a device, a huge file: never read, and replaced by
            // the next answer stored.
            Err(e) if crate::core::limits::refusal(&e).is_some() => {
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
        if crate::adapters::store::parse_cache::checksum(body) != u64::from_le_bytes(s) {
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
        match self.begin(key, rec) {
            Some(pending) => pending.finish(payload),
            None => false,
        }
    }

    /// The first half of [`ResultCache::store`]: what `rec` recorded goes
    /// to a temporary file now, and the recording is let go, before the
    /// answer is made (the most memory a run holds); `None` when it cannot
    /// vouch for a result.
    pub fn begin(&self, key: &Key, rec: Recording) -> Option<Pending<'_>> {
        match self.begin_inner(key, rec) {
            Ok(p) => Some(p),
            Err(why) => {
                self.trace(&format!("not stored: {why}"));
                None
            }
        }
    }

    fn begin_inner(&self, key: &Key, rec: Recording) -> Result<Pending<'_>, String> {
        let started = rec.started;
        let stamps = rec.finish()?;
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let tmp = tempfile::Builder::new()
            .prefix(".result-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| e.to_string())?;
        let file = tmp.as_file().try_clone().map_err(|e| e.to_string())?;
        // Written as it is encoded, checksummed on the way: nothing is held
        // twice. The layout is `Stored`'s: key, stamps, then the payload's
        // length and bytes.
        let mut w = Summed {
            out: io::BufWriter::with_capacity(64 * 1024, file),
            sum: crate::adapters::store::parse_cache::Checksum::new(),
        };
        w.out.write_all(MAGIC).map_err(|e| e.to_string())?;
        let mut sorted: Vec<(&[u8], AsStamp)> =
            stamps.iter().map(|(p, s)| (p, AsStamp(s))).collect();
        sorted.sort_unstable_by_key(|e| e.0);
        let head = StoredHead {
            key: key.full(),
            stamps: &sorted,
        };
        postcard::to_io(&head, &mut w).map_err(|e| e.to_string())?;
        let newest = stamps.iter().filter_map(|(_, s)| s.stamp().newest()).max();
        Ok(Pending {
            cache: self,
            file: self.file(key),
            tmp,
            w,
            started,
            newest,
        })
    }
}

/// A result file half written: the stamps are in, the answer is not.
/// Dropped unfinished, the temporary file goes.
pub struct Pending<'a> {
    cache: &'a ResultCache,
    file: PathBuf,
    tmp: tempfile::NamedTempFile,
    w: Summed<io::BufWriter<std::fs::File>>,
    started: Instant,
    /// The newest mtime or ctime among the stamps.
    newest: Option<(i64, u32)>,
}

impl Pending<'_> {
    /// Write the answer and put the file in place, unless a stamp is too
    /// recent to vouch for it. Returns whether it was stored.
    pub fn finish<T: Serialize>(self, payload: &T) -> bool {
        let cache = self.cache;
        match self.finish_inner(payload) {
            Ok(()) => {
                cache.trace("stored");
                true
            }
            Err(why) => {
                cache.trace(&format!("not stored: {why}"));
                false
            }
        }
    }

    fn finish_inner<T: Serialize>(mut self, payload: &T) -> Result<(), String> {
        // The payload's length first: encoded once to count, once to write.
        let mut count = Counted(0);
        postcard::to_io(payload, &mut count).map_err(|e| e.to_string())?;
        postcard::to_io(&count.0, &mut self.w).map_err(|e| e.to_string())?;
        postcard::to_io(payload, &mut self.w).map_err(|e| e.to_string())?;
        let Summed { mut out, sum } = self.w;
        out.write_all(&sum.finish().to_le_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| e.to_string())?;
        drop(out);
        // The file system's clock, as the stamps have it: anything stamped
        // within this run's window (plus a tick) may change again with
        // equal stat data.
        let written = self
            .tmp
            .as_file()
            .metadata()
            .and_then(|m| m.modified())
            .map_err(|e| e.to_string())?;
        let limit = racy_limit(written, self.started.elapsed())
            .ok_or("the file system's clock is before 1970")?;
        if self.newest.is_some_and(|t| t >= limit) {
            return Err("a file read changed too recently to be vouched for (racy)".into());
        }
        self.tmp
            .persist(&self.file)
            .map_err(|e| e.error.to_string())?;
        let dir = &self.cache.dir;
        crate::adapters::store::parse_cache::remove_stale_temporaries(dir, ".result-");
        keep_newest(dir, MAX_FILES, &self.file);
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
        crate::adapters::store::parse_cache::parser_fingerprint().0
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
    fn a_packed_stamp_is_the_stamp() {
        for s in [
            Stamp::Absent,
            Stamp::Volatile,
            Stamp::File {
                mtime: (-5, 7),
                ctime: (1 << 40, 999_999_999),
                size: u64::MAX,
                ino: 3,
                dev: 4,
                mode: 0o100644,
            },
            Stamp::Dir {
                mtime: (1, 2),
                ctime: (3, 4),
                ino: 5,
                dev: 6,
            },
        ] {
            assert_eq!(Packed::of(s).stamp(), s);
            assert_eq!(
                postcard::to_stdvec(&AsStamp(&Packed::of(s))).unwrap(),
                postcard::to_stdvec(&s).unwrap()
            );
        }
        assert_eq!(std::mem::size_of::<Packed>(), 56);
    }

    /// Two paths with one hash are both kept, each checked on its own.
    #[test]
    fn paths_sharing_a_hash_are_kept_apart() {
        let (a, b) = (Packed::of(Stamp::Absent), Packed::of(Stamp::Volatile));
        let mut s = Stamps::default();
        s.add_hashed(7, b"/p/one.py", a);
        s.add_hashed(7, b"/p/two.py", b);
        s.add_hashed(7, b"/p/two.py", b);
        s.add_hashed(7, b"/p/one.py", a);
        assert!(!s.changed);
        let mut all: Vec<(&[u8], Stamp)> = s.iter().map(|(p, st)| (p, st.stamp())).collect();
        all.sort_by_key(|e| e.0);
        assert_eq!(
            all,
            [
                (b"/p/one.py".as_slice(), Stamp::Absent),
                (b"/p/two.py".as_slice(), Stamp::Volatile)
            ]
        );
        s.add_hashed(7, b"/p/two.py", a);
        assert!(s.changed);
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
        let all: Vec<(&[u8], Stamp)> = v.iter().map(|(p, s)| (p, s.stamp())).collect();
        assert_eq!(all.len(), 2);
        assert!(all.contains(&(b"/p/a.py".as_slice(), Stamp::Absent)));
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
        let store = ResultCache::new(&d.path().join("cache"), false);
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
