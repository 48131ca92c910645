//! [`GitTree`]: the project as it is in one commit, read from the object
//! database without checking anything out.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, RwLock};

use git2::Oid;

use super::pool::{BlobError, CloneError, Pool};
use crate::adapters::fs::tree::FsTree;
use crate::core::limits::{Kind as ReadKind, Reason, Refused};
use crate::core::tree::{join, split_parent, BlobId, Entry, EntryKind, Problem, SourceTree};

/// A tree that can take part in a virtual merge ([`super::MergedTree`]):
/// besides files' blob ids it may know a directory's identity (a git tree
/// id), so unchanged directories are decided without looking inside.
pub trait Snapshot: SourceTree {
    /// An id of the whole content of a directory (`""` is the root) when
    /// known without walking it: two equal ids mean equal contents.
    fn dir_id(&self, _dir: &str) -> Option<BlobId> {
        None
    }
}

impl Snapshot for FsTree {}
#[cfg(test)]
impl Snapshot for crate::core::tree::MemTree {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Submodule,
    Symlink,
}

#[derive(Debug, Clone)]
struct GEntry {
    name: String,
    kind: Kind,
    id: Oid,
}

type Listing = Arc<Vec<GEntry>>;

/// How many symbolic links are followed before giving up (as a loop).
const MAX_LINKS: usize = 8;

/// The longest symbolic link target read (a path).
const MAX_LINK_TARGET: u64 = 4096;

/// The project directory in the tree of one commit. Directories are read
/// when first listed and kept; blobs are read on demand through a pool of
/// repository handles, so it can be read from many threads at once.
///
/// Contents are the blobs as stored: no end-of-line conversion or filter
/// is applied. A symbolic link to a file inside the project reads as that
/// file; a link to a directory is left out (as [`FsTree`] does); any other
/// link is listed as a file whose reading says where it leads. Blobs are
/// read up to [`ReadKind::Migration`]'s cap, checked before inflating.
///
/// An object missing from the repository is not an empty directory or an
/// unreadable file: it is recorded, and [`SourceTree::problems`] names it
/// so the caller can stop (a partial clone, a damaged repository).
pub struct GitTree {
    pool: Arc<Pool>,
    commit: Oid,
    root: Option<Oid>,
    dirs: RwLock<HashMap<String, Option<Listing>>>,
    problems: std::sync::Mutex<Vec<Problem>>,
}

/// Where a symbolic link in a commit leads.
enum Leads {
    File(Oid),
    Dir,
    Nowhere(Reason),
}

impl std::fmt::Debug for GitTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTree")
            .field("commit", &self.commit)
            .field("root", &self.root)
            .finish()
    }
}

impl GitTree {
    pub(crate) fn new(pool: Arc<Pool>, commit: Oid, root: Option<Oid>) -> Self {
        GitTree {
            pool,
            commit,
            root,
            dirs: RwLock::new(HashMap::new()),
            problems: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn note(&self, p: Problem) {
        let mut all = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !all.contains(&p) {
            all.push(p);
        }
    }

    fn missing(&self, path: &str, id: Oid) {
        self.note(Problem::MissingObject {
            path: path.to_string(),
            id: id.to_string(),
            commit: self.commit.to_string(),
        });
    }

    /// Whether the project directory exists in that commit.
    #[cfg(test)]
    pub fn exists(&self) -> bool {
        self.root.is_some()
    }

    fn listing(&self, dir: &str) -> Option<Listing> {
        if let Some(hit) = self.dirs.read().unwrap_or_else(|e| e.into_inner()).get(dir) {
            return hit.clone();
        }
        let tree_id = if dir.is_empty() {
            self.root
        } else {
            let (parent, name) = split_parent(dir);
            let parent = self.listing(parent)?;
            find(&parent, name)
                .filter(|e| e.kind == Kind::Dir)
                .map(|e| e.id)
        };
        let listing = match tree_id {
            Some(id) => match self.read_tree(id) {
                Ok(l) => {
                    for e in l.iter().filter(|e| e.kind == Kind::Submodule) {
                        self.note(Problem::Submodule {
                            path: join(dir, &e.name),
                            commit: e.id.to_string(),
                        });
                    }
                    Some(l)
                }
                Err(e) => {
                    if matches!(BlobError::from(e.clone_error()), BlobError::Missing(_)) {
                        self.missing(dir, id);
                    } else {
                        self.note(Problem::Unlistable {
                            dir: dir.to_string(),
                            why: e.message().to_string(),
                        });
                    }
                    None
                }
            },
            None if dir.is_empty() => Some(Arc::new(Vec::new())),
            None => None,
        };
        self.dirs
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_string(), listing.clone());
        listing
    }

    fn read_tree(&self, id: Oid) -> Result<Listing, git2::Error> {
        self.pool.tree(id, |repo| {
            let tree = repo.find_tree(id)?;
            let mut out = Vec::with_capacity(tree.len());
            for e in tree.iter() {
                let Ok(name) = std::str::from_utf8(e.name_bytes()) else {
                    continue;
                };
                let kind = match e.filemode() {
                    0o040000 => Kind::Dir,
                    0o160000 => Kind::Submodule,
                    0o120000 => Kind::Symlink,
                    m if m & 0o170000 == 0o100000 => Kind::File,
                    _ => continue,
                };
                out.push(GEntry {
                    name: name.to_string(),
                    kind,
                    id: e.id(),
                });
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn entry(&self, path: &str) -> Option<GEntry> {
        if path.is_empty() {
            return None;
        }
        let (dir, name) = split_parent(path);
        let listing = self.listing(dir)?;
        find(&listing, name).cloned()
    }

    /// What a path reads as: a file's own blob, or the file a symbolic
    /// link leads to inside the project.
    fn leads(&self, path: &str) -> Option<Leads> {
        let mut path = path.to_string();
        let mut target = String::new();
        for _ in 0..MAX_LINKS {
            let Some(e) = self.entry(&path) else {
                return (!target.is_empty()).then(|| {
                    Leads::Nowhere(Reason::Dangling {
                        target: target.clone().into(),
                    })
                });
            };
            match e.kind {
                Kind::File => return Some(Leads::File(e.id)),
                Kind::Dir => return Some(Leads::Dir),
                // Another repository: neither a file nor a directory here,
                // and what a link into it leads to is not read.
                Kind::Submodule if target.is_empty() => return None,
                Kind::Submodule => {
                    return Some(Leads::Nowhere(Reason::Dangling {
                        target: target.into(),
                    }))
                }
                Kind::Symlink => {
                    let bytes = match self.pool.read_blob(e.id, MAX_LINK_TARGET) {
                        Ok(b) => b,
                        Err(BlobError::Missing(_)) => {
                            self.missing(&path, e.id);
                            return None;
                        }
                        Err(_) => {
                            return Some(Leads::Nowhere(Reason::Dangling {
                                target: "(a target too long to be a path)".into(),
                            }))
                        }
                    };
                    target = String::from_utf8_lossy(&bytes).into_owned();
                    match resolve_link(split_parent(&path).0, &target) {
                        Some(next) => path = next,
                        None => {
                            return Some(Leads::Nowhere(Reason::Outside {
                                target: target.into(),
                            }))
                        }
                    }
                }
            }
        }
        Some(Leads::Nowhere(Reason::Dangling {
            target: target.into(),
        }))
    }

    /// The blob a path reads as, when it reads as one.
    fn file_blob(&self, path: &str) -> Option<Oid> {
        match self.leads(path)? {
            Leads::File(oid) => Some(oid),
            _ => None,
        }
    }
}

fn find<'a>(listing: &'a [GEntry], name: &str) -> Option<&'a GEntry> {
    listing
        .binary_search_by(|e| e.name.as_str().cmp(name))
        .ok()
        .map(|i| &listing[i])
}

/// The project-relative path a link in `dir` with `target` points at; `None`
/// for absolute targets and targets outside the project.
fn resolve_link(dir: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{path}: no such file in the commit"),
    )
}

impl SourceTree for GitTree {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        let listing = self.listing(dir)?;
        let mut out = Vec::with_capacity(listing.len());
        for e in listing.iter() {
            let kind = match e.kind {
                Kind::File => EntryKind::File,
                Kind::Dir => EntryKind::Dir,
                Kind::Submodule => EntryKind::Submodule,
                Kind::Symlink => match self.leads(&join(dir, &e.name)) {
                    Some(Leads::Dir) => continue,
                    _ => EntryKind::File,
                },
            };
            out.push(Entry {
                name: e.name.clone(),
                kind,
            });
        }
        Some(out)
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let oid = match self.leads(path) {
            Some(Leads::File(oid)) => oid,
            Some(Leads::Nowhere(reason)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    Refused {
                        kind: ReadKind::Migration,
                        reason,
                    },
                ))
            }
            Some(Leads::Dir) | None => return Err(not_found(path)),
        };
        match self.pool.read_blob(oid, ReadKind::Migration.cap()) {
            Ok(b) => Ok(b),
            Err(BlobError::TooLarge(size)) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                Refused {
                    kind: ReadKind::Migration,
                    reason: Reason::TooLarge { size },
                },
            )),
            Err(BlobError::Missing(m)) => {
                self.missing(path, oid);
                Err(io::Error::other(format!(
                    "{path}: blob {oid} is missing from the repository ({m})"
                )))
            }
            Err(BlobError::Other(m)) => Err(io::Error::other(format!("{path}: {m}"))),
        }
    }

    fn blob_id(&self, path: &str) -> Option<BlobId> {
        self.file_blob(path).map(oid_bytes)
    }

    fn problems(&self) -> Vec<Problem> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn is_file(&self, path: &str) -> bool {
        matches!(self.leads(path), Some(Leads::File(_) | Leads::Nowhere(_)))
    }

    fn is_dir(&self, path: &str) -> bool {
        path.is_empty() || self.entry(path).is_some_and(|e| e.kind == Kind::Dir)
    }
}

impl Snapshot for GitTree {
    fn dir_id(&self, dir: &str) -> Option<BlobId> {
        if dir.is_empty() {
            return self.root.map(oid_bytes);
        }
        self.entry(dir)
            .filter(|e| e.kind == Kind::Dir)
            .map(|e| oid_bytes(e.id))
    }
}

/// An oid as a [`BlobId`].
pub fn oid_bytes(oid: Oid) -> BlobId {
    let mut out = [0u8; 20];
    let b = oid.as_bytes();
    let n = b.len().min(20);
    out[..n].copy_from_slice(&b[..n]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_inside_the_project_only() {
        assert_eq!(resolve_link("a/b", "c.py").as_deref(), Some("a/b/c.py"));
        assert_eq!(resolve_link("a/b", "../c.py").as_deref(), Some("a/c.py"));
        assert_eq!(resolve_link("a", "./x/../y.py").as_deref(), Some("a/y.py"));
        assert_eq!(resolve_link("", "../x.py"), None);
        assert_eq!(resolve_link("a", "/etc/passwd"), None);
        assert_eq!(resolve_link("a", ".."), None);
    }
}
