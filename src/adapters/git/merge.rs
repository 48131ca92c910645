//! [`MergedTree`]: the virtual three-way merge, at file level, of a base
//! (the merge base) and two sides — what the project would look like after
//! merging, without touching the work tree or the index.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::{Arc, Mutex, RwLock};

use super::hash_blob;
use super::tree::Snapshot;
use crate::core::tree::{join, split_parent, BlobId, Entry, EntryKind, SourceTree};

/// One of the three trees of a merge, borrowed or owned.
pub enum Side<'a> {
    Borrowed(&'a dyn Snapshot),
    Owned(Box<dyn Snapshot + Send + 'a>),
}

impl<'a> Side<'a> {
    fn get(&self) -> &dyn Snapshot {
        match self {
            Side::Borrowed(t) => *t,
            Side::Owned(t) => t.as_ref(),
        }
    }
}

impl<'a, T: Snapshot> From<&'a T> for Side<'a> {
    fn from(t: &'a T) -> Self {
        Side::Borrowed(t)
    }
}

impl<'a> From<Box<dyn Snapshot + Send + 'a>> for Side<'a> {
    fn from(t: Box<dyn Snapshot + Send + 'a>) -> Self {
        Side::Owned(t)
    }
}

impl From<super::GitTree> for Side<'static> {
    fn from(t: super::GitTree) -> Self {
        Side::Owned(Box::new(t))
    }
}

impl From<super::WorktreeTree> for Side<'static> {
    fn from(t: super::WorktreeTree) -> Self {
        Side::Owned(Box::new(t))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Ours,
    Theirs,
}

#[derive(Debug, Clone)]
struct MEntry {
    name: String,
    kind: EntryKind,
    from: Which,
    /// The blob id when it was computed while deciding.
    id: Option<BlobId>,
}

type Listing = Arc<Vec<MEntry>>;

/// A directory as seen in one side: absent, present with a known tree id,
/// or present without one (the work tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirState {
    Absent,
    Known(BlobId),
    Unknown,
}

fn same_dir(a: DirState, b: DirState) -> bool {
    match (a, b) {
        (DirState::Absent, DirState::Absent) => true,
        (DirState::Known(x), DirState::Known(y)) => x == y,
        _ => false,
    }
}

/// The file-level merge of `base`, `ours` and `theirs`:
///
/// - a path added on either side is there;
/// - a path deleted on one side and unchanged on the other is gone;
/// - a path changed on one side only has that side's content;
/// - a path changed on both sides differently has ours' content (theirs'
///   when ours deleted it) and is listed in [`MergedTree::conflicted_paths`];
/// - a directory is there when something in it is.
///
/// Files are compared by blob id ([`SourceTree::blob_id`], else the hash of
/// their bytes), directories by tree id where known ([`Snapshot::dir_id`]),
/// so only what changed on both sides is looked into. Decisions are made
/// lazily, per directory, and kept.
pub struct MergedTree<'a> {
    base: Side<'a>,
    ours: Side<'a>,
    theirs: Side<'a>,
    dirs: RwLock<HashMap<String, Option<Listing>>>,
    conflicts: Mutex<BTreeSet<String>>,
    #[cfg(test)]
    all_conflicts: std::sync::OnceLock<Vec<String>>,
}

impl<'a> MergedTree<'a> {
    pub fn new(
        base: impl Into<Side<'a>>,
        ours: impl Into<Side<'a>>,
        theirs: impl Into<Side<'a>>,
    ) -> Self {
        MergedTree {
            base: base.into(),
            ours: ours.into(),
            theirs: theirs.into(),
            dirs: RwLock::new(HashMap::new()),
            conflicts: Mutex::new(BTreeSet::new()),
            #[cfg(test)]
            all_conflicts: std::sync::OnceLock::new(),
        }
    }

    /// Paths changed on both sides differently (content conflicts,
    /// modify/delete, add/add, file/directory), over the whole project,
    /// sorted.
    #[cfg(test)]
    pub fn conflicted_paths(&self) -> Vec<String> {
        self.all_conflicts
            .get_or_init(|| {
                self.scan("");
                self.conflicts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect()
            })
            .clone()
    }

    /// Whether a path (a file) is conflicted.
    pub fn is_conflicted(&self, path: &str) -> bool {
        let (dir, _) = split_parent(path);
        // Deciding the directory records its conflicts.
        let _ = self.listing_unchecked(dir);
        self.conflicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(path)
    }

    fn sides(&self) -> [&dyn Snapshot; 3] {
        [self.base.get(), self.ours.get(), self.theirs.get()]
    }

    /// Visit every directory that both sides changed, deciding it.
    #[cfg(test)]
    fn scan(&self, dir: &str) {
        if self.listing_unchecked(dir).is_none() {
            return;
        }
        let sides = self.sides();
        let lists: Vec<Option<Vec<Entry>>> = sides.iter().map(|s| s.list_dir(dir)).collect();
        let mut subdirs: BTreeSet<&str> = BTreeSet::new();
        for l in lists.iter().flatten() {
            for e in l {
                if e.kind == EntryKind::Dir {
                    subdirs.insert(&e.name);
                }
            }
        }
        for name in subdirs {
            let path = join(dir, name);
            let st = self.dir_states(&path, &lists, name);
            if same_dir(st[0], st[1]) || same_dir(st[0], st[2]) || same_dir(st[1], st[2]) {
                continue;
            }
            self.scan(&path);
        }
    }

    fn dir_states(&self, path: &str, lists: &[Option<Vec<Entry>>], name: &str) -> [DirState; 3] {
        let sides = self.sides();
        let mut out = [DirState::Absent; 3];
        for i in 0..3 {
            let is_dir = lists[i]
                .as_ref()
                .is_some_and(|l| l.iter().any(|e| e.name == name && e.kind == EntryKind::Dir));
            if is_dir {
                out[i] = match sides[i].dir_id(path) {
                    Some(id) => DirState::Known(id),
                    None => DirState::Unknown,
                };
            }
        }
        out
    }

    fn listing(&self, dir: &str) -> Option<Listing> {
        if !dir.is_empty() {
            let (parent, name) = split_parent(dir);
            let p = self.listing(parent)?;
            if !p.iter().any(|e| e.name == name && e.kind == EntryKind::Dir) {
                return None;
            }
        }
        self.listing_unchecked(dir)
    }

    /// The merged entries of a directory, whether or not it survives in its
    /// parent.
    fn listing_unchecked(&self, dir: &str) -> Option<Listing> {
        if let Some(hit) = self.dirs.read().unwrap_or_else(|e| e.into_inner()).get(dir) {
            return hit.clone();
        }
        let computed = self.compute(dir);
        self.dirs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_string(), computed.clone());
        computed
    }

    fn compute(&self, dir: &str) -> Option<Listing> {
        let sides = self.sides();
        // Two sides with the same tree: the merge is the third side's
        // directory as it is, with nothing to decide file by file.
        let ids = sides.map(|s| s.dir_id(dir));
        let whole = if ids[0].is_some() && ids[2] == ids[0] {
            Some(Which::Ours)
        } else if ids[0].is_some() && ids[1] == ids[0] {
            Some(Which::Theirs)
        } else if ids[1].is_some() && ids[1] == ids[2] {
            Some(Which::Ours)
        } else {
            None
        };
        if let Some(from) = whole {
            let listing = self.side(from).list_dir(dir).map(|l| {
                Arc::new(
                    l.into_iter()
                        .map(|e| MEntry {
                            name: e.name,
                            kind: e.kind,
                            from,
                            id: None,
                        })
                        .collect::<Vec<_>>(),
                )
            });
            return match listing {
                None if dir.is_empty() => Some(Arc::new(Vec::new())),
                other => other,
            };
        }
        let lists: Vec<Option<Vec<Entry>>> = sides.iter().map(|s| s.list_dir(dir)).collect();
        if lists.iter().all(Option::is_none) {
            return if dir.is_empty() {
                Some(Arc::new(Vec::new()))
            } else {
                None
            };
        }
        let mut names: BTreeMap<&str, [Option<EntryKind>; 3]> = BTreeMap::new();
        for (i, l) in lists.iter().enumerate() {
            for e in l.iter().flatten() {
                names.entry(&e.name).or_default()[i] = Some(e.kind);
            }
        }
        let mut out = Vec::new();
        for (name, kinds) in &names {
            let path = join(dir, name);
            let has = |k: EntryKind| kinds.map(|x| x == Some(k));
            let file = self.decide_file(&path, has(EntryKind::File));
            let sub = has(EntryKind::Dir);
            let subdir = if sub.iter().any(|b| *b) {
                let st = self.dir_states(&path, &lists, name);
                self.decide_dir(&path, st)
            } else {
                None
            };
            let module = {
                let m = has(EntryKind::Submodule);
                if m[1] {
                    Some(Which::Ours)
                } else if m[2] && !m[0] {
                    Some(Which::Theirs)
                } else {
                    None
                }
            };
            let mut candidates: Vec<MEntry> = Vec::new();
            if let Some((from, id)) = file {
                candidates.push(MEntry {
                    name: name.to_string(),
                    kind: EntryKind::File,
                    from,
                    id,
                });
            }
            if let Some(from) = subdir {
                candidates.push(MEntry {
                    name: name.to_string(),
                    kind: EntryKind::Dir,
                    from,
                    id: None,
                });
            }
            if let Some(from) = module {
                candidates.push(MEntry {
                    name: name.to_string(),
                    kind: EntryKind::Submodule,
                    from,
                    id: None,
                });
            }
            if candidates.len() > 1 {
                // A file on one side, a directory on the other: keep what
                // ours has.
                self.conflict(&path);
                let ours_kind = kinds[1];
                let pick = candidates
                    .iter()
                    .position(|c| Some(c.kind) == ours_kind)
                    .unwrap_or(0);
                out.push(candidates.swap_remove(pick));
            } else if let Some(c) = candidates.pop() {
                out.push(c);
            }
        }
        Some(Arc::new(out))
    }

    fn conflict(&self, path: &str) {
        self.conflicts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_string());
    }

    /// The id of a file in one side: its blob id, else the hash of its bytes.
    fn file_id(&self, side: usize, path: &str) -> Option<BlobId> {
        let t = self.sides()[side];
        t.blob_id(path)
            .or_else(|| t.read(path).ok().map(|b| hash_blob(&b)))
    }

    /// Which side's file a path has after the merge, if any.
    fn decide_file(&self, path: &str, present: [bool; 3]) -> Option<(Which, Option<BlobId>)> {
        let id = |i: usize| self.file_id(i, path);
        match present {
            [_, false, false] => None,
            [false, true, false] => Some((Which::Ours, None)),
            [false, false, true] => Some((Which::Theirs, None)),
            [false, true, true] => {
                let (o, t) = (id(1), id(2));
                if o.is_none() || o != t {
                    self.conflict(path);
                }
                Some((Which::Ours, o))
            }
            [true, true, false] => {
                let (b, o) = (id(0), id(1));
                if o.is_some() && o == b {
                    None
                } else {
                    self.conflict(path);
                    Some((Which::Ours, o))
                }
            }
            [true, false, true] => {
                let (b, t) = (id(0), id(2));
                if t.is_some() && t == b {
                    None
                } else {
                    self.conflict(path);
                    Some((Which::Theirs, t))
                }
            }
            [true, true, true] => {
                let (o, t) = (id(1), id(2));
                if o.is_some() && o == t {
                    return Some((Which::Ours, o));
                }
                let b = id(0);
                if o.is_some() && o == b {
                    Some((Which::Theirs, t))
                } else if t.is_some() && t == b {
                    Some((Which::Ours, o))
                } else {
                    self.conflict(path);
                    Some((Which::Ours, o))
                }
            }
        }
    }

    /// Whether a directory is there after the merge, and which side to
    /// describe it with.
    fn decide_dir(&self, path: &str, st: [DirState; 3]) -> Option<Which> {
        let present = |s: DirState| s != DirState::Absent;
        if same_dir(st[2], st[0]) {
            return present(st[1]).then_some(Which::Ours);
        }
        if same_dir(st[1], st[0]) {
            return present(st[2]).then_some(Which::Theirs);
        }
        if same_dir(st[1], st[2]) {
            return present(st[1]).then_some(Which::Ours);
        }
        let listing = self.listing_unchecked(path)?;
        if listing.is_empty() {
            return None;
        }
        Some(if present(st[1]) {
            Which::Ours
        } else {
            Which::Theirs
        })
    }

    fn entry(&self, path: &str) -> Option<MEntry> {
        if path.is_empty() {
            return None;
        }
        let (dir, name) = split_parent(path);
        let listing = self.listing(dir)?;
        let i = listing
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()?;
        Some(listing[i].clone())
    }

    fn side(&self, w: Which) -> &dyn Snapshot {
        match w {
            Which::Ours => self.ours.get(),
            Which::Theirs => self.theirs.get(),
        }
    }
}

impl SourceTree for MergedTree<'_> {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        let listing = self.listing(dir)?;
        Some(
            listing
                .iter()
                .map(|e| Entry {
                    name: e.name.clone(),
                    kind: e.kind,
                })
                .collect(),
        )
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        match self.entry(path) {
            Some(e) if e.kind == EntryKind::File => self.side(e.from).read(path),
            _ => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{path}: no such file in the merge"),
            )),
        }
    }

    fn blob_id(&self, path: &str) -> Option<BlobId> {
        let e = self.entry(path).filter(|e| e.kind == EntryKind::File)?;
        e.id.or_else(|| self.side(e.from).blob_id(path))
    }

    fn is_file(&self, path: &str) -> bool {
        self.entry(path).is_some_and(|e| e.kind == EntryKind::File)
    }

    fn problems(&self) -> Vec<crate::core::tree::Problem> {
        let mut all: Vec<_> = self.sides().iter().flat_map(|s| s.problems()).collect();
        all.sort();
        all.dedup();
        all
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.entry(path).is_some_and(|e| e.kind == EntryKind::Dir)
    }
}

impl Snapshot for MergedTree<'_> {}
