//! Where the user stands, and so which side is "upstream": one decision used
//! by `check`, `resolve`, the hooks and every command djmig suggests.
//!
//! The work tree can already hold both sides of a fork — after `git pull`
//! or a local `git merge`, in the middle of one, after a rebase — and then
//! upstream is the commit that came in, whatever the branch tracks. Only
//! when nothing came in does the default base apply: `--base`, the `base:`
//! setting, the branch's upstream (never the branch's own remote copy:
//! `origin/feature` for `feature` is the same line of work), `origin/HEAD`,
//! then `main`, `master`, `origin/main`, `origin/master`.
//!
//! Plain data in, plain data out: commit ids are a type parameter, so the
//! decision is tested on hand-built states.

/// What git says about the repository, gathered by the git adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<C> {
    /// The branch checked out; `None` when HEAD is detached.
    pub branch: Option<String>,
    /// HEAD's commit, if any.
    pub head: Option<C>,
    /// HEAD's parents (two or more: a merge commit).
    pub head_parents: Vec<C>,
    /// An operation stopped half-way.
    pub in_progress: Option<Stopped<C>>,
    /// A rebase that just finished, and the commit it replayed onto.
    pub just_rebased_onto: Option<C>,
    /// The current branch's upstream, when configured and present.
    pub upstream: Option<Upstream>,
    /// `base:` from the configuration.
    pub config_base: Option<String>,
    /// The short name `origin/HEAD` points at (`origin/main`), if any.
    pub origin_head: Option<String>,
    /// Which of `main`, `master`, `origin/main`, `origin/master` exist.
    pub fallbacks: Vec<String>,
}

/// A branch's configured upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// As a revision: `origin/main`, or a local branch's name.
    pub rev: String,
    /// The remote it is on (`origin`), `None` for a local branch.
    pub remote: Option<String>,
    /// The branch's name on that remote (`main` for `origin/main`).
    pub remote_branch: String,
}

/// An operation git stopped half-way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped<C> {
    /// `git merge` stopped: the commits being merged (`MERGE_HEAD`).
    Merge { heads: Vec<C> },
    /// `git rebase` stopped; `onto` when git recorded it.
    Rebase { onto: Option<C> },
    /// `git cherry-pick` stopped on this commit.
    CherryPick { picked: C },
    /// `git revert` or `git am` stopped: nothing came in.
    Other,
}

/// Why upstream is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// `--base` on the command line.
    Given,
    /// A merge in progress: its `MERGE_HEAD`.
    MergeInProgress,
    /// A rebase in progress: the commit it replays onto.
    RebaseInProgress,
    /// A cherry-pick in progress: the commit being picked.
    CherryPickInProgress,
    /// A rebase just finished: the commit it replayed onto.
    JustRebased,
    /// HEAD is a merge commit: its second parent came in.
    MergeCommit,
    /// `base:` in the configuration.
    Configured,
    /// The current branch's upstream.
    Upstream,
    /// What `origin/HEAD` points at.
    OriginHead,
    /// The first of `main`, `master`, `origin/main`, `origin/master`.
    Fallback,
}

impl How {
    /// Whether the work tree already holds upstream's side: then the
    /// conflict is in the files, not only in a merge still to come.
    pub fn came_in(self) -> bool {
        matches!(
            self,
            How::MergeInProgress
                | How::RebaseInProgress
                | How::CherryPickInProgress
                | How::JustRebased
                | How::MergeCommit
        )
    }

    /// Whether a command suggested from this view must name `--base` to
    /// see the same: only when the user named it.
    pub fn needs_base_flag(self) -> bool {
        self == How::Given
    }

    /// The phrase used after the revision: `main (abc1234) (…)`.
    pub fn phrase(self) -> &'static str {
        match self {
            How::Given => "given with --base",
            How::MergeInProgress => "being merged: MERGE_HEAD",
            How::RebaseInProgress => "the rebase in progress replays onto it",
            How::CherryPickInProgress => "being cherry-picked",
            How::JustRebased => "you just rebased onto it",
            How::MergeCommit => "HEAD is a merge commit; this came in",
            How::Configured => "the `base:` setting",
            How::Upstream => "the current branch's upstream",
            How::OriginHead => "origin/HEAD",
            How::Fallback => "the default branch",
        }
    }
}

/// Upstream, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base<C> {
    /// A revision to resolve (given, configured, the branch's upstream or
    /// a default branch).
    Named { rev: String, how: How },
    /// A commit the work tree took in already.
    Commit { commit: C, how: How },
}

impl<C> Base<C> {}

/// Why no upstream could be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoBase {
    /// Set when the branch's only upstream is its own remote copy.
    pub own_copy: Option<String>,
}

/// Whether an upstream is the branch's own remote copy: `origin/feature`
/// for `feature`, unless that branch is the repository's default branch
/// (`main` tracking `origin/main` compares with its upstream as it should).
pub fn is_own_copy(branch: &str, up: &Upstream, default_branch: Option<&str>) -> bool {
    up.remote.is_some() && up.remote_branch == branch && default_branch.is_none_or(|d| d != branch)
}

/// The repository's default branch name: `origin/HEAD`'s target without
/// the remote, else the first of `main`/`master` that exists.
fn default_branch_name<C>(f: &Facts<C>) -> Option<String> {
    if let Some(oh) = &f.origin_head {
        return Some(
            oh.split_once('/')
                .map(|(_, b)| b.to_string())
                .unwrap_or_else(|| oh.clone()),
        );
    }
    f.fallbacks.iter().find_map(|r| {
        let b = r.strip_prefix("origin/").unwrap_or(r);
        matches!(b, "main" | "master").then(|| b.to_string())
    })
}

/// Decide upstream. `given` is `--base`.
pub fn decide<C: Clone>(f: &Facts<C>, given: Option<&str>) -> Result<Base<C>, NoBase> {
    if let Some(rev) = given.map(str::trim).filter(|r| !r.is_empty()) {
        return Ok(Base::Named {
            rev: rev.to_string(),
            how: How::Given,
        });
    }
    match &f.in_progress {
        Some(Stopped::Merge { heads }) if !heads.is_empty() => {
            return Ok(Base::Commit {
                commit: heads[0].clone(),
                how: How::MergeInProgress,
            })
        }
        Some(Stopped::Rebase { onto: Some(onto) }) => {
            return Ok(Base::Commit {
                commit: onto.clone(),
                how: How::RebaseInProgress,
            })
        }
        Some(Stopped::CherryPick { picked }) => {
            return Ok(Base::Commit {
                commit: picked.clone(),
                how: How::CherryPickInProgress,
            })
        }
        _ => {}
    }
    if f.in_progress.is_none() {
        if let Some(onto) = &f.just_rebased_onto {
            return Ok(Base::Commit {
                commit: onto.clone(),
                how: How::JustRebased,
            });
        }
        if f.head_parents.len() >= 2 {
            return Ok(Base::Commit {
                commit: f.head_parents[1].clone(),
                how: How::MergeCommit,
            });
        }
    }
    if let Some(b) = f
        .config_base
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        return Ok(Base::Named {
            rev: b.to_string(),
            how: How::Configured,
        });
    }
    let default_branch = default_branch_name(f);
    let mut own_copy = None;
    if let (Some(branch), Some(up)) = (&f.branch, &f.upstream) {
        if is_own_copy(branch, up, default_branch.as_deref()) {
            own_copy = Some(up.rev.clone());
        } else {
            return Ok(Base::Named {
                rev: up.rev.clone(),
                how: How::Upstream,
            });
        }
    }
    if let Some(oh) = &f.origin_head {
        return Ok(Base::Named {
            rev: oh.clone(),
            how: How::OriginHead,
        });
    }
    match f.fallbacks.first() {
        Some(rev) => Ok(Base::Named {
            rev: rev.clone(),
            how: How::Fallback,
        }),
        None => Err(NoBase { own_copy }),
    }
}

/// The default base for comparing branches (`scan`, the suggestion to
/// rebase): [`decide`] as if nothing had come in.
pub fn decide_default<C: Clone>(f: &Facts<C>, given: Option<&str>) -> Result<Base<C>, NoBase> {
    let mut plain = f.clone();
    plain.in_progress = None;
    plain.just_rebased_onto = None;
    plain.head_parents.truncate(1);
    decide(&plain, given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts<&'static str> {
        Facts {
            branch: Some("feature".into()),
            head: Some("h"),
            head_parents: vec!["p"],
            in_progress: None,
            just_rebased_onto: None,
            upstream: None,
            config_base: None,
            origin_head: None,
            fallbacks: vec!["main".into()],
        }
    }

    fn up(rev: &str) -> Upstream {
        let (remote, b) = match rev.split_once('/') {
            Some((r, b)) => (Some(r.to_string()), b.to_string()),
            None => (None, rev.to_string()),
        };
        Upstream {
            rev: rev.into(),
            remote,
            remote_branch: b,
        }
    }

    fn named(rev: &str, how: How) -> Result<Base<&'static str>, NoBase> {
        Ok(Base::Named {
            rev: rev.into(),
            how,
        })
    }

    fn commit(c: &'static str, how: How) -> Result<Base<&'static str>, NoBase> {
        Ok(Base::Commit { commit: c, how })
    }

    /// One row per situation a developer is in.
    #[test]
    fn where_the_user_stands() {
        type Case = (
            &'static str,
            Box<dyn Fn(&mut Facts<&'static str>)>,
            Option<&'static str>,
            Result<Base<&'static str>, NoBase>,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing special: the default branch",
                Box::new(|_| {}),
                None,
                named("main", How::Fallback),
            ),
            (
                "--base wins over everything",
                Box::new(|f| {
                    f.in_progress = Some(Stopped::Merge { heads: vec!["m"] });
                    f.config_base = Some("origin/dev".into());
                }),
                Some("release"),
                named("release", How::Given),
            ),
            (
                "a merge in progress: MERGE_HEAD, even with base: set",
                Box::new(|f| {
                    f.in_progress = Some(Stopped::Merge {
                        heads: vec!["m", "n"],
                    });
                    f.config_base = Some("origin/dev".into());
                    f.upstream = Some(up("origin/main"));
                }),
                None,
                commit("m", How::MergeInProgress),
            ),
            (
                "a rebase in progress: its onto",
                Box::new(|f| {
                    f.branch = None;
                    f.in_progress = Some(Stopped::Rebase { onto: Some("o") });
                }),
                None,
                commit("o", How::RebaseInProgress),
            ),
            (
                "a rebase in progress without onto: the default base",
                Box::new(|f| {
                    f.in_progress = Some(Stopped::Rebase { onto: None });
                }),
                None,
                named("main", How::Fallback),
            ),
            (
                "a cherry-pick in progress: the picked commit",
                Box::new(|f| {
                    f.in_progress = Some(Stopped::CherryPick { picked: "c" });
                }),
                None,
                commit("c", How::CherryPickInProgress),
            ),
            (
                "a revert in progress: nothing came in",
                Box::new(|f| {
                    f.in_progress = Some(Stopped::Other);
                    f.head_parents = vec!["a", "b"];
                }),
                None,
                named("main", How::Fallback),
            ),
            (
                "just rebased (git pull --rebase too): the onto",
                Box::new(|f| {
                    f.just_rebased_onto = Some("o");
                    f.upstream = Some(up("origin/main"));
                }),
                None,
                commit("o", How::JustRebased),
            ),
            (
                "a merge commit from git pull: its second parent",
                Box::new(|f| {
                    f.head_parents = vec!["mine", "theirs"];
                    f.upstream = Some(up("origin/main"));
                }),
                None,
                commit("theirs", How::MergeCommit),
            ),
            (
                "a local merge, no remote: its second parent",
                Box::new(|f| {
                    f.head_parents = vec!["mine", "theirs"];
                    f.fallbacks = vec!["main".into()];
                }),
                None,
                commit("theirs", How::MergeCommit),
            ),
            (
                "base: in the configuration",
                Box::new(|f| {
                    f.config_base = Some(" origin/dev ".into());
                    f.upstream = Some(up("origin/main"));
                }),
                None,
                named("origin/dev", How::Configured),
            ),
            (
                "the branch tracks origin/main",
                Box::new(|f| {
                    f.upstream = Some(up("origin/main"));
                }),
                None,
                named("origin/main", How::Upstream),
            ),
            (
                "the branch tracks a local branch",
                Box::new(|f| {
                    f.upstream = Some(up("develop"));
                }),
                None,
                named("develop", How::Upstream),
            ),
            (
                "feature tracks its own remote copy: not upstream",
                Box::new(|f| {
                    f.upstream = Some(up("origin/feature"));
                    f.origin_head = Some("origin/main".into());
                }),
                None,
                named("origin/main", How::OriginHead),
            ),
            (
                "own copy and no origin/HEAD: main",
                Box::new(|f| {
                    f.upstream = Some(up("origin/feature"));
                    f.fallbacks = vec!["main".into(), "origin/main".into()];
                }),
                None,
                named("main", How::Fallback),
            ),
            (
                "main tracking origin/main is not an own copy",
                Box::new(|f| {
                    f.branch = Some("main".into());
                    f.upstream = Some(up("origin/main"));
                    f.origin_head = Some("origin/main".into());
                }),
                None,
                named("origin/main", How::Upstream),
            ),
            (
                "own copy and nothing else",
                Box::new(|f| {
                    f.upstream = Some(up("origin/feature"));
                    f.fallbacks.clear();
                }),
                None,
                Err(NoBase {
                    own_copy: Some("origin/feature".into()),
                }),
            ),
            (
                "nothing at all",
                Box::new(|f| {
                    f.fallbacks.clear();
                }),
                None,
                Err(NoBase { own_copy: None }),
            ),
        ];
        for (what, change, given, want) in cases {
            let mut f = facts();
            change(&mut f);
            assert_eq!(decide(&f, given), want, "{what}");
        }
    }

    #[test]
    fn the_default_base_ignores_what_came_in() {
        let mut f = facts();
        f.head_parents = vec!["a", "b"];
        f.in_progress = Some(Stopped::Merge { heads: vec!["m"] });
        f.upstream = Some(up("origin/main"));
        assert_eq!(
            decide_default(&f, None),
            named("origin/main", How::Upstream)
        );
        assert_eq!(decide_default(&f, Some("x")), named("x", How::Given));
    }

    #[test]
    fn came_in_and_suggested_flags() {
        assert!(How::MergeCommit.came_in());
        assert!(How::JustRebased.came_in());
        assert!(!How::Upstream.came_in());
        assert!(!How::Given.came_in());
        assert!(How::Given.needs_base_flag());
        assert!(!How::MergeInProgress.needs_base_flag());
    }
}
