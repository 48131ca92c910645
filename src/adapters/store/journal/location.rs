//! Where the journals of a project live: in the git dir of its work tree
//! (a linked worktree's own), else `.djmig/` under the root.

use std::fs;
use std::path::{Path, PathBuf};

use super::files::canonical_dir;
use super::manifest::{read_manifest, State, MANIFEST};
use crate::error::{Error, Result};

pub(super) const CURRENT: &str = "journal";
pub(super) const PREVIOUS: &str = "journal.prev";
pub(super) const BUILDING: &str = "journal.tmp-";

/// The last journal, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalInfo {
    pub dir: PathBuf,
    pub description: String,
    pub started: String,
    pub state: State,
    pub files: usize,
}

/// The directory holding the journals of the project at `root`, and the base
/// directory recorded paths are relative to.
pub(super) fn locate(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let root = canonical_dir(root);
    for dir in root.ancestors() {
        let dotgit = dir.join(".git");
        let Ok(meta) = fs::metadata(&dotgit) else {
            continue;
        };
        if meta.is_dir() {
            return Ok((dotgit.join("djmig"), dir.to_path_buf()));
        }
        if meta.is_file() {
            let gitdir = read_gitdir_file(&dotgit)?;
            return Ok((gitdir.join("djmig"), dir.to_path_buf()));
        }
    }
    Ok((root.join(".djmig"), root))
}

/// A `.git` file (linked worktree, submodule): `gitdir: PATH`, relative to
/// the directory holding the file.
fn read_gitdir_file(dotgit: &Path) -> Result<PathBuf> {
    let text = crate::adapters::fs::read::read_string(dotgit, crate::core::limits::Kind::GitState)
        .map_err(|e| Error::git(format!("cannot read {}", dotgit.display())).cause(e))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let Some(p) = line.strip_prefix("gitdir:") else {
        return Err(Error::git(format!(
            "{} is a file but not a `gitdir: …` link",
            dotgit.display()
        )));
    };
    let p = Path::new(p.trim());
    let gitdir = match dotgit.parent() {
        Some(parent) if p.is_relative() => parent.join(p),
        _ => p.to_path_buf(),
    };
    if !gitdir.is_dir() {
        return Err(Error::git(format!(
            "{} points to {}, which is not a directory",
            dotgit.display(),
            gitdir.display()
        ))
        .hint("if the worktree's repository moved, run `git worktree repair`"));
    }
    Ok(canonical_dir(&gitdir))
}

/// Where the journal of the project at `root` lives.
#[cfg(test)]
pub fn journal_dir(root: &Path) -> Result<PathBuf> {
    Ok(locate(root)?.0.join(CURRENT))
}

/// The last journal, if any.
pub fn last(root: &Path) -> Result<Option<JournalInfo>> {
    let (home, _) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Ok(None);
    };
    let m = read_manifest(&dir)?;
    Ok(Some(JournalInfo {
        dir,
        description: m.description,
        started: m.started,
        state: m.state,
        files: m.files.len(),
    }))
}

/// The journal undo applies to: `journal`, or `journal.prev` when djmig died
/// between moving the old journal aside and putting a new one in place
/// (nothing had been touched by then).
pub(super) fn current_journal(home: &Path) -> Option<PathBuf> {
    let cur = home.join(CURRENT);
    if cur.exists() {
        return Some(cur);
    }
    let prev = home.join(PREVIOUS);
    prev.join(MANIFEST).is_file().then_some(prev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::journal::tests::project;
    use crate::adapters::store::journal::{undo, Journal};

    #[test]
    fn outside_git_and_in_a_subdirectory() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        assert_eq!(
            journal_dir(r).unwrap(),
            canonical_dir(r).join(".djmig/journal")
        );

        // Root below the work-tree top: the journal is in the git dir and
        // paths are relative to the top, so undo works from anywhere in it.
        let p = project();
        let sub = p.path().join("backend");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("m.py"), b"x").unwrap();
        let j = Journal::begin(&sub, "t", &[PathBuf::from("m.py")]).unwrap();
        assert_eq!(j.manifest.files[0].path, "backend/m.py");
        fs::write(sub.join("m.py"), b"y").unwrap();
        drop(j);
        undo(p.path(), false).unwrap();
        assert_eq!(fs::read(sub.join("m.py")).unwrap(), b"x");
    }

    #[test]
    fn linked_worktree_git_file() {
        let d = tempfile::tempdir().unwrap();
        let main_gitdir = d.path().join("main/.git/worktrees/wt");
        fs::create_dir_all(&main_gitdir).unwrap();
        let wt = d.path().join("wt");
        fs::create_dir_all(&wt).unwrap();
        fs::write(wt.join(".git"), "gitdir: ../main/.git/worktrees/wt\n").unwrap();
        let want = canonical_dir(&main_gitdir).join("djmig/journal");
        assert_eq!(journal_dir(&wt).unwrap(), want);
        fs::write(
            wt.join(".git"),
            format!("gitdir: {}\r\n", main_gitdir.display()),
        )
        .unwrap();
        assert_eq!(journal_dir(&wt).unwrap(), want);

        fs::write(wt.join("f.py"), b"orig").unwrap();
        let j = Journal::begin(&wt, "wt", &[wt.join("f.py")]).unwrap();
        assert_eq!(j.dir(), want);
        fs::write(wt.join("f.py"), b"new").unwrap();
        j.finish().unwrap();
        undo(&wt, false).unwrap();
        assert_eq!(fs::read(wt.join("f.py")).unwrap(), b"orig");

        fs::write(wt.join(".git"), "not a link\n").unwrap();
        assert!(journal_dir(&wt).is_err());
        fs::write(wt.join(".git"), "gitdir: /nonexistent/djmig-test\n").unwrap();
        let e = journal_dir(&wt).unwrap_err();
        assert!(
            e.hints.iter().any(|h| h.contains("worktree repair")),
            "{e:?}"
        );
    }
}
