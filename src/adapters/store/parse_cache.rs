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

/// The cache file's name in the cache directory.
pub const CACHE_FILE: &str = "parse-cache-v1.bin";

/// Past this many entries, those not used in the run are dropped on save.
pub const MAX_ENTRIES: usize = 200_000;

const MAGIC: &[u8; 8] = b"DJMIGPC\0";
/// 2: entries that are no pair of strings are kept (`DepEntry::Value`), and
/// problems Python raises on are `FileProblemKind::Invalid`.
const FORMAT_VERSION: u32 = 2;
const TRAILER: usize = 8;

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
            match crate::adapters::fs::read::read(
                &file,
                crate::adapters::fs::read::Kind::ParseCache,
            ) {
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
                postcard::from_bytes::<ParsedMigration>(
                    &self.data[slot.start..slot.start + slot.len],
                )
                .ok()
                .map(Arc::new)
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

        let version = env!("CARGO_PKG_VERSION").as_bytes();
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        remove_stale_temporaries(dir, ".parse-cache-");
        let mut tmp = tempfile::Builder::new()
            .prefix(".parse-cache-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        // Entries are encoded one at a time and written as they are, the
        // checksum taken on the way: the cache is never held whole a second
        // time.
        let count = (kept.len() + fresh.len()) as u32;
        let mut out = io::BufWriter::with_capacity(64 * 1024, tmp.as_file_mut());
        let mut sum = Checksum::new();
        let mut put = |out: &mut io::BufWriter<&mut std::fs::File>, b: &[u8]| {
            sum.update(b);
            out.write_all(b)
        };
        put(&mut out, MAGIC)?;
        put(&mut out, &FORMAT_VERSION.to_le_bytes())?;
        put(&mut out, &self.fingerprint.to_le_bytes())?;
        put(&mut out, &(version.len() as u16).to_le_bytes())?;
        put(&mut out, version)?;
        put(&mut out, &count.to_le_bytes())?;
        for (id, s) in kept {
            put(&mut out, id)?;
            put(&mut out, &(s.len as u32).to_le_bytes())?;
            put(&mut out, &self.data[s.start..s.start + s.len])?;
        }
        let mut body = Vec::new();
        for (id, p) in fresh.iter() {
            body.clear();
            body = postcard::to_extend(&**p, body).map_err(io::Error::other)?;
            put(&mut out, id)?;
            put(&mut out, &(body.len() as u32).to_le_bytes())?;
            put(&mut out, &body)?;
        }
        out.write_all(&sum.finish().to_le_bytes())?;
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

/// A fast checksum (not cryptographic): four multiply-rotate lanes over
/// 8-byte words; any single changed word, and any change of length, changes
/// it.
pub(crate) fn checksum(data: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(data);
    c.finish()
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// [`checksum`] of bytes given piece by piece, so a file can be checksummed
/// as it is written, without holding it whole.
pub(crate) struct Checksum {
    lanes: [u64; 4],
    pending: [u8; 32],
    filled: usize,
    len: u64,
}

impl Checksum {
    pub(crate) fn new() -> Self {
        Checksum {
            lanes: [K, K ^ 0x1234_5678, K.rotate_left(17), K.rotate_left(41)],
            pending: [0; 32],
            filled: 0,
            len: 0,
        }
    }

    fn word(b: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(w)
    }

    fn block(lanes: &mut [u64; 4], c: &[u8]) {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = (*lane ^ Self::word(&c[i * 8..i * 8 + 8]))
                .wrapping_mul(K)
                .rotate_left(29);
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.filled > 0 {
            let n = (32 - self.filled).min(data.len());
            self.pending[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled < 32 {
                return;
            }
            let p = self.pending;
            Self::block(&mut self.lanes, &p);
            self.filled = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            Self::block(&mut self.lanes, c);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub(crate) fn finish(mut self) -> u64 {
        for (i, w) in self.pending[..self.filled].chunks(8).enumerate() {
            self.lanes[i] = (self.lanes[i] ^ Self::word(w))
                .wrapping_mul(K)
                .rotate_left(29);
        }
        let mut h = self.len;
        for l in self.lanes {
            h = (h ^ l).wrapping_mul(K).rotate_left(31);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("truncated")?;
        let s = self.data.get(self.pos..end).ok_or("truncated")?;
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
}

/// The entries of a cache file, checked whole; `Err` says why not.
fn index(data: &[u8], fingerprint: u64) -> Result<IdMap<Loaded>, String> {
    let header = MAGIC.len() + 4 + 8 + 2;
    if data.len() < header + 4 + TRAILER {
        return Err("truncated".into());
    }
    let body = &data[..data.len() - TRAILER];
    let mut sum = [0u8; 8];
    sum.copy_from_slice(&data[data.len() - TRAILER..]);
    if &data[..MAGIC.len()] != MAGIC {
        return Err("not a djmig cache file".into());
    }
    if checksum(body) != u64::from_le_bytes(sum) {
        return Err("checksum mismatch (truncated or corrupt)".into());
    }
    let mut cur = Cursor {
        data: body,
        pos: MAGIC.len(),
    };
    if cur.u32()? != FORMAT_VERSION {
        return Err("another format version".into());
    }
    let fp = cur.u64()?;
    let vlen = cur.u16()? as usize;
    let version = cur.take(vlen)?;
    if version != env!("CARGO_PKG_VERSION").as_bytes() {
        return Err(format!(
            "written by djmig {}",
            String::from_utf8_lossy(version)
        ));
    }
    if fp != fingerprint {
        return Err("written by another build of the parser".into());
    }
    let count = cur.u32()? as usize;
    let mut map = IdMap::default();
    map.reserve(count.min(MAX_ENTRIES * 2));
    for _ in 0..count {
        let mut id: Key = [0u8; 21];
        id.copy_from_slice(cur.take(21)?);
        if id[20] > ParseMode::Full as u8 {
            return Err("bad entry".into());
        }
        let len = cur.u32()? as usize;
        let start = cur.pos;
        cur.take(len)?;
        map.insert(
            id,
            Loaded {
                start,
                len,
                parsed: OnceLock::new(),
                used: AtomicBool::new(false),
            },
        );
    }
    let pos = cur.pos;
    if pos != body.len() {
        return Err("trailing bytes".into());
    }
    Ok(map)
}

/// A fingerprint of the parser's output and of the encoding (so a file
/// written by a build whose parser differs is not trusted), and whether the
/// encoding round-trips at all.
pub(crate) fn parser_fingerprint() -> (u64, bool) {
    static FP: OnceLock<(u64, bool)> = OnceLock::new();
    *FP.get_or_init(|| {
        let mut bytes = Vec::new();
        let mut ok = true;
        for mode in [ParseMode::Graph, ParseMode::Full] {
            let parsed = mode.parse(SAMPLE.as_bytes());
            match postcard::to_stdvec(&parsed) {
                Ok(b) => {
                    ok &= postcard::from_bytes::<ParsedMigration>(&b).is_ok_and(|p| p == parsed);
                    bytes.extend_from_slice(&b);
                }
                Err(_) => ok = false,
            }
        }
        (checksum(&bytes), ok)
    })
}

const SAMPLE: &str = r#"# Generated by Django 4.2 on 2024-01-01 12:00
from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):

    initial = True
    atomic = False

    replaces = [("shop", "0001_initial"), ("shop", "0002_auto")]

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("shop", "0001_" "initial"),
    ]

    run_before = [("other", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.AddField(model_name="order", name="total", field=models.DecimalField(max_digits=10, decimal_places=2)),
        migrations.RenameField("order", "total", "amount"),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunSQL(sql=["SELECT 1"], reverse_sql=f"SELECT {2}"),
        SOME_CONSTANT,
    ]
"#;

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// The checksum as files written before it could be given in pieces
    /// have it.
    fn whole(data: &[u8]) -> u64 {
        let mut lanes: [u64; 4] = [K, K ^ 0x1234_5678, K.rotate_left(17), K.rotate_left(41)];
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            for (i, lane) in lanes.iter_mut().enumerate() {
                *lane = (*lane ^ word(&c[i * 8..i * 8 + 8]))
                    .wrapping_mul(K)
                    .rotate_left(29);
            }
        }
        for (i, w) in chunks.remainder().chunks(8).enumerate() {
            lanes[i] = (lanes[i] ^ word(w)).wrapping_mul(K).rotate_left(29);
        }
        let mut h = data.len() as u64;
        for l in lanes {
            h = (h ^ l).wrapping_mul(K).rotate_left(31);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }

    #[test]
    fn a_checksum_in_pieces_is_the_checksum_of_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in [0, 1, 7, 8, 31, 32, 33, 64, 100, 1000] {
            let d = &data[..len];
            assert_eq!(checksum(d), whole(d), "{len}");
            for step in [1, 3, 8, 13, 32, 45] {
                let mut c = Checksum::new();
                for piece in d.chunks(step) {
                    c.update(piece);
                }
                assert_eq!(c.finish(), whole(d), "{len} by {step}");
            }
        }
    }
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

    #[test]
    fn fingerprint_is_stable_and_round_trips() {
        let (a, ok) = parser_fingerprint();
        assert!(ok, "ParsedMigration must round-trip through postcard");
        assert_ne!(a, 0);
        assert_ne!(checksum(b"a"), checksum(b"b"));
        assert_ne!(checksum(b""), checksum(&[0]));
        assert_ne!(checksum(&[0; 32]), checksum(&[0; 33]));
    }
}
