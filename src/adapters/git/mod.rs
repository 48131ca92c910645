//! Reading the project at git revisions: the one place that uses `git2`.
//!
//! - [`Repo`]: the repository around the project, revisions, merge bases,
//!   branches, what is published;
//! - [`GitTree`]: the project in one commit;
//! - [`WorktreeTree`]: the work tree, with blob ids from the index for files
//!   that are unchanged per their stat data;
//! - [`MergedTree`]: the virtual merge of two trees over their merge base;
//! - [`RepoState`]: where the user is (merge, rebase, cherry-pick, …).
//! - [`rebase_in_progress`], [`last_commit`], [`switch_names`],
//!   [`hooks_dir`]: quick questions for git hooks, without a whole [`Repo`];
//! - [`hash_blob`], [`blob_hex`]: git's blob ids of bytes;
//! - [`GitError`]: libgit2's errors as code outside the adapter sees them;
//! - [`process`]: the user's own `git` program (run by [`crate::adapters::process`]).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use git2::{ErrorCode, ObjectType, Repository};

use crate::core::tree::BlobId;
use crate::error::{Error, Result};

mod commits;
mod dirs;
mod merge;
mod pool;
mod preflight;
mod probe;
pub mod process;
mod published;
mod refs;
mod state;
mod status;
#[cfg(test)]
pub(crate) mod testutil;
mod tree;
mod worktree;

#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod tests;

pub use dirs::{Blobs, DirSpec};
pub use git2::Oid;
pub use merge::{MergedTree, Side};
pub use probe::{hooks_dir, last_commit, rebase_in_progress, switch_names};
pub use state::{InProgress, RepoState};
pub use tree::{oid_bytes, GitTree, Snapshot};
pub use worktree::WorktreeTree;

use pool::Pool;

/// git's blob id of some bytes: SHA-1 of `blob <len>\0<bytes>`.
pub fn hash_blob(bytes: &[u8]) -> BlobId {
    match Oid::hash_object(ObjectType::Blob, bytes) {
        Ok(oid) => oid_bytes(oid),
        // Hashing in memory does not fail; a zero id never matches a blob.
        Err(_) => [0; 20],
    }
}

/// git's blob id of some bytes, in hex; `""` if it cannot be computed.
pub fn blob_hex(bytes: &[u8]) -> String {
    Oid::hash_object(ObjectType::Blob, bytes)
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// An error from libgit2, for code outside this adapter: what it says.
#[derive(Debug)]
pub struct GitError(git2::Error);

impl GitError {
    /// libgit2's message.
    pub fn message(&self) -> &str {
        self.0.message()
    }
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GitError {}

impl From<git2::Error> for GitError {
    fn from(e: git2::Error) -> GitError {
        GitError(e)
    }
}

/// A [`BlobId`] as an [`Oid`].
pub fn blob_oid(id: &BlobId) -> Oid {
    Oid::from_bytes(id).unwrap_or(Oid::ZERO_SHA1)
}

/// A revision resolved to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The revision as given (`main`, `HEAD~2`, `v1.0`, an id).
    pub rev: String,
    pub oid: Oid,
    /// The full name of the reference it named, if any
    /// (`refs/remotes/origin/main`).
    pub refname: Option<String>,
    /// The abbreviated commit id.
    pub short: String,
    /// The first line of the commit message.
    pub summary: String,
}

impl Resolved {
    /// `main (1a2b3c4)`, or just `1a2b3c4` when the revision is the id.
    pub fn describe(&self) -> String {
        let rev = self.rev.to_ascii_lowercase();
        if rev.len() >= 4
            && rev.bytes().all(|b| b.is_ascii_hexdigit())
            && self.oid.to_string().starts_with(&rev)
        {
            self.short.clone()
        } else {
            format!("{} ({})", self.rev, self.short)
        }
    }
}

/// What HEAD is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadInfo {
    /// The branch checked out (`main`); `None` when detached.
    pub branch: Option<String>,
    /// The commit; `None` on a branch with no commits yet.
    pub oid: Option<Oid>,
    pub detached: bool,
}

/// A local or remote-tracking branch, or another reference a glob named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Short name of a branch (`feature/x`, `origin/main`); the full name
    /// of any other reference (`refs/pull/12/head`).
    pub name: String,
    /// Full name: `refs/heads/feature/x`, `refs/remotes/origin/main`.
    pub refname: String,
    /// What it points at, tags peeled.
    pub oid: Oid,
    /// A remote-tracking branch.
    pub remote: bool,
}

/// The git repository around the project.
pub struct Repo {
    repo: Repository,
    pool: Arc<Pool>,
    git_dir: PathBuf,
    common_dir: PathBuf,
    workdir: Option<PathBuf>,
    project_root: PathBuf,
    prefix: String,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("git_dir", &self.git_dir)
            .field("workdir", &self.workdir)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn git_err(message: impl Into<String>, e: git2::Error) -> Error {
    let err = Error::git(message).cause(e.message());
    if e.class() == git2::ErrorClass::Odb && e.code() == ErrorCode::NotFound {
        // A damaged or partial clone: say so, and how to mend it.
        return err
            .cause("an object the revision needs is missing from the repository")
            .hint("`git fsck --full` lists what is missing or damaged")
            .hint("fetch the objects again: `git fetch --refetch` (a partial clone: clone or fetch without --filter)");
    }
    err
}

impl Repo {
    /// [`Repo::discover_or_absent`], with the error alone (for the
    /// adapter's tests; a run discovers its repository once, through the
    /// workspace).
    #[cfg(test)]
    pub fn discover(dir: &Path) -> Result<Repo> {
        Repo::discover_or_absent(dir).map_err(|(_, e)| e)
    }

    /// The repository containing `dir`, which is taken as the project root.
    /// Works from linked worktrees and inside bare repositories (where the
    /// project is the whole tree). On failure, the error and why:
    /// `Err((true, e))` when there is no repository around `dir` at all (or
    /// `dir` cannot be read), `Err((false, e))` when one is there but cannot
    /// be read.
    pub fn discover_or_absent(dir: &Path) -> std::result::Result<Repo, (bool, Error)> {
        let absent = |e: Error| (true, e);
        let failed = |e: Error| (false, e);
        let abs = dir
            .canonicalize()
            .map_err(|e| {
                Error::git(format!("cannot read the directory {}", dir.display())).cause(e)
            })
            .map_err(absent)?;
        preflight::check_around(&abs).map_err(failed)?;
        let repo = Repository::discover(&abs).map_err(|e| {
            if e.code() == ErrorCode::NotFound {
                absent(Error::git(format!("{} is not in a git repository", dir.display())).hint(
                    "comparing revisions needs a git checkout: pass -C with a directory inside one, \
                     or check the work tree alone (without --base or --ref)",
                ))
            } else {
                failed(git_err("cannot open the git repository", e))
            }
        })?;
        let git_dir = canonical(repo.path());
        let common_dir = canonical(repo.commondir());
        let workdir = repo.workdir().map(canonical);
        let prefix = match &workdir {
            None => String::new(),
            Some(top) => {
                if abs.starts_with(&git_dir) || abs.starts_with(&common_dir) {
                    return Err(failed(
                        Error::git(format!(
                            "{} is inside the .git directory, not in the work tree",
                            dir.display()
                        ))
                        .hint("pass -C with the project directory"),
                    ));
                }
                let rel = abs.strip_prefix(top).map_err(|_| {
                    failed(Error::git(format!(
                        "{} is outside the repository's work tree {}",
                        dir.display(),
                        top.display()
                    )))
                })?;
                let mut parts = Vec::new();
                for c in rel.components() {
                    match c {
                        Component::Normal(p) => parts.push(p.to_str().ok_or_else(|| {
                            failed(Error::git(format!(
                                "{}: the path is not UTF-8",
                                dir.display()
                            )))
                        })?),
                        _ => {
                            return Err(failed(Error::git(format!(
                                "{} is outside the repository's work tree",
                                dir.display()
                            ))))
                        }
                    }
                }
                parts.join("/")
            }
        };
        Ok(Repo {
            pool: Arc::new(Pool::new(&git_dir)),
            repo,
            git_dir,
            common_dir,
            workdir,
            project_root: abs,
            prefix,
        })
    }

    /// The underlying `git2` repository (for the adapter's tests).
    #[cfg(test)]
    pub(crate) fn raw(&self) -> &Repository {
        &self.repo
    }

    /// The commits HEAD's reflog says HEAD was at, newest first, among its
    /// `limit` newest entries (a commit again each time it was again);
    /// nothing when there is no reflog.
    pub fn head_reflog(&self, limit: usize) -> Vec<Oid> {
        let Ok(log) = self.repo.reflog("HEAD") else {
            return Vec::new();
        };
        log.iter().take(limit).map(|e| e.id_new()).collect()
    }

    /// The project root on disk (as given to [`Repo::discover_or_absent`]).
    #[cfg(test)]
    pub fn project_root(&self) -> &Path {
        &self.project_root
    }

    /// The project root relative to the work-tree top, '/'-separated; `""`
    /// at the top (and in a bare repository).
    #[cfg(test)]
    pub fn project_prefix(&self) -> &str {
        &self.prefix
    }

    /// The (per-worktree) git directory: `.git`, `.git/worktrees/NAME`.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The git directory shared by all worktrees (objects, refs, config).
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    pub fn is_bare(&self) -> bool {
        self.workdir.is_none()
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commit graph, read through djmig's file of commits.
    pub(crate) fn commits(&self) -> commits::Commits<'_> {
        commits::Commits::open(&self.repo, &self.cache_dir())
    }

    /// Where djmig keeps its files for this repository (shared by all
    /// worktrees): `<common dir>/djmig`.
    pub fn cache_dir(&self) -> PathBuf {
        self.common_dir.join("djmig")
    }

    /// Project files (project-relative paths) that are added or modified
    /// in commit `b` compared with commit `a`: a tree diff, which skips
    /// every directory whose tree is the same on both sides.
    #[cfg(test)]
    pub fn added_or_modified(&self, a: Oid, b: Oid) -> Result<Vec<String>> {
        let tree = |c: Oid| {
            self.repo
                .find_commit(c)
                .and_then(|c| c.tree())
                .map_err(|e| git_err(format!("cannot read the tree of {}", short(c)), e))
        };
        let (ta, tb) = (tree(a)?, tree(b)?);
        let mut opts = git2::DiffOptions::new();
        if !self.prefix.is_empty() {
            opts.pathspec(&self.prefix);
        }
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&ta), Some(&tb), Some(&mut opts))
            .map_err(|e| git_err("cannot compare two trees", e))?;
        let mut out = Vec::new();
        for d in diff.deltas() {
            if !matches!(d.status(), git2::Delta::Added | git2::Delta::Modified) {
                continue;
            }
            let Some(p) = d.new_file().path().and_then(|p| p.to_str()) else {
                continue;
            };
            let rel = if self.prefix.is_empty() {
                Some(p)
            } else {
                p.strip_prefix(&self.prefix)
                    .and_then(|r| r.strip_prefix('/'))
            };
            if let Some(rel) = rel {
                out.push(rel.to_string());
            }
        }
        Ok(out)
    }

    /// A project-relative path as a repository path.
    fn repo_path(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else if path.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    /// Resolve any revision git understands to a commit.
    pub fn resolve(&self, rev: &str) -> Result<Resolved> {
        let (obj, reference) = self
            .repo
            .revparse_ext(rev)
            .map_err(|e| self.unknown_rev(rev, e))?;
        let commit = obj.peel_to_commit().map_err(|e| {
            git_err(format!("`{rev}` does not name a commit"), e)
                .hint("give a branch, a tag or a commit id")
        })?;
        let short = commit
            .as_object()
            .short_id()
            .ok()
            .and_then(|b| b.as_str().ok().map(str::to_string))
            .unwrap_or_else(|| commit.id().to_string()[..7].to_string());
        Ok(Resolved {
            rev: rev.to_string(),
            oid: commit.id(),
            refname: reference.and_then(|r| r.name().ok().map(str::to_string)),
            short,
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
        })
    }

    fn unknown_rev(&self, rev: &str, e: git2::Error) -> Error {
        if self.has_no_commits() {
            return Error::git(format!(
                "the repository has no commits yet, so `{rev}` names nothing"
            ))
            .hint("commit first, or check the work tree alone (without --base or --ref)");
        }
        if !matches!(
            e.code(),
            ErrorCode::NotFound | ErrorCode::InvalidSpec | ErrorCode::Ambiguous
        ) {
            return git_err(format!("cannot resolve `{rev}`"), e);
        }
        if e.code() == ErrorCode::Ambiguous {
            return git_err(format!("`{rev}` is ambiguous"), e)
                .hint("give more characters of the commit id, or the full reference name");
        }
        let mut err = Error::git(format!("unknown revision `{rev}`"));
        if self.repo.is_shallow() && (rev.contains('~') || rev.contains('^')) {
            err = err.hint(SHALLOW_HINT).hint(CI_HINT);
        }
        err = err.hint("`git branch -a` lists the branches, `git tag` the tags");
        let remote = rev
            .split_once('/')
            .map(|(r, _)| r)
            .filter(|r| self.repo.find_remote(r).is_ok());
        match remote {
            Some(r) => err.hint(format!(
                "a remote-tracking branch exists only once fetched: `git fetch {r}`"
            )),
            None => err.hint("if it is a remote branch, fetch it first: `git fetch`"),
        }
    }

    /// Whether the repository has no commits at all (HEAD unborn and no
    /// references).
    pub fn has_no_commits(&self) -> bool {
        self.repo
            .head()
            .is_err_and(|e| e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound)
            && self
                .repo
                .references()
                .map(|mut r| r.next().is_none())
                .unwrap_or(false)
    }

    /// What HEAD is.
    pub fn head(&self) -> Result<HeadInfo> {
        let detached = self.repo.head_detached().unwrap_or(false);
        match self.repo.head() {
            Ok(h) => Ok(HeadInfo {
                branch: if h.is_branch() {
                    h.shorthand().ok().map(str::to_string)
                } else {
                    None
                },
                oid: h.target(),
                detached,
            }),
            Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
                let branch = self
                    .repo
                    .find_reference("HEAD")
                    .ok()
                    .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
                    .map(|t| t.strip_prefix("refs/heads/").unwrap_or(&t).to_string());
                Ok(HeadInfo {
                    branch,
                    oid: None,
                    detached: false,
                })
            }
            Err(e) => Err(git_err("cannot read HEAD", e)),
        }
    }

    /// The project in the tree of a commit.
    pub fn tree(&self, commit: Oid) -> Result<GitTree> {
        let c = self
            .repo
            .find_commit(commit)
            .map_err(|e| git_err(format!("{commit} is not a commit"), e))?;
        let root = c
            .tree()
            .map_err(|e| git_err(format!("cannot read the tree of {commit}"), e))?;
        let root = if self.prefix.is_empty() {
            Some(root.id())
        } else {
            match root.get_path(Path::new(&self.prefix)) {
                Ok(e) if e.kind() == Some(ObjectType::Tree) => Some(e.id()),
                _ => None,
            }
        };
        Ok(GitTree::new(self.pool.clone(), commit, root))
    }

    /// The work tree under the project root, with index blob ids.
    pub fn worktree_tree(&self) -> Result<WorktreeTree> {
        if self.workdir.is_none() {
            return Err(Error::git("a bare repository has no work tree")
                .hint("give revisions to read: --ref for graph, --base and --head for check"));
        }
        Ok(WorktreeTree::open(
            &self.project_root,
            &self.prefix,
            &self.git_dir,
            &self.repo,
            &self.pool,
        ))
    }

    /// The best common ancestor of two commits; `None` for unrelated
    /// histories. In a shallow clone whose history stops before the two
    /// meet, an error that says how to get the history.
    pub fn merge_base(&self, a: Oid, b: Oid) -> Result<Option<Oid>> {
        match self.repo.merge_base(a, b) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == ErrorCode::NotFound => {
                if self.repo.is_shallow() {
                    Err(Error::git(format!(
                        "the history is too short to find where {} and {} diverged: this is a shallow clone",
                        short(a),
                        short(b)
                    ))
                    .hint(SHALLOW_HINT)
                    .hint(CI_HINT))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(git_err(
                format!(
                    "cannot find the merge base of {} and {}",
                    short(a),
                    short(b)
                ),
                e,
            )),
        }
    }

    /// The newest commit reachable from `from` (and not from `stop_at`)
    /// that added the project-relative file `path`: it has the file and
    /// none of its parents has.
    #[cfg(test)]
    pub fn commit_adding(
        &self,
        path: &str,
        from: Oid,
        stop_at: Option<Oid>,
    ) -> Result<Option<Oid>> {
        let full = self.repo_path(path);
        let walk_err = |e| git_err("cannot walk the history", e);
        let mut walk = self.repo.revwalk().map_err(walk_err)?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL)
            .map_err(walk_err)?;
        walk.push(from).map_err(walk_err)?;
        if let Some(s) = stop_at {
            walk.hide(s).map_err(walk_err)?;
        }
        let mut has: std::collections::HashMap<Oid, bool> = Default::default();
        let mut has_file = |repo: &Repository, c: Oid| -> bool {
            *has.entry(c).or_insert_with(|| {
                repo.find_commit(c)
                    .and_then(|c| c.tree())
                    .and_then(|t| t.get_path(Path::new(&full)))
                    .is_ok_and(|e| e.kind() == Some(ObjectType::Blob))
            })
        };
        for oid in walk {
            let oid = oid.map_err(walk_err)?;
            if !has_file(&self.repo, oid) {
                continue;
            }
            let commit = self
                .repo
                .find_commit(oid)
                .map_err(|e| git_err("cannot read a commit", e))?;
            let parents: Vec<Oid> = commit.parent_ids().collect();
            if parents.iter().all(|p| !has_file(&self.repo, *p)) {
                return Ok(Some(oid));
            }
        }
        Ok(None)
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// A commit's abbreviated id, as git shows it (7 hex digits).
pub fn short(oid: Oid) -> String {
    oid.to_string()[..7].to_string()
}

const SHALLOW_HINT: &str =
    "fetch the whole history: `git fetch --unshallow` (or deepen it: `git fetch --deepen=100`)";
const CI_HINT: &str =
    "in CI, check out the whole history: `fetch-depth: 0` in actions/checkout (GitHub Actions), \
     `GIT_DEPTH: 0` (GitLab CI)";
