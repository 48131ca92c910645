//! Where the user is: a merge commit just pulled, a merge, rebase or
//! cherry-pick in progress, just after a rebase, the branch and its
//! upstream — and which revision to compare with by default.

use std::path::Path;

use git2::{ErrorCode, Oid};

use super::{git_err, HeadInfo, Repo};
use crate::error::{Error, Result};

/// A rebase, running or just finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebaseInfo {
    /// The commit the branch is replayed onto.
    pub onto: Option<Oid>,
    /// The branch's commit before the rebase.
    pub orig_head: Option<Oid>,
    /// The branch being rebased (`feature`), when it is a branch.
    pub head_name: Option<String>,
}

/// An operation stopped half-way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InProgress {
    /// `git merge` stopped (on conflicts or `--no-commit`): `MERGE_HEAD`.
    Merge { heads: Vec<Oid> },
    /// `git rebase` stopped: `rebase-merge/` or `rebase-apply/`.
    Rebase(RebaseInfo),
    /// `git cherry-pick` stopped: `CHERRY_PICK_HEAD`.
    CherryPick { head: Oid },
    /// `git revert` stopped: `REVERT_HEAD`.
    Revert { head: Oid },
    /// `git am` stopped: `rebase-apply/applying`.
    Am,
}

/// Where the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoState {
    pub head: HeadInfo,
    /// The current branch's upstream as a revision (`origin/main`), when
    /// configured (`branch.<name>.remote` / `.merge`).
    pub upstream: Option<String>,
    /// HEAD's parents (two or more: a merge commit, as `git pull` makes).
    pub head_parents: Vec<Oid>,
    /// What is stopped half-way, if anything (a rebase before a merge
    /// before a cherry-pick, revert or `git am`).
    pub in_progress: Option<InProgress>,
    /// Set just after a rebase finished: `ORIG_HEAD` exists and HEAD's last
    /// reflog entry is `rebase (finish)`.
    pub just_rebased: Option<RebaseInfo>,
    /// `ORIG_HEAD`, if any.
    pub orig_head: Option<Oid>,
}

impl RepoState {
    /// Whether HEAD is a merge commit.
    pub fn head_is_merge(&self) -> bool {
        self.head_parents.len() >= 2
    }

    pub fn is_detached(&self) -> bool {
        self.head.detached
    }
}

fn read_oid(path: &Path) -> Option<Oid> {
    let text = std::fs::read_to_string(path).ok()?;
    Oid::from_str(text.lines().next()?.trim()).ok()
}

fn read_oids(path: &Path) -> Option<Vec<Oid>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| Oid::from_str(l.trim()).ok())
            .collect(),
    )
}

fn branch_name(refname: &str) -> Option<String> {
    let r = refname.trim();
    if r.is_empty() || r == "detached HEAD" {
        return None;
    }
    Some(r.strip_prefix("refs/heads/").unwrap_or(r).to_string())
}

impl Repo {
    /// Where the user is.
    pub fn state(&self) -> Result<RepoState> {
        let head = self.head()?;
        let gd = self.git_dir();
        let head_parents = match head.oid {
            Some(oid) => self
                .repo
                .find_commit(oid)
                .map(|c| c.parent_ids().collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let upstream = head.branch.as_deref().and_then(|b| self.upstream_of(b));

        let rebase_dir = [gd.join("rebase-merge"), gd.join("rebase-apply")]
            .into_iter()
            .find(|d| d.is_dir());
        let in_progress = if let Some(d) = rebase_dir {
            if d.join("applying").exists() {
                Some(InProgress::Am)
            } else {
                Some(InProgress::Rebase(RebaseInfo {
                    onto: read_oid(&d.join("onto")),
                    orig_head: read_oid(&d.join("orig-head")),
                    head_name: std::fs::read_to_string(d.join("head-name"))
                        .ok()
                        .and_then(|s| branch_name(&s)),
                }))
            }
        } else if let Some(heads) = read_oids(&gd.join("MERGE_HEAD")) {
            Some(InProgress::Merge { heads })
        } else if let Some(head) = read_oid(&gd.join("CHERRY_PICK_HEAD")) {
            Some(InProgress::CherryPick { head })
        } else {
            read_oid(&gd.join("REVERT_HEAD")).map(|head| InProgress::Revert { head })
        };

        let orig_head = read_oid(&gd.join("ORIG_HEAD"));
        let just_rebased = match (orig_head, &in_progress) {
            (Some(orig), None) => self.finished_rebase(orig),
            _ => None,
        };
        Ok(RepoState {
            head,
            upstream,
            head_parents,
            in_progress,
            just_rebased,
            orig_head,
        })
    }

    /// A rebase that HEAD's last reflog entry says just finished.
    fn finished_rebase(&self, orig_head: Oid) -> Option<RebaseInfo> {
        let log = self.repo.reflog("HEAD").ok()?;
        let last = log.get(0)?;
        let msg = last.message().ok()??.to_string();
        if !(msg.starts_with("rebase") && msg.contains("(finish)")) {
            return None;
        }
        let head_name = msg
            .split_once("returning to ")
            .and_then(|(_, r)| branch_name(r));
        // The start of that rebase checked out the commit it replays onto.
        let onto = log.iter().skip(1).find_map(|e| {
            let m = e.message().ok()??;
            (m.starts_with("rebase") && m.contains("(start)")).then(|| e.id_new())
        });
        Some(RebaseInfo {
            onto,
            orig_head: Some(orig_head),
            head_name,
        })
    }

    /// A local branch's upstream as a revision: `origin/main` for a
    /// remote-tracking one, the branch name for a local one.
    pub fn upstream_of(&self, branch: &str) -> Option<String> {
        let buf = self
            .repo
            .branch_upstream_name(&format!("refs/heads/{branch}"))
            .ok()?;
        let full = buf.as_str().ok()?;
        Some(
            full.strip_prefix("refs/remotes/")
                .or_else(|| full.strip_prefix("refs/heads/"))
                .unwrap_or(full)
                .to_string(),
        )
    }

    fn ref_exists(&self, name: &str) -> bool {
        self.repo.find_reference(name).is_ok()
    }

    /// The revision to compare with when none is given, and how it was
    /// chosen: the configured `base:`, else the current branch's upstream,
    /// else what `origin/HEAD` points at, else `main`, `master`,
    /// `origin/main`, `origin/master` (the first that exists).
    pub fn default_base(&self, config_base: Option<&str>) -> Result<(String, &'static str)> {
        if let Some(b) = config_base.map(str::trim).filter(|b| !b.is_empty()) {
            return Ok((b.to_string(), "the `base:` setting"));
        }
        if let Ok(HeadInfo {
            branch: Some(b), ..
        }) = self.head()
        {
            if let Ok(buf) = self.repo.branch_upstream_name(&format!("refs/heads/{b}")) {
                if let Ok(full) = buf.as_str() {
                    if self.ref_exists(full) {
                        if let Some(up) = self.upstream_of(&b) {
                            return Ok((up, "the current branch's upstream"));
                        }
                    }
                }
            }
        }
        match self.repo.find_reference("refs/remotes/origin/HEAD") {
            Ok(r) => {
                if let Ok(Some(t)) = r.symbolic_target() {
                    if self.ref_exists(t) {
                        let short = t.strip_prefix("refs/remotes/").unwrap_or(t);
                        return Ok((short.to_string(), "origin/HEAD"));
                    }
                }
            }
            Err(e) if e.code() == ErrorCode::NotFound => {}
            Err(e) => return Err(git_err("cannot read origin/HEAD", e)),
        }
        for (refname, short, how) in [
            ("refs/heads/main", "main", "the main branch"),
            ("refs/heads/master", "master", "the master branch"),
            ("refs/remotes/origin/main", "origin/main", "origin/main"),
            (
                "refs/remotes/origin/master",
                "origin/master",
                "origin/master",
            ),
        ] {
            if self.ref_exists(refname) {
                return Ok((short.to_string(), how));
            }
        }
        Err(Error::git("no revision to compare with: the branch has no upstream, and there is no origin/HEAD, main or master")
            .hint("pass --base REV, or set `base:` in .djmig.yml"))
    }
}
