//! Quick questions about the repository around a directory, asked without
//! opening a whole [`super::Repo`] (no preflight, no project root): what git
//! hooks and the database check need. No repository is an answer too
//! (`false`, `None`), never an error, but for [`hooks_dir`].

use std::path::{Path, PathBuf};

use git2::{Repository, RepositoryState};

use crate::error::{Error, Result};

/// Whether a rebase (or `git am`) is in progress in the repository around
/// `dir`; `false` when there is none.
pub fn rebase_in_progress(dir: &Path) -> bool {
    Repository::discover(dir).is_ok_and(|r| {
        matches!(
            r.state(),
            RepositoryState::Rebase
                | RepositoryState::RebaseInteractive
                | RepositoryState::RebaseMerge
                | RepositoryState::ApplyMailbox
                | RepositoryState::ApplyMailboxOrRebase
        )
    })
}

/// What the commit just made looks like, for a post-commit hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCommit {
    /// HEAD has two parents or more.
    pub head_is_merge: bool,
    /// The message of HEAD's newest reflog entry (`commit (merge): …`).
    pub reflog_message: Option<String>,
    /// The (per-worktree) git directory, where `sequencer/todo` is.
    pub git_dir: PathBuf,
}

/// [`LastCommit`] of the repository around `dir`; `None` when there is no
/// repository.
pub fn last_commit(dir: &Path) -> Option<LastCommit> {
    let repo = Repository::discover(dir).ok()?;
    let head_is_merge = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .is_ok_and(|c| c.parent_count() >= 2);
    let reflog_message = repo
        .reflog("HEAD")
        .ok()
        .and_then(|log| Some(log.get(0)?.message().ok()??.to_string()));
    Some(LastCommit {
        head_is_merge,
        reflog_message,
        git_dir: repo.path().to_path_buf(),
    })
}

/// The branch names around a branch switch, as `git checkout` takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchNames {
    /// `@{-1}`: the commit id (hex) and the short name of the branch it
    /// named, if it named one.
    pub previous: Option<(String, Option<String>)>,
    /// The branch checked out now; `None` when detached.
    pub current: Option<String>,
}

/// [`SwitchNames`] of the repository around `dir`; `None` when there is no
/// repository.
pub fn switch_names(dir: &Path) -> Option<SwitchNames> {
    let repo = Repository::discover(dir).ok()?;
    let previous = repo.revparse_ext("@{-1}").ok().map(|(obj, r)| {
        let name = r.and_then(|r| r.shorthand().ok().map(str::to_string));
        (obj.id().to_string(), name)
    });
    let current = repo
        .head()
        .ok()
        .filter(|h| h.is_branch())
        .and_then(|h| h.shorthand().ok().map(str::to_string));
    Some(SwitchNames { previous, current })
}

/// The directory git runs hooks from, for the repository around `dir`:
/// `core.hooksPath` when set (a relative one is relative to the work-tree
/// top), else the hooks directory of the common git directory (shared by
/// linked worktrees). Asks `git rev-parse --git-path hooks`, which applies
/// exactly git's rules; without a `git` program, reads the configuration
/// with libgit2.
pub fn hooks_dir(dir: &Path) -> Result<PathBuf> {
    let out = crate::adapters::process::Cmd::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let p = PathBuf::from(text.trim_end_matches(['\n', '\r']));
            Ok(if p.is_absolute() { p } else { dir.join(p) })
        }
        Ok(o) => Err(Error::git(format!(
            "cannot find the git hooks directory of {}",
            dir.display()
        ))
        .cause(String::from_utf8_lossy(&o.stderr).trim().to_string())
        .hint("git hooks need a git repository: pass -C with a directory inside one")),
        Err(_) => hooks_dir_libgit2(dir),
    }
}

fn hooks_dir_libgit2(dir: &Path) -> Result<PathBuf> {
    let repo = Repository::discover(dir).map_err(|e| {
        Error::git(format!("{} is not in a git repository", dir.display()))
            .cause(e.message())
            .hint("git hooks need a git repository: pass -C with a directory inside one")
    })?;
    let configured = repo
        .config()
        .and_then(|mut c| c.snapshot())
        .ok()
        .and_then(|c| c.get_path("core.hooksPath").ok());
    Ok(match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.workdir().unwrap_or(repo.path()).join(p),
        None => repo.commondir().join("hooks"),
    })
}
