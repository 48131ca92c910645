//! A small pool of `git2::Repository` handles opened on one git directory.
//!
//! `git2::Repository` is `Send` but not `Sync`: the trees read objects in
//! parallel (the loader parses with rayon), so each reader borrows a handle
//! of its own for the duration of one read. Handles (and their pack-file
//! windows) are reused across reads; at most one is opened per thread that
//! reads at the same time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use git2::{Oid, Repository};

pub(crate) struct Pool {
    git_dir: PathBuf,
    repos: Mutex<Vec<Repository>>,
}

impl Pool {
    pub(crate) fn new(git_dir: &Path) -> Self {
        Pool {
            git_dir: git_dir.to_path_buf(),
            repos: Mutex::new(Vec::new()),
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
