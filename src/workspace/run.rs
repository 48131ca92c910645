//! What a run opens once and shares: the git repository around the project
//! (discovered when first needed) and its parse cache (opened when first
//! needed, saved once at the end of the run when a command kept what it
//! learnt).

use std::cell::{Cell, OnceCell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;

use crate::adapters::git::Repo;
use crate::adapters::store::parse_cache::{cache_file, CachingReader};
use crate::error::{Error, Result};

/// The run's repository and parse cache. Not shared across threads: the
/// repository is not `Sync`; what the commands hand to parallel code (the
/// parse cache, through `&CachingReader`) is.
pub struct Run {
    root: PathBuf,
    /// What discovering the repository around `root` gave: the repository,
    /// or the error, and whether that was because there is none at all.
    repo: OnceCell<std::result::Result<Repo, (bool, Error)>>,
    parse_cache: RefCell<Option<Rc<CachingReader>>>,
    /// A command kept what the parse cache learnt: it is saved at the end.
    keep: Cell<bool>,
    discoveries: Cell<usize>,
    caches_opened: Cell<usize>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("root", &self.root)
            .field("repo", &self.repo.get().map(|r| r.as_ref().ok()))
            .field("parse_cache_open", &self.parse_cache.borrow().is_some())
            .finish()
    }
}

impl Run {
    pub fn new(root: PathBuf) -> Run {
        Run {
            root,
            repo: OnceCell::new(),
            parse_cache: RefCell::new(None),
            keep: Cell::new(false),
            discoveries: Cell::new(0),
            caches_opened: Cell::new(0),
        }
    }

    fn discovered(&self) -> &std::result::Result<Repo, (bool, Error)> {
        self.repo.get_or_init(|| {
            self.discoveries.set(self.discoveries.get() + 1);
            Repo::discover_or_absent(&self.root)
        })
    }

    /// The repository around the project root ([`Repo::discover_or_absent`]; its
    /// error each time it is asked, when there is none).
    pub fn repo(&self) -> Result<&Repo> {
        self.discovered().as_ref().map_err(|(_, e)| e.clone())
    }

    /// [`Run::repo`], with `None` when the root is in no repository at all;
    /// a repository that is there but cannot be read is an error.
    pub fn find_repo(&self) -> Result<Option<&Repo>> {
        match self.discovered() {
            Ok(repo) => Ok(Some(repo)),
            Err((true, _)) => Ok(None),
            Err((false, e)) => Err(e.clone()),
        }
    }

    /// The parse cache of `repo` (the run's own, from [`Run::repo`]),
    /// opened on first use.
    pub fn parse_cache(&self, repo: &Repo) -> Rc<CachingReader> {
        let mut slot = self.parse_cache.borrow_mut();
        let reader = slot.get_or_insert_with(|| {
            self.caches_opened.set(self.caches_opened.get() + 1);
            Rc::new(CachingReader::open(cache_file(&repo.cache_dir())))
        });
        Rc::clone(reader)
    }

    /// What the parse cache learnt is to be saved (by
    /// [`Run::release_parse_cache`]). A command says so once its reading
    /// is done: a run that stops before (an error, nothing to do) leaves
    /// the cache file as it was.
    pub fn keep_parse_cache(&self) {
        self.keep.set(true);
    }

    /// Save the parse cache, if it was opened and kept, and let it go: the
    /// memory is freed once the callers' handles are dropped too. Saving is
    /// best effort: a cache that cannot be written is only slower next time.
    pub fn release_parse_cache(&self) {
        let reader = self.parse_cache.borrow_mut().take();
        if let Some(reader) = reader {
            if self.keep.replace(false) {
                let _ = reader.save();
            }
        }
    }

    /// How many times the repository was discovered (at most once).
    #[cfg(test)]
    pub fn discoveries(&self) -> usize {
        self.discoveries.get()
    }

    /// How many times the parse cache was opened.
    #[cfg(test)]
    pub fn caches_opened(&self) -> usize {
        self.caches_opened.get()
    }
}
