//! A parse cache keyed by git blob id: a file's parse is reused across the
//! trees and revisions read in one run, and across runs through a file
//! under the repository's git directory (`<common dir>/djmig/`).
//!
//! The file is only ever trusted whole: a versioned header (format, djmig's
//! version, and a fingerprint of the parser's output on a sample) and a
//! checksum trailer. A truncated, corrupt or foreign file is ignored and
//! rebuilt. It is written at the end of a run, only when something was
//! added, to a temporary file in the same directory that is then renamed
//! over the old one: concurrent runs never see a torn file (the last rename
//! wins). Entries are decoded only when looked up.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::adapters::git::hash_blob;
use crate::core::load::MigrationReader;
use crate::core::pyparse::{parse_migration, parse_migration_graph, ParsedMigration};
use crate::core::tree::{BlobId, SourceTree};

mod checksum;
mod encoding;

pub(crate) use checksum::{checksum, Checksum};
pub(crate) use encoding::parser_fingerprint;
use encoding::{decode, index, write_file};

/// The cache file's name in the cache directory.
pub const CACHE_FILE: &str = "parse-cache-v1.bin";

/// Past this many entries, those not used in the run are dropped on save.
pub const MAX_ENTRIES: usize = 200_000;

/// The cache file in a cache directory (`Repo::cache_dir()`).
pub fn cache_file(cache_dir: &Path) -> PathBuf {
    cache_dir.join(CACHE_FILE)
}

/// Blob ids are uniformly distributed: their first bytes are the hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if bytes.len() >= 8 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[..8]);
            self.0 ^= u64::from_le_bytes(w);
        } else {
            for b in bytes {
                self.0 = self.0.rotate_left(8) ^ u64::from(*b);
            }
        }
    }
}

/// How much of a module is parsed; each is cached apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseMode {
    /// What the graph needs ([`parse_migration_graph`]), as
    /// [`crate::core::load::PlainReader`] reads.
    Graph = 0,
    /// Operations included ([`parse_migration`]).
    Full = 1,
}

impl ParseMode {
    fn parse(self, src: &[u8]) -> ParsedMigration {
        match self {
            ParseMode::Graph => parse_migration_graph(src),
            ParseMode::Full => parse_migration(src),
        }
    }
}

/// A blob id and the parse mode.
type Key = [u8; 21];

fn key(id: &BlobId, mode: ParseMode) -> Key {
    let mut k = [0u8; 21];
    k[..20].copy_from_slice(id);
    k[20] = mode as u8;
    k
}

type IdMap<V> = HashMap<Key, V, BuildHasherDefault<IdHasher>>;

struct Loaded {
    start: usize,
    len: usize,
    parsed: OnceLock<Option<Arc<ParsedMigration>>>,
    used: AtomicBool,
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries read from the cache file.
    pub loaded: usize,
    /// Parses answered from the cache (file or this run).
    pub hits: u64,
    /// Files parsed.
    pub misses: u64,
}

/// What [`CachingReader::save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Nothing new, or no file to write to: nothing written.
    Unchanged,
    /// The file was written with this many entries.
    Written(usize),
}

/// A [`MigrationReader`] that parses each distinct file content once.
///
/// Lookups go by [`SourceTree::blob_id`] when the tree knows it (git trees,
/// unchanged work-tree files), else by git's blob hash of the bytes read.
pub struct CachingReader {
    file: Option<PathBuf>,
    data: Vec<u8>,
    loaded: IdMap<Loaded>,
    fresh: RwLock<IdMap<Arc<ParsedMigration>>>,
    /// Whether entries survive an encode/decode round trip, so the file can
    /// be used at all.
    persist: bool,
    fingerprint: u64,
    /// The file on disk was unusable: rewrite it even if nothing is new.
    rewrite: bool,
    /// The mode [`MigrationReader::parse`] parses in.
    mode: ParseMode,
    ignored: Option<String>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for CachingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingReader")
            .field("file", &self.file)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for CachingReader {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl CachingReader {
    /// A cache for this run only.
    pub fn in_memory() -> Self {
        let (fingerprint, persist) = parser_fingerprint();
        CachingReader {
            file: None,
            data: Vec::new(),
            loaded: IdMap::default(),
            fresh: RwLock::new(IdMap::default()),
            persist,
            fingerprint,
            rewrite: false,
            mode: ParseMode::Graph,
            ignored: None,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache backed by `file` (read now if it exists and is valid;
    /// written by [`CachingReader::save`]).
    pub fn open(file: impl Into<PathBuf>) -> Self {
        let mut c = Self::in_memory();
        let file = file.into();
        if !c.persist {
            c.ignored = Some(
                "parse results do not survive encoding in this build; caching in memory only"
                    .into(),
            );
        } else {
            match crate::adapters::fs::read::read(&file, crate::core::limits::Kind::ParseCache) {
                Ok(data) => match index(&data, c.fingerprint) {
                    Ok(entries) => {
                        c.loaded = entries;
                        c.data = data;
                    }
                    Err(why) => {
                        c.rewrite = true;
                        c.ignored = Some(why);
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => c.ignored = Some(format!("cannot read it: {e}")),
            }
        }
        c.file = Some(file);
        c
    }

    /// Make [`MigrationReader::parse`] parse in this mode (by default
    /// [`ParseMode::Graph`], as [`crate::core::load::PlainReader`]).
    #[cfg(test)]
    pub fn with_mode(mut self, mode: ParseMode) -> Self {
        self.mode = mode;
        self
    }

    /// Why the cache file was not used, when it existed but was not.
    #[cfg(test)]
    pub fn ignored_because(&self) -> Option<&str> {
        self.ignored.as_deref()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            loaded: self.loaded.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The parse of a blob, if cached.
    pub fn get(&self, id: &BlobId, mode: ParseMode) -> Option<Arc<ParsedMigration>> {
        let k = key(id, mode);
        if let Some(slot) = self.loaded.get(&k) {
            let parsed = slot.parsed.get_or_init(|| {
                decode(&self.data[slot.start..slot.start + slot.len]).map(Arc::new)
            });
            if let Some(p) = parsed {
                slot.used.store(true, Ordering::Relaxed);
                return Some(p.clone());
            }
        }
        self.fresh
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&k)
            .cloned()
    }

    /// Record the parse of a blob.
    pub fn insert(&self, id: &BlobId, mode: ParseMode, parsed: Arc<ParsedMigration>) {
        let k = key(id, mode);
        if self.loaded.get(&k).is_some_and(|s| {
            s.used.store(true, Ordering::Relaxed);
            s.parsed.get().is_some_and(Option::is_some)
        }) {
            return;
        }
        self.fresh
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(k, parsed);
    }

    fn hit(&self, p: Arc<ParsedMigration>) -> Arc<ParsedMigration> {
        self.hits.fetch_add(1, Ordering::Relaxed);
        p
    }

    /// Write the cache file if entries were added (or the file on disk was
    /// unusable): atomically, through a temporary file and a rename.
    pub fn save(&self) -> io::Result<SaveOutcome> {
        self.save_limited(MAX_ENTRIES)
    }

    /// [`CachingReader::save`] with another bound on the entries kept.
    pub fn save_limited(&self, max_entries: usize) -> io::Result<SaveOutcome> {
        let Some(file) = &self.file else {
            return Ok(SaveOutcome::Unchanged);
        };
        if !self.persist {
            return Ok(SaveOutcome::Unchanged);
        }
        let fresh = self.fresh.read().unwrap_or_else(|e| e.into_inner());
        if fresh.is_empty() && !self.rewrite {
            return Ok(SaveOutcome::Unchanged);
        }
        let prune = self.loaded.len() + fresh.len() > max_entries;
        let mut kept: Vec<(&Key, &Loaded)> = self
            .loaded
            .iter()
            .filter(|(id, s)| {
                !fresh.contains_key(*id)
                    && (!prune || s.used.load(Ordering::Relaxed))
                    && s.parsed.get().is_none_or(Option::is_some)
            })
            .collect();
        kept.truncate(max_entries.saturating_sub(fresh.len()));

        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        remove_stale_temporaries(dir, ".parse-cache-");
        let mut tmp = tempfile::Builder::new()
            .prefix(".parse-cache-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        let count = (kept.len() + fresh.len()) as u32;
        let mut out = io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        write_file(
            &mut out,
            self.fingerprint,
            count,
            kept.iter()
                .map(|(id, s)| (*id, &self.data[s.start..s.start + s.len])),
            fresh.iter().map(|(id, p)| (id, &**p)),
        )?;
        out.flush()?;
        drop(out);
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(SaveOutcome::Written(count as usize))
    }
}

impl CachingReader {
    /// Room for about `n` parses made in this run (a cold read of a large
    /// project), so the map of them is not grown, old and new at once.
    pub fn expect(&self, n: usize) {
        self.fresh
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(n);
    }

    /// Parse a module in the given mode, through the cache.
    pub fn parse_mode(
        &self,
        tree: &dyn SourceTree,
        path: &str,
        mode: ParseMode,
    ) -> io::Result<Arc<ParsedMigration>> {
        if let Some(id) = tree.blob_id(path) {
            if let Some(p) = self.get(&id, mode) {
                return Ok(self.hit(p));
            }
        }
        let src = tree.read(path)?;
        // Keyed by what was read, not by what the tree said: a file changed
        // since its stat was taken must not be cached under the old id.
        let id = hash_blob(&src);
        if let Some(p) = self.get(&id, mode) {
            return Ok(self.hit(p));
        }
        let parsed = Arc::new(mode.parse(&src));
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.insert(&id, mode, parsed.clone());
        Ok(parsed)
    }

    /// Parse a module with its operations, through the cache.
    pub fn parse_full(
        &self,
        tree: &dyn SourceTree,
        path: &str,
    ) -> io::Result<Arc<ParsedMigration>> {
        self.parse_mode(tree, path, ParseMode::Full)
    }
}

/// Parses in the reader's mode: [`ParseMode::Graph`] unless set with
/// [`CachingReader::with_mode`].
impl MigrationReader for CachingReader {
    fn parse(&self, tree: &dyn SourceTree, path: &str) -> io::Result<Arc<ParsedMigration>> {
        self.parse_mode(tree, path, self.mode)
    }
}

/// Temporary files left by runs that died while writing (older than an
/// hour, so never one being written).
pub(crate) fn remove_stale_temporaries(dir: &Path, prefix: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(prefix) && name.ends_with(".tmp")) {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > hour);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use encoding::{MAGIC, TRAILER};

    use crate::core::load::PlainReader;
    use crate::core::tree::{Entry, MemTree};

    /// A tree that counts reads; with `ids`, it knows blob ids (as a git
    /// tree does) without counting a read.
    struct Counting {
        inner: MemTree,
        ids: bool,
        reads: AtomicUsize,
    }

    impl Counting {
        fn new(files: &[(&str, &str)], ids: bool) -> Self {
            let mut inner = MemTree::new();
            for (p, c) in files {
                inner.add(p, *c);
            }
            Counting {
                inner,
                ids,
                reads: AtomicUsize::new(0),
            }
        }
        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl SourceTree for Counting {
        fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
            self.inner.list_dir(dir)
        }
        fn read(&self, path: &str) -> io::Result<Vec<u8>> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.read(path)
        }
        fn blob_id(&self, path: &str) -> Option<BlobId> {
            if self.ids {
                self.inner.read(path).ok().map(|b| hash_blob(&b))
            } else {
                None
            }
        }
    }

    fn mig(n: usize) -> String {
        format!(
            "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [('app', '{:04}_prev')]\n    operations = [migrations.RunSQL('SELECT {n}')]\n",
            n.saturating_sub(1)
        )
    }

    fn files(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("app/migrations/{i:04}_m.py"), mig(i)))
            .collect()
    }

    fn tree(files: &[(String, String)], ids: bool) -> Counting {
        let f: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        Counting::new(&f, ids)
    }

    #[test]
    fn same_parse_as_without_cache_and_reused_in_a_run() {
        let fs = files(5);
        let t = tree(&fs, false);
        let c = CachingReader::in_memory();
        for (p, _) in &fs {
            let got = c.parse(&t, p).unwrap();
            assert_eq!(*got, *PlainReader.parse(&t, p).unwrap());
            assert!(got.has_migration_class);
            assert!(got.operations.is_empty());
            // Full parses are cached apart.
            let full = c.parse_full(&t, p).unwrap();
            assert_eq!(full.operations.len(), 1);
            assert_eq!(*c.parse_full(&t, p).unwrap(), *full);
        }
        // Known ids: answered without reading.
        let t2 = tree(&fs, true);
        for (p, _) in &fs {
            c.parse(&t2, p).unwrap();
        }
        assert_eq!(t2.reads(), 0);
        assert_eq!(c.stats().misses, 10);
        assert_eq!(c.stats().hits, 10);
        // Unknown ids: read and hashed, still not parsed again.
        let t3 = tree(&fs, false);
        for (p, _) in &fs {
            c.parse(&t3, p).unwrap();
        }
        assert_eq!(t3.reads(), 5);
        assert_eq!(c.stats().misses, 10);
        assert!(c.parse(&t3, "app/migrations/none.py").is_err());
    }

    #[test]
    fn warm_hit_from_the_file_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = cache_file(&dir.path().join("djmig"));
        let fs = files(20);
        let c = CachingReader::open(&file);
        let t = tree(&fs, true);
        let first: Vec<_> = fs.iter().map(|(p, _)| c.parse(&t, p).unwrap()).collect();
        assert_eq!(c.save().unwrap(), SaveOutcome::Written(20));
        // Nothing new: not written again.
        assert_eq!(c.save().unwrap(), SaveOutcome::Written(20));
        let c2 = CachingReader::open(&file);
        assert_eq!(c2.ignored_because(), None);
        assert_eq!(c2.stats().loaded, 20);
        let t2 = tree(&fs, true);
        for ((p, _), want) in fs.iter().zip(&first) {
            assert_eq!(*c2.parse(&t2, p).unwrap(), **want);
        }
        assert_eq!(t2.reads(), 0);
        assert_eq!(c2.stats().misses, 0);
        assert_eq!(c2.save().unwrap(), SaveOutcome::Unchanged);
        // One new file: rewritten with old and new.
        let mut more = fs.clone();
        more.push(("app/migrations/9999_new.py".into(), mig(9999)));
        let t3 = tree(&more, true);
        let c3 = CachingReader::open(&file);
        for (p, _) in &more {
            c3.parse(&t3, p).unwrap();
        }
        assert_eq!(t3.reads(), 1);
        assert_eq!(c3.save().unwrap(), SaveOutcome::Written(21));
        assert_eq!(CachingReader::open(&file).stats().loaded, 21);
    }

    #[test]
    fn a_bad_file_is_ignored_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CACHE_FILE);
        let fs = files(3);
        let c = CachingReader::open(&file);
        let t = tree(&fs, true);
        for (p, _) in &fs {
            c.parse(&t, p).unwrap();
        }
        c.save().unwrap();
        let good = std::fs::read(&file).unwrap();

        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        let mut other_version = good.clone();
        other_version[MAGIC.len()] = 99;
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("garbage", b"not a cache at all, just some text".to_vec()),
            ("truncated", good[..good.len() - 10].to_vec()),
            ("half", good[..good.len() / 2].to_vec()),
            ("flipped", flipped),
            ("other version", other_version),
        ];
        // A consistent file with another djmig version in it.
        let mut foreign = good.clone();
        let vpos = MAGIC.len() + 4 + 8 + 2;
        foreign[vpos] = b'9';
        let n = foreign.len();
        let sum = checksum(&foreign[..n - TRAILER]);
        foreign[n - TRAILER..].copy_from_slice(&sum.to_le_bytes());
        cases.push(("foreign", foreign));
        for (what, bytes) in cases {
            std::fs::write(&file, &bytes).unwrap();
            let c = CachingReader::open(&file);
            assert!(c.ignored_because().is_some(), "{what}");
            assert_eq!(c.stats().loaded, 0, "{what}");
            let t = tree(&fs, true);
            for (p, _) in &fs {
                assert!(c.parse(&t, p).unwrap().has_migration_class, "{what}");
            }
            assert_eq!(t.reads(), 3, "{what}");
            assert_eq!(c.save().unwrap(), SaveOutcome::Written(3), "{what}");
            let again = CachingReader::open(&file);
            assert_eq!(again.ignored_because(), None, "{what}");
            assert_eq!(again.stats().loaded, 3, "{what}");
        }
        // A bad file with nothing parsed is still replaced by a valid one.
        std::fs::write(&file, b"junk").unwrap();
        let c = CachingReader::open(&file);
        assert_eq!(c.save().unwrap(), SaveOutcome::Written(0));
        assert_eq!(CachingReader::open(&file).ignored_because(), None);
    }

    #[test]
    fn every_prefix_and_every_flipped_byte_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CACHE_FILE);
        let fs = files(2);
        let c = CachingReader::open(&file);
        let t = tree(&fs, true);
        for (p, _) in &fs {
            c.parse(&t, p).unwrap();
        }
        c.save().unwrap();
        let good = std::fs::read(&file).unwrap();
        let (fp, _) = parser_fingerprint();
        assert!(index(&good, fp).is_ok());
        for n in 0..good.len() {
            assert!(index(&good[..n], fp).is_err(), "prefix {n}");
        }
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 1;
            assert!(index(&b, fp).is_err(), "byte {i}");
        }
    }

    #[test]
    fn concurrent_writers_never_leave_a_torn_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CACHE_FILE);
        let stop = Arc::new(AtomicBool::new(false));
        let (fp, _) = parser_fingerprint();
        let reader = {
            let file = file.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut seen = 0;
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(bytes) = std::fs::read(&file) {
                        index(&bytes, fp).expect("a whole file");
                        seen += 1;
                    }
                }
                seen
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for round in 0..15 {
                        let fs: Vec<(String, String)> = (0..30)
                            .map(|i| {
                                (
                                    format!("m/{w}_{round}_{i}.py"),
                                    format!("{}# {w} {round} {i}\n", mig(i)),
                                )
                            })
                            .collect();
                        let t = tree(&fs, true);
                        let c = CachingReader::open(&file);
                        assert_eq!(c.ignored_because(), None);
                        for (p, _) in &fs {
                            c.parse(&t, p).unwrap();
                        }
                        c.save().unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
        let c = CachingReader::open(&file);
        assert_eq!(c.ignored_because(), None);
        assert!(c.stats().loaded >= 30);
        // No temporary files left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(CACHE_FILE)]);
    }

    #[test]
    fn bounded_by_dropping_entries_unused_in_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CACHE_FILE);
        let old = files(10);
        let c = CachingReader::open(&file);
        let t = tree(&old, true);
        for (p, _) in &old {
            c.parse(&t, p).unwrap();
        }
        c.save().unwrap();
        let c = CachingReader::open(&file);
        let t = tree(&old, true);
        for (p, _) in &old[..4] {
            c.parse(&t, p).unwrap();
        }
        let new: Vec<(String, String)> = (0..3)
            .map(|i| (format!("n/{i}.py"), format!("{}# new\n", mig(i))))
            .collect();
        let tn = tree(&new, true);
        for (p, _) in &new {
            c.parse(&tn, p).unwrap();
        }
        // 10 + 3 > 8: the 6 unused are dropped.
        assert_eq!(c.save_limited(8).unwrap(), SaveOutcome::Written(7));
        assert_eq!(CachingReader::open(&file).stats().loaded, 7);
    }

    #[test]
    fn mode_and_stale_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(CACHE_FILE);
        let stale = dir.path().join(".parse-cache-dead.tmp");
        let fresh = dir.path().join(".parse-cache-live.tmp");
        std::fs::write(&stale, b"x").unwrap();
        std::fs::write(&fresh, b"x").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let fs = files(1);
        let t = tree(&fs, true);
        let c = CachingReader::open(&file).with_mode(ParseMode::Full);
        assert_eq!(c.parse(&t, &fs[0].0).unwrap().operations.len(), 1);
        c.save().unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists());
        // The graph-mode entry is not there yet; the full one is.
        let c = CachingReader::open(&file);
        assert!(c
            .get(&hash_blob(fs[0].1.as_bytes()), ParseMode::Graph)
            .is_none());
        assert!(c
            .get(&hash_blob(fs[0].1.as_bytes()), ParseMode::Full)
            .is_some());
    }
}
