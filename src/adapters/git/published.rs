//! What is published: history that a remote-tracking branch or a tag
//! contains. A migration is published when the commit that brought it into
//! head's history is.
//!
//! A repository may hold thousands of tags (a CI checkout with
//! `fetch-depth: 0` fetches every one), so nothing here reads a tip's tree
//! or asks about one tip at a time: one revision walk from head, with every
//! published tip hidden, gives head's unpublished commits, stopping as soon
//! as what is left is reachable from a tip (the walk git's `rev-list head
//! --not --tags --remotes` makes; see [`super::commits`]). The files are
//! then looked up only in the published commits right below that
//! unpublished part.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use git2::{ObjectType, Oid};

use super::{git_err, Repo};
use crate::core::tree::split_parent;
use crate::error::Result;

impl Repo {
    /// Remote-tracking branches (without `*/HEAD`) and tags, peeled: the
    /// published history. The current branch's own remote copy
    /// (`origin/feature` for `feature`) is left out: pushing your own
    /// branch for review does not publish it to anyone's database.
    fn published_tips(&self) -> Result<Vec<Oid>> {
        let own = self.own_remote_copy();
        let mut tips: Vec<Oid> = self
            .refs_under(&["refs/remotes/", "refs/tags/"])?
            .into_iter()
            .filter(|(name, _)| !name.ends_with("/HEAD") && own.as_deref() != Some(name))
            .map(|(_, oid)| oid)
            .collect();
        tips.sort();
        tips.dedup();
        Ok(tips)
    }

    /// The commits reachable from `head` and from no published tip, in one
    /// walk.
    fn unpublished_commits(&self, head: Oid) -> Result<HashSet<Oid>> {
        let tips = self.published_tips()?;
        let mut commits = self.commits();
        let found = commits
            .exclusive(&[head], &tips)
            .map_err(|e| git_err("cannot walk the history to tell what is published", e.0));
        commits.save();
        found
    }

    /// Whether a commit is reachable from a remote-tracking branch or a tag.
    #[cfg(test)]
    pub fn is_published(&self, commit: Oid) -> Result<bool> {
        Ok(!self.unpublished_commits(commit)?.contains(&commit))
    }

    /// Which of these project-relative files came into `head`'s history
    /// with a published commit: the files that the published commits
    /// right below head's unpublished ones (head itself, when it is
    /// published) have. A file head's own unpublished commits added is
    /// not published, even when a tip has a file of that name; a file
    /// not committed at all (work-tree changes) never is.
    pub fn published_paths<S: AsRef<str>>(
        &self,
        head: Oid,
        paths: &[S],
    ) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        if paths.is_empty() {
            return Ok(out);
        }
        let unpublished = self.unpublished_commits(head)?;
        let mut below: BTreeSet<Oid> = BTreeSet::new();
        if unpublished.is_empty() {
            below.insert(head);
        }
        let mut commits = self.commits();
        for c in &unpublished {
            let parents = commits
                .get(*c)
                .map_err(|e| git_err(format!("cannot read commit {c}"), e.0))?
                .map(|i| i.parents)
                .unwrap_or_default();
            below.extend(parents.into_iter().filter(|p| !unpublished.contains(p)));
        }
        // Files by directory: each directory's tree is read once per commit.
        let mut by_dir: BTreeMap<String, Vec<(&str, &str)>> = BTreeMap::new();
        for p in paths {
            let p = p.as_ref();
            let name = split_parent(p).1;
            let full = self.repo_path(p);
            let dir = split_parent(&full).0.to_string();
            by_dir.entry(dir).or_default().push((p, name));
        }
        for c in below {
            let root = self
                .repo
                .find_commit(c)
                .and_then(|c| c.tree())
                .map_err(|e| git_err(format!("cannot read the tree of {c}"), e))?;
            for (dir, files) in &by_dir {
                let tree = if dir.is_empty() {
                    root.clone()
                } else {
                    match root.get_path(Path::new(dir)) {
                        Ok(e) if e.kind() == Some(ObjectType::Tree) => {
                            // A tree missing from the repository must not
                            // read as "not published": resolve would
                            // rewrite what is.
                            self.repo.find_tree(e.id()).map_err(|e| {
                                git_err(format!("cannot tell what is published in {dir}"), e)
                                    .hint("`git fsck --full` lists what is missing; fetch again: `git fetch --refetch`")
                            })?
                        }
                        Err(e) if e.class() == git2::ErrorClass::Odb => {
                            return Err(git_err(
                                format!("cannot tell what is published in {dir}: an object is missing"),
                                e,
                            )
                            .hint("`git fsck --full` lists what is missing; fetch again: `git fetch --refetch`"))
                        }
                        _ => continue,
                    }
                };
                for (path, name) in files {
                    if tree
                        .get_name(name)
                        .is_some_and(|e| e.kind() == Some(ObjectType::Blob))
                    {
                        out.insert(path.to_string());
                    }
                }
            }
        }
        Ok(out)
    }

    /// [`Repo::published_paths`] of HEAD's history; nothing is published
    /// on a branch with no commits yet.
    pub fn published_at_head<S: AsRef<str>>(&self, paths: &[S]) -> Result<BTreeSet<String>> {
        match self.head()?.oid {
            Some(head) => self.published_paths(head, paths),
            None => Ok(BTreeSet::new()),
        }
    }
}
