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

    /// The bytes of a blob of at most `cap` bytes: its size is read from
    /// the object's header first, so a large (or highly compressed) blob
    /// is refused without being inflated.
    pub(crate) fn read_blob(&self, oid: Oid, cap: u64) -> Result<Vec<u8>, BlobError> {
        self.with(|r| {
            let odb = r.odb()?;
            let (size, kind) = odb.read_header(oid)?;
            if kind != git2::ObjectType::Blob {
                return Ok(Err(BlobError::Other(format!("{oid} is not a blob"))));
            }
            if size as u64 > cap {
                return Ok(Err(BlobError::TooLarge(size as u64)));
            }
            let obj = odb.read(oid)?;
            Ok(Ok(obj.data().to_vec()))
        })
        .unwrap_or_else(|e| Err(BlobError::from(e)))
    }
}

/// Why a blob was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlobError {
    /// Not in the object database.
    Missing(String),
    /// Larger than asked for.
    TooLarge(u64),
    Other(String),
}

/// A copy of a git2 error (which is not `Clone`).
pub(crate) trait CloneError {
    fn clone_error(&self) -> git2::Error;
}

impl CloneError for git2::Error {
    fn clone_error(&self) -> git2::Error {
        git2::Error::new(self.code(), self.class(), self.message())
    }
}

impl From<git2::Error> for BlobError {
    fn from(e: git2::Error) -> Self {
        if e.code() == git2::ErrorCode::NotFound || e.class() == git2::ErrorClass::Odb {
            BlobError::Missing(e.message().to_string())
        } else {
            BlobError::Other(e.message().to_string())
        }
    }
}
