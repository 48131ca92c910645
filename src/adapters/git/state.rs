//! Where the user is: a merge commit just pulled, a merge, rebase or
//! cherry-pick in progress, just after a rebase, the branch and its
//! upstream — and which revision to compare with by default.

use std::path::Path;

use git2::{ErrorCode, Oid};

use super::{git_err, HeadInfo, Repo, Resolved};
use crate::core::standpoint::{
    decide, decide_default, is_own_copy, Base, Facts, How, NoBase, Stopped, Upstream,
};
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

/// A state file git writes; what is not one (a FIFO, a device, a huge
/// file) reads as absent: `Repo::discover_or_absent` refused those already.
fn read_state(path: &Path) -> Option<String> {
    crate::adapters::fs::read::read_string(path, crate::core::limits::Kind::GitState).ok()
}

fn read_oid(path: &Path) -> Option<Oid> {
    let text = read_state(path)?;
    Oid::from_str(text.lines().next()?.trim()).ok()
}

fn read_oids(path: &Path) -> Option<Vec<Oid>> {
    let text = read_state(path)?;
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
                    head_name: read_state(&d.join("head-name")).and_then(|s| branch_name(&s)),
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
        // `rebase (finish): …`, `rebase -i (finish): …`, and
        // `pull --rebase (finish): …` (options may come between).
        let action = |m: &str, word: &str| -> bool {
            (m.starts_with("rebase") || m.starts_with("pull")) && m.contains(word)
        };
        if !action(&msg, "(finish)") {
            return None;
        }
        let head_name = msg
            .split_once("returning to ")
            .and_then(|(_, r)| branch_name(r));
        // The start of that rebase checked out the commit it replays onto.
        let onto = log.iter().skip(1).find_map(|e| {
            let m = e.message().ok()??;
            action(m, "(start)").then(|| e.id_new())
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

    /// What the standpoint decision needs to know (see
    /// [`crate::core::standpoint`]).
    pub fn facts(&self, config_base: Option<&str>) -> Result<Facts<Oid>> {
        let state = self.state()?;
        let upstream = state
            .head
            .branch
            .as_deref()
            .and_then(|b| self.upstream_facts(b));
        let origin_head = match self.repo.find_reference("refs/remotes/origin/HEAD") {
            Ok(r) => r
                .symbolic_target()
                .ok()
                .flatten()
                .filter(|t| self.ref_exists(t))
                .map(|t| t.strip_prefix("refs/remotes/").unwrap_or(t).to_string()),
            Err(e) if e.code() == ErrorCode::NotFound => None,
            Err(e) => return Err(git_err("cannot read origin/HEAD", e)),
        };
        let fallbacks = [
            ("refs/heads/main", "main"),
            ("refs/heads/master", "master"),
            ("refs/remotes/origin/main", "origin/main"),
            ("refs/remotes/origin/master", "origin/master"),
        ]
        .into_iter()
        .filter(|(r, _)| self.ref_exists(r))
        .map(|(_, s)| s.to_string())
        .collect();
        let in_progress = match &state.in_progress {
            None => None,
            Some(InProgress::Merge { heads }) => Some(Stopped::Merge {
                heads: heads.clone(),
            }),
            Some(InProgress::Rebase(info)) => Some(Stopped::Rebase { onto: info.onto }),
            Some(InProgress::CherryPick { head }) => Some(Stopped::CherryPick { picked: *head }),
            Some(InProgress::Revert { .. } | InProgress::Am) => Some(Stopped::Other),
        };
        Ok(Facts {
            branch: state.head.branch.clone(),
            head: state.head.oid,
            head_parents: state.head_parents.clone(),
            in_progress,
            just_rebased_onto: state.just_rebased.as_ref().and_then(|r| r.onto),
            upstream,
            config_base: config_base.map(str::to_string),
            origin_head,
            fallbacks,
        })
    }

    /// A local branch's upstream, when configured and present.
    fn upstream_facts(&self, branch: &str) -> Option<Upstream> {
        let local = format!("refs/heads/{branch}");
        let buf = self.repo.branch_upstream_name(&local).ok()?;
        let full = buf.as_str().ok()?.to_string();
        if !self.ref_exists(&full) {
            return None;
        }
        let remote = self
            .repo
            .branch_upstream_remote(&local)
            .ok()
            .and_then(|r| r.as_str().ok().map(str::to_string))
            .filter(|r| r != ".");
        let rev = self.upstream_of(branch)?;
        let remote_branch = match &remote {
            Some(r) => full
                .strip_prefix(&format!("refs/remotes/{r}/"))
                .unwrap_or(&rev)
                .to_string(),
            None => rev.clone(),
        };
        Some(Upstream {
            rev,
            remote,
            remote_branch,
        })
    }

    /// The current branch's upstream when it is the branch's own remote
    /// copy (`origin/feature` for `feature`): the same line of work, so
    /// neither upstream nor a publication of it.
    pub fn own_remote_copy(&self) -> Option<String> {
        let branch = self.head().ok()?.branch?;
        let facts = self.facts(None).ok()?;
        let up = self.upstream_facts(&branch)?;
        let default = facts
            .origin_head
            .as_deref()
            .map(|oh| oh.split_once('/').map(|(_, b)| b).unwrap_or(oh).to_string())
            .or_else(|| {
                facts.fallbacks.iter().find_map(|r| {
                    let b = r.strip_prefix("origin/").unwrap_or(r);
                    matches!(b, "main" | "master").then(|| b.to_string())
                })
            });
        is_own_copy(&branch, &up, default.as_deref()).then(|| format!("refs/remotes/{}", up.rev))
    }

    /// The revision to compare branches with when none is given, and how
    /// it was chosen: [`crate::core::standpoint::decide_default`].
    pub fn default_base(&self, config_base: Option<&str>) -> Result<(String, &'static str)> {
        let facts = self.facts(config_base)?;
        match decide_default(&facts, None) {
            Ok(Base::Named { rev, how }) => Ok((rev, how.phrase())),
            Ok(Base::Commit { commit, how }) => Ok((commit.to_string(), how.phrase())),
            Err(e) => Err(no_base(e)),
        }
    }

    /// A branch whose tip is `oid`, to name a commit: local branches
    /// first, then remote-tracking ones.
    pub fn branch_at(&self, oid: Oid) -> Option<String> {
        let branches = self.list_branches(&[]).ok()?;
        branches.into_iter().find(|b| b.oid == oid).map(|b| b.name)
    }

    /// Upstream, as [`crate::core::standpoint::decide`] decides it, resolved
    /// to a commit.
    pub fn standpoint(
        &self,
        given: Option<&str>,
        config_base: Option<&str>,
    ) -> Result<(Resolved, How)> {
        let facts = self.facts(config_base)?;
        match decide(&facts, given) {
            Ok(Base::Named { rev, how }) => Ok((self.resolve(&rev)?, how)),
            Ok(Base::Commit { commit, how }) => {
                let rev = self.branch_at(commit).unwrap_or_else(|| commit.to_string());
                let mut r = self.resolve(&commit.to_string())?;
                r.rev = rev;
                Ok((r, how))
            }
            Err(e) => Err(no_base(e)),
        }
    }
}

fn no_base(NoBase { own_copy }: NoBase) -> Error {
    let mut e = Error::git("no revision to compare with: the branch has no upstream, and there is no origin/HEAD, main or master");
    if let Some(c) = own_copy {
        e = e.cause(format!(
            "the branch tracks {c}, its own remote copy, which is not upstream"
        ));
    }
    e.hint("pass --base REV, or set `base:` in .djmig.yml")
}
