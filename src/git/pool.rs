//! A small pool of `git2::Repository` handles opened on one git directory.
//!
//! `git2::Repository` is `Send` but not `Sync`: the trees read objects in
//! parallel (the loader parses with rayon), so each reader borrows a handle
//! of its own for the duration of one read. Handles (and their pack-file
//! windows) are reused across reads; at most one is opened per thread that
//! reads at the same time.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use git2::{Oid, Repository};

pub(crate) struct Pool {
    git_dir: PathBuf,
    repos: Mutex<Vec<Repository>>,
    /// Tree objects already read, by id: the trees of several revisions
    /// (a merge base, both sides, the branches of a scan) share most
    /// directories, and each is decoded once.
    trees: RwLock<HashMap<Oid, Arc<dyn Any + Send + Sync>>>,
}

impl Pool {
    pub(crate) fn new(git_dir: &Path) -> Self {
        Pool {
            git_dir: git_dir.to_path_buf(),
            repos: Mutex::new(Vec::new()),
            trees: RwLock::new(HashMap::new()),
        }
    }

    /// Run `f` with a repository handle of its own.
    pub(crate) fn with<R>(
        &self,
        f: impl FnOnce(&Repository) -> Result<R, git2::Error>,
    ) -> Result<R, git2::Error> {
        let taken = self.repos.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let repo = match taken {
            Some(r) => r,
            None => Repository::open(&self.git_dir)?,
        };
        let out = f(&repo);
        self.repos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(repo);
        out
    }

    /// The decoded form of tree `id`, made once per pool by `make`.
    pub(crate) fn tree<T: Send + Sync + 'static>(
        &self,
        id: Oid,
        make: impl FnOnce(&Repository) -> Result<T, git2::Error>,
    ) -> Result<Arc<T>, git2::Error> {
        if let Some(hit) = self
            .trees
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            if let Ok(t) = hit.clone().downcast::<T>() {
                return Ok(t);
            }
        }
        let made = Arc::new(self.with(make)?);
        self.trees
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, made.clone());
        Ok(made)
    }

    /// The bytes of a blob.
    pub(crate) fn read_blob(&self, oid: Oid) -> Result<Vec<u8>, git2::Error> {
        self.with(|r| {
            let odb = r.odb()?;
            let obj = odb.read(oid)?;
            if obj.kind() != git2::ObjectType::Blob {
                return Err(git2::Error::from_str(&format!("{oid} is not a blob")));
            }
            Ok(obj.data().to_vec())
        })
    }
}
