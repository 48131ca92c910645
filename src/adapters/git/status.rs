//! The work tree against the index and HEAD: which files hold the user's
//! own uncommitted edits, and which are still unmerged after a stopped
//! merge, rebase or cherry-pick.

use std::path::Path;

use git2::{Status, StatusOptions};

use super::{git_err, Repo};
use crate::error::Result;

impl Repo {
    /// Project files (project-relative) among `files` with changes the user
    /// has not committed. While git has an operation stopped half-way
    /// (merge, rebase, cherry-pick), what git itself staged for it is not
    /// the user's: only differences between the work tree and the index
    /// count (edits not added yet, new untracked files), and unmerged paths
    /// are left to the conflict-marker check.
    pub fn user_changes(&self, files: &[String], operation_stopped: bool) -> Vec<String> {
        let mut out = Vec::new();
        for f in files {
            let Ok(st) = self.repo.status_file(Path::new(&self.repo_path(f))) else {
                continue; // neither in the index nor in the work tree
            };
            if st.is_empty() || st.contains(Status::IGNORED) {
                continue;
            }
            let own = if operation_stopped {
                !st.contains(Status::CONFLICTED)
                    && st.intersects(
                        Status::WT_MODIFIED
                            | Status::WT_DELETED
                            | Status::WT_TYPECHANGE
                            | Status::WT_RENAMED
                            | Status::WT_NEW,
                    )
            } else {
                true
            };
            if own {
                out.push(f.clone());
            }
        }
        out
    }

    /// Project files (project-relative) git lists as unmerged (a text
    /// conflict not `git add`ed yet).
    pub fn unmerged_paths(&self) -> Result<Vec<String>> {
        let mut opts = StatusOptions::new();
        opts.include_untracked(false).include_ignored(false);
        let statuses = self
            .repo
            .statuses(Some(&mut opts))
            .map_err(|e| git_err("cannot read the status of the work tree", e))?;
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        Ok(statuses
            .iter()
            .filter(|e| e.status().contains(Status::CONFLICTED))
            .filter_map(|e| e.path().ok().map(str::to_string))
            .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }
}
