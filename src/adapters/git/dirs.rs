//! What many commits add to a few directories, compared with one base
//! commit: for `scan` over thousands of refs, which migration files each
//! ref has that the base does not.
//!
//! A tree diff against the base walks every directory that differs, and a
//! ref from long ago differs almost everywhere. Here only the path down to
//! each migrations directory is followed, a subtree the same as the base's
//! is skipped by its id, and a directory's new files are worked out once
//! per tree id, however many refs share it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::Arc;

use git2::{ObjectType, Oid};

use super::pool::{BlobError, Pool};
use super::{git_err, oid_bytes, Repo};
use crate::core::tree::{BlobId, Entry, SourceTree};
use crate::error::Result;

/// A directory to look into, and the file names the base has there.
#[derive(Debug, Clone)]
pub struct DirSpec {
    /// Project-relative, '/'-separated.
    pub path: String,
    pub known: HashSet<String>,
}

/// `(file name, blob id)` of files, sorted by name.
pub type Files = Arc<Vec<(String, BlobId)>>;

/// Files of one directory that the base does not have.
#[derive(Debug, Clone)]
pub struct NewFiles {
    /// Which [`DirSpec`].
    pub dir: usize,
    /// The directory's tree in this commit.
    pub tree: Oid,
    /// `(file name, blob id)`, regular files only, sorted by name.
    pub files: Files,
}

/// One path component on the way to the directories.
#[derive(Default)]
struct Node {
    children: BTreeMap<String, usize>,
    /// The [`DirSpec`] ending here.
    dir: Option<usize>,
    /// Its tree id in the base.
    base: Option<Oid>,
}

/// Reads many commits' directories against one base.
pub struct DirScan<'a> {
    repo: &'a Repo,
    dirs: &'a [DirSpec],
    nodes: Vec<Node>,
    memo: HashMap<(usize, Oid), Files>,
}

impl Repo {
    /// Get ready to compare commits with `base_tree` (a root tree id) in
    /// `dirs`.
    pub fn dir_scan<'a>(&'a self, base_tree: Oid, dirs: &'a [DirSpec]) -> Result<DirScan<'a>> {
        let mut nodes = vec![Node::default()];
        for (i, d) in dirs.iter().enumerate() {
            let full = self.repo_path(&d.path);
            let mut at = 0;
            for part in full.split('/').filter(|p| !p.is_empty()) {
                at = match nodes[at].children.get(part) {
                    Some(n) => *n,
                    None => {
                        nodes.push(Node::default());
                        let n = nodes.len() - 1;
                        nodes[at].children.insert(part.to_string(), n);
                        n
                    }
                };
            }
            nodes[at].dir = Some(i);
        }
        let mut scan = DirScan {
            repo: self,
            dirs,
            nodes,
            memo: HashMap::new(),
        };
        scan.mark_base(0, base_tree)?;
        Ok(scan)
    }

    /// Whether a tree has a regular file of this name.
    pub fn tree_has_file(&self, tree: Oid, name: &str) -> Result<bool> {
        let t = self
            .repo
            .find_tree(tree)
            .map_err(|e| git_err(format!("cannot read tree {tree}"), e))?;
        Ok(t.get_name(name)
            .is_some_and(|e| e.kind() == Some(ObjectType::Blob) && e.filemode() != 0o120000))
    }

    /// Blobs read by id ([`Blobs`]).
    pub fn blobs(&self) -> Blobs {
        Blobs {
            pool: self.pool.clone(),
        }
    }
}

impl DirScan<'_> {
    fn tree(&self, oid: Oid) -> Result<git2::Tree<'_>> {
        self.repo
            .repo
            .find_tree(oid)
            .map_err(|e| git_err(format!("cannot read tree {oid}"), e))
    }

    fn mark_base(&mut self, node: usize, tree: Oid) -> Result<()> {
        self.nodes[node].base = Some(tree);
        let children: Vec<(String, usize)> = self.nodes[node]
            .children
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if children.is_empty() {
            return Ok(());
        }
        let ids: Vec<(usize, Oid)> = {
            let t = self.tree(tree)?;
            children
                .iter()
                .filter_map(|(name, n)| {
                    let e = t.get_name(name)?;
                    (e.kind() == Some(ObjectType::Tree)).then(|| (*n, e.id()))
                })
                .collect()
        };
        for (n, id) in ids {
            self.mark_base(n, id)?;
        }
        Ok(())
    }

    /// The directories where the commit with root tree `root` has files
    /// the base does not.
    pub fn new_files(&mut self, root: Oid) -> Result<Vec<NewFiles>> {
        let mut out = Vec::new();
        self.descend(0, root, &mut out)?;
        Ok(out)
    }

    fn descend(&mut self, node: usize, tree: Oid, out: &mut Vec<NewFiles>) -> Result<()> {
        if self.nodes[node].base == Some(tree) {
            return Ok(());
        }
        if let Some(dir) = self.nodes[node].dir {
            let files = self.new_in(dir, tree)?;
            if !files.is_empty() {
                out.push(NewFiles { dir, tree, files });
            }
        }
        if self.nodes[node].children.is_empty() {
            return Ok(());
        }
        let next: Vec<(usize, Oid)> = {
            let t = self.tree(tree)?;
            self.nodes[node]
                .children
                .iter()
                .filter_map(|(name, n)| {
                    let e = t.get_name(name)?;
                    (e.kind() == Some(ObjectType::Tree)).then(|| (*n, e.id()))
                })
                .collect()
        };
        for (n, id) in next {
            self.descend(n, id, out)?;
        }
        Ok(())
    }

    fn new_in(&mut self, dir: usize, tree: Oid) -> Result<Files> {
        if let Some(hit) = self.memo.get(&(dir, tree)) {
            return Ok(hit.clone());
        }
        let known = &self.dirs[dir].known;
        let files: Vec<(String, BlobId)> = self
            .tree(tree)?
            .iter()
            .filter(|e| e.kind() == Some(ObjectType::Blob) && e.filemode() != 0o120000)
            .filter_map(|e| {
                let name = e.name().ok()?;
                (!known.contains(name)).then(|| (name.to_string(), oid_bytes(e.id())))
            })
            .collect();
        let files = Arc::new(files);
        self.memo.insert((dir, tree), files.clone());
        Ok(files)
    }
}

/// Blobs by id as a [`SourceTree`] whose paths are the ids in hex: files
/// found by a tree walk go through the parse cache (which looks a file up
/// by its blob id first) without a tree to read them from.
pub struct Blobs {
    pool: Arc<Pool>,
}

impl Blobs {
    /// The path under which `id` is read.
    pub fn path(id: &BlobId) -> String {
        super::blob_oid(id).to_string()
    }
}

impl SourceTree for Blobs {
    fn list_dir(&self, _dir: &str) -> Option<Vec<Entry>> {
        None
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let oid = Oid::from_str(path).map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))?;
        self.pool
            .read_blob(oid, crate::core::limits::Kind::Migration.cap())
            .map_err(|e| match e {
                BlobError::Missing(m) => io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("blob {oid} is missing from the repository ({m})"),
                ),
                BlobError::TooLarge(size) => io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "blob {oid} is {size} bytes, over the {} bytes read of a migration",
                        crate::core::limits::Kind::Migration.cap()
                    ),
                ),
                BlobError::Other(m) => io::Error::other(m),
            })
    }

    fn blob_id(&self, path: &str) -> Option<BlobId> {
        Oid::from_str(path).ok().map(oid_bytes)
    }
}
