//! The file snapshot the core reads: the work tree, a git revision, or a
//! virtual merge. Paths are relative to the project root and '/'-separated.

use std::io;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// A git submodule (gitlink); never descended into.
    Submodule,
    /// Named like a Python module but not a file Python can read: a FIFO,
    /// a socket, a device, or a symbolic link that leads nowhere, in a
    /// loop or to a directory. Importing it fails.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
}

/// A content-addressed identity of a file's bytes (a git blob id), used to
/// reuse parse results across refs and runs.
pub type BlobId = [u8; 20];

/// Something a snapshot met while answering that its answers cannot say:
/// listings answer `None` for a directory that is not there, and for one
/// that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// A directory that exists but could not be listed (a path too long
    /// for the system, no permission): what is below it is not read.
    Unlistable { dir: String, why: String },
    /// An object the revision needs is not in the repository (a partial
    /// or damaged clone): what it holds is missing from the answer.
    MissingObject {
        path: String,
        id: String,
        commit: String,
    },
    /// A git submodule: another repository, whose files are not read at a
    /// revision.
    Submodule { path: String, commit: String },
}

/// Read-only access to one snapshot of a project.
pub trait SourceTree: Sync {
    /// Entries of a directory (`""` is the root), sorted by name; `None` when
    /// the directory does not exist.
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>>;
    /// The bytes of a file.
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// The blob id of a file when known without reading it.
    fn blob_id(&self, _path: &str) -> Option<BlobId> {
        None
    }
    /// What was met so far that the answers could not say ([`Problem`]).
    fn problems(&self) -> Vec<Problem> {
        Vec::new()
    }
    /// Whether a file exists.
    fn is_file(&self, path: &str) -> bool {
        let (dir, name) = split_parent(path);
        self.list_dir(dir)
            .map(|es| {
                es.iter()
                    .any(|e| e.name == name && e.kind == EntryKind::File)
            })
            .unwrap_or(false)
    }
    /// Whether a directory exists.
    fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        let (dir, name) = split_parent(path);
        self.list_dir(dir)
            .map(|es| {
                es.iter()
                    .any(|e| e.name == name && e.kind == EntryKind::Dir)
            })
            .unwrap_or(false)
    }
}

/// `"a/b/c.py"` → `("a/b", "c.py")`; `"c.py"` → `("", "c.py")`.
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// `join("a", "b")` → `"a/b"`, `join("", "b")` → `"b"`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// An in-memory tree, for tests and virtual merges.
#[derive(Debug, Clone, Default)]
#[cfg(test)]
pub struct MemTree {
    pub files: std::collections::BTreeMap<String, Vec<u8>>,
}

#[cfg(test)]
impl MemTree {
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }
    #[cfg(test)]
    pub fn add(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(path.to_string(), content.into());
        self
    }
}

#[cfg(test)]
impl SourceTree for MemTree {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<Entry> = Vec::new();
        for path in self.files.keys() {
            if let Some(rest) = path.strip_prefix(&prefix) {
                match rest.find('/') {
                    Some(i) => {
                        let name = &rest[..i];
                        if out.last().map(|e| e.name.as_str()) != Some(name) {
                            out.push(Entry {
                                name: name.to_string(),
                                kind: EntryKind::Dir,
                            })
                        }
                    }
                    None => out.push(Entry {
                        name: rest.to_string(),
                        kind: EntryKind::File,
                    }),
                }
            }
        }
        if out.is_empty() && !dir.is_empty() {
            return None;
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Some(out)
    }
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.to_string()))
    }
}
