//! [`WorktreeTree`]: the work tree as Django sees it (untracked and modified
//! files included), with blob ids taken from the index for files that
//! `git status` would call unchanged without reading them.

use std::io;
use std::path::{Path, PathBuf};

use git2::Oid;

use super::pool::Pool;
use super::tree::{oid_bytes, Snapshot};
use crate::adapters::fs::tree::FsTree;
use crate::core::tree::{BlobId, Entry, SourceTree};

/// What the index recorded about a file when it last looked at it.
#[derive(Debug, Clone, Copy)]
struct IndexStat {
    id: Oid,
    mtime: (i32, u32),
    ctime: i32,
    ino: u32,
    uid: u32,
    gid: u32,
    size: u32,
    mode: u32,
}

/// The index's entries under the project root, by project-relative path:
/// sorted as git keeps them, the paths in one buffer (a map of ten
/// thousand small strings cost a cold `check` about a megabyte more).
#[derive(Default)]
struct IndexEntries {
    paths: String,
    entries: Vec<(u32, u32, IndexStat)>,
}

impl IndexEntries {
    fn push(&mut self, path: &str, stat: IndexStat) {
        let start = self.paths.len() as u32;
        self.paths.push_str(path);
        self.entries.push((start, self.paths.len() as u32, stat));
    }

    fn path(&self, e: &(u32, u32, IndexStat)) -> &str {
        &self.paths[e.0 as usize..e.1 as usize]
    }

    /// Sort (git's order already, so this only checks it) and let go of
    /// spare room.
    fn seal(&mut self) {
        let paths = std::mem::take(&mut self.paths);
        self.entries.sort_by(|a, b| {
            paths[a.0 as usize..a.1 as usize].cmp(&paths[b.0 as usize..b.1 as usize])
        });
        self.paths = paths;
        self.paths.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    fn get(&self, path: &str) -> Option<&IndexStat> {
        self.entries
            .binary_search_by(|e| self.path(e).cmp(path))
            .ok()
            .map(|i| &self.entries[i].2)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Index flags (see git's `read-cache.h`).
const CE_STAGEMASK: u16 = 0x3000;
const CE_EXTENDED_INTENT_TO_ADD: u16 = 1 << 13;
const CE_EXTENDED_SKIP_WORKTREE: u16 = 1 << 14;

/// The work tree under the project root. Listing and reading are those of
/// [`FsTree`]; [`SourceTree::blob_id`] answers from the index when the
/// file's stat data matches its entry and the entry is not racily clean,
/// else `None` (the caller reads the file and hashes it with
/// [`super::hash_blob`]).
pub struct WorktreeTree {
    fs: FsTree,
    index: IndexEntries,
    /// The index file's mtime when it was read: entries at least as new are
    /// "racily clean" and not trusted.
    index_mtime: Option<(i64, u32)>,
    trust_ctime: bool,
    /// Set when an end-of-line conversion or a filter may make the work-tree
    /// bytes differ from the blob: no blob id is then given.
    conversion: bool,
}

impl std::fmt::Debug for WorktreeTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorktreeTree")
            .field("root", &self.fs.root())
            .field("index_entries", &self.index.len())
            .field("conversion", &self.conversion)
            .finish()
    }
}

impl WorktreeTree {
    /// `root` is the project root, `prefix` its path in the work tree,
    /// `git_dir` the (per-worktree) git directory holding `index`.
    pub(crate) fn open(
        root: &Path,
        prefix: &str,
        git_dir: &Path,
        repo: &git2::Repository,
        pool: &Pool,
    ) -> Self {
        let index_path = git_dir.join("index");
        // The timestamp first: an index rewritten after it only makes more
        // entries look racy.
        let index_mtime = std::fs::metadata(&index_path)
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| (d.as_secs() as i64, d.subsec_nanos()));
        let mut index = IndexEntries::default();
        let mut attributes: Vec<Oid> = Vec::new();
        if index_mtime.is_some() {
            if let Ok(idx) = git2::Index::open(&index_path) {
                let dir_prefix = if prefix.is_empty() {
                    String::new()
                } else {
                    format!("{prefix}/")
                };
                for e in idx.iter() {
                    let Ok(path) = String::from_utf8(e.path) else {
                        continue;
                    };
                    if path == ".gitattributes" || path.ends_with("/.gitattributes") {
                        attributes.push(e.id);
                    }
                    if e.flags & CE_STAGEMASK != 0
                        || e.flags_extended
                            & (CE_EXTENDED_INTENT_TO_ADD | CE_EXTENDED_SKIP_WORKTREE)
                            != 0
                        || e.mode & 0o170000 != 0o100000
                    {
                        // A conflict stage, an intent-to-add or skip-worktree
                        // entry, a symlink or a submodule: read the file.
                        continue;
                    }
                    let Some(rel) = path.strip_prefix(&dir_prefix) else {
                        continue;
                    };
                    index.push(
                        rel,
                        IndexStat {
                            id: e.id,
                            mtime: (e.mtime.seconds(), e.mtime.nanoseconds()),
                            ctime: e.ctime.seconds(),
                            ino: e.ino,
                            uid: e.uid,
                            gid: e.gid,
                            size: e.file_size,
                            mode: e.mode,
                        },
                    );
                }
            }
        }
        index.seal();
        let config = repo.config().ok();
        let trust_ctime = config
            .as_ref()
            .and_then(|c| c.get_bool("core.trustctime").ok())
            .unwrap_or(true);
        let conversion = conversion_possible(repo, config.as_ref(), &attributes, pool);
        WorktreeTree {
            fs: FsTree::new(root),
            index,
            index_mtime,
            trust_ctime,
            conversion,
        }
    }

    /// How many files the index holds under the project root: about how
    /// many a whole read looks at.
    pub fn indexed_files(&self) -> usize {
        self.index.len()
    }

    /// The plain file-system view.
    pub fn fs(&self) -> &FsTree {
        &self.fs
    }

    /// Whether an end-of-line conversion or a filter may apply
    /// (`core.autocrlf`, or `text`, `eol`, `filter`, `ident`, `encoding`
    /// attributes anywhere): the work-tree bytes may then differ from the
    /// blob while the stat data matches, so no blob id is given and callers
    /// read and hash (which costs about what checking each blob's size in
    /// the object database would).
    #[cfg(test)]
    pub fn conversion_possible(&self) -> bool {
        self.conversion
    }

    /// The index entry's blob id when the file is unchanged per its stat
    /// data, as `git status` decides without reading the file.
    fn index_blob(&self, path: &str) -> Option<BlobId> {
        if self.conversion || self.index.get(path).is_none() {
            return None;
        }
        let md = std::fs::symlink_metadata(self.fs.root().join(path)).ok()?;
        self.index_blob_with(path, &md)
    }

    /// [`WorktreeTree::index_blob`] with the file's `lstat` already taken.
    #[cfg(unix)]
    pub fn index_blob_with(&self, path: &str, md: &std::fs::Metadata) -> Option<BlobId> {
        use std::os::unix::fs::MetadataExt;
        if self.conversion {
            return None;
        }
        let e = self.index.get(path)?;
        if !md.file_type().is_file() {
            return None;
        }
        let mtime = (md.mtime() as i32, md.mtime_nsec() as u32);
        // ctime to the second, as git (built without USE_NSEC) does: it
        // leaves a changed ctime nanosecond part unrecorded on refresh.
        let same = e.mtime == mtime
            && (!self.trust_ctime || e.ctime == md.ctime() as i32)
            && e.ino == md.ino() as u32
            && e.uid == md.uid()
            && e.gid == md.gid()
            && e.size == md.size() as u32
            && (e.mode & 0o111 != 0) == (md.mode() & 0o100 != 0);
        if !same {
            return None;
        }
        // Racily clean: the file may have changed in the same tick the
        // index recorded it.
        let (isec, insec) = self.index_mtime?;
        let (msec, mnsec) = (md.mtime(), md.mtime_nsec() as u32);
        if (msec, mnsec) >= (isec, insec) {
            return None;
        }
        Some(oid_bytes(e.id))
    }

    #[cfg(not(unix))]
    pub fn index_blob_with(&self, _path: &str, _md: &std::fs::Metadata) -> Option<BlobId> {
        None
    }
}

/// Whether git may convert a file between the blob and the work tree
/// (`core.autocrlf`, or `text`/`eol`/`filter`/`ident`/`encoding` attributes
/// anywhere): then equal stat data does not mean equal bytes.
fn conversion_possible(
    repo: &git2::Repository,
    config: Option<&git2::Config>,
    attribute_blobs: &[Oid],
    pool: &Pool,
) -> bool {
    if let Some(c) = config {
        if let Ok(v) = c.get_string("core.autocrlf") {
            if !matches!(
                v.to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0"
            ) {
                return true;
            }
        }
    }
    let mentions = |text: &[u8]| {
        let text = String::from_utf8_lossy(text);
        text.lines().any(|l| {
            let l = l.trim();
            !l.starts_with('#')
                && ["text", "eol", "crlf", "filter", "ident", "encoding"]
                    .iter()
                    .any(|k| l.contains(k))
        })
    };
    for id in attribute_blobs {
        match pool.read_blob(*id, crate::core::limits::Kind::GitState.cap()) {
            Ok(b) if !mentions(&b) => {}
            _ => return true,
        }
    }
    let mut files: Vec<PathBuf> = vec![repo.commondir().join("info").join("attributes")];
    if let Some(p) = config.and_then(|c| c.get_path("core.attributesFile").ok()) {
        files.push(p);
    } else if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        files.push(PathBuf::from(x).join("git").join("attributes"));
    } else if let Some(h) = std::env::var_os("HOME") {
        files.push(
            PathBuf::from(h)
                .join(".config")
                .join("git")
                .join("attributes"),
        );
    }
    files.iter().any(|f| {
        crate::adapters::fs::read::read(f, crate::core::limits::Kind::GitState)
            .is_ok_and(|b| mentions(&b))
    })
}

impl SourceTree for WorktreeTree {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        self.fs.list_dir(dir)
    }
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.fs.read(path)
    }
    fn blob_id(&self, path: &str) -> Option<BlobId> {
        self.index_blob(path)
    }
    fn problems(&self) -> Vec<crate::core::tree::Problem> {
        self.fs.problems()
    }
    fn is_file(&self, path: &str) -> bool {
        self.fs.is_file(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        self.fs.is_dir(path)
    }
}

impl Snapshot for WorktreeTree {}
