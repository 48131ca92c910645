//! Before libgit2 opens a repository, and before djmig reads git's state
//! files itself: every file of the git directory that either will read is
//! a regular file of a sane size.
//!
//! libgit2 opens `HEAD`, `config`, the index, `packed-refs`, loose refs and
//! pack indexes with a plain blocking `open`: a FIFO there would hold djmig
//! (and the git hook that ran it) forever, a link to `/dev/zero` or a huge
//! sparse file would be read until memory runs out. Those only get there
//! by hand — git writes none of them — but a hook runs on whatever is
//! there, so they are refused by name (exit 4) instead.

use std::fs;
use std::path::{Path, PathBuf};

use crate::adapters::fs::read;
use crate::core::limits::Kind;
use crate::error::{Error, Result};

/// Files of a (per-worktree) git directory, and what each is.
const GIT_DIR_FILES: &[(&str, Kind)] = &[
    ("HEAD", Kind::GitState),
    ("index", Kind::GitData),
    ("commondir", Kind::GitState),
    ("gitdir", Kind::GitState),
    ("config", Kind::GitData),
    ("config.worktree", Kind::GitData),
    ("packed-refs", Kind::GitData),
    ("shallow", Kind::GitData),
    ("MERGE_HEAD", Kind::GitState),
    ("ORIG_HEAD", Kind::GitState),
    ("CHERRY_PICK_HEAD", Kind::GitState),
    ("REVERT_HEAD", Kind::GitState),
    ("FETCH_HEAD", Kind::GitData),
    ("logs/HEAD", Kind::GitData),
    ("info/attributes", Kind::GitState),
    ("objects/info/alternates", Kind::GitState),
    ("sequencer/todo", Kind::GitState),
];

/// Directories whose every file djmig or libgit2 may read.
const GIT_DIRS: &[(&str, Kind)] = &[
    ("rebase-merge", Kind::GitState),
    ("rebase-apply", Kind::GitState),
    ("refs", Kind::GitState),
    ("objects/pack", Kind::GitData),
];

/// How many entries of the directories above are looked at, at most: a
/// repository with more loose refs than that is checked in part.
const MAX_ENTRIES: usize = 200_000;

/// Check the git directory around `dir` (a work tree inside it, a linked
/// worktree, or a bare repository) before it is opened.
pub(crate) fn check_around(dir: &Path) -> Result<()> {
    for a in dir.ancestors() {
        let dotgit = a.join(".git");
        match fs::symlink_metadata(&dotgit) {
            Ok(m) if m.is_dir() => return check_git_dir(&dotgit),
            Ok(_) => {
                let text =
                    read::read_string(&dotgit, Kind::GitState).map_err(|e| refused(&dotgit, e))?;
                let Some(target) = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("gitdir:"))
                    .map(str::trim)
                else {
                    return Ok(()); // libgit2 says what is wrong with it
                };
                let target = Path::new(target);
                let gd = if target.is_relative() {
                    a.join(target)
                } else {
                    target.to_path_buf()
                };
                return check_git_dir(&gd);
            }
            Err(_) => {}
        }
        // A bare repository (or being inside a git directory).
        if a.join("HEAD").exists() && a.join("objects").is_dir() && a.join("refs").is_dir() {
            return check_git_dir(a);
        }
    }
    Ok(())
}

/// Check a git directory and, for a linked worktree, the common one —
/// once per process: later opens of the same repository skip it.
pub(crate) fn check_git_dir(gd: &Path) -> Result<()> {
    static CHECKED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    if CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|c| c == gd)
    {
        return Ok(());
    }
    check_files(gd)?;
    let commondir = gd.join("commondir");
    if fs::symlink_metadata(&commondir).is_ok() {
        let text =
            read::read_string(&commondir, Kind::GitState).map_err(|e| refused(&commondir, e))?;
        let p = PathBuf::from(text.trim());
        let common = if p.is_relative() { gd.join(p) } else { p };
        if common.is_dir() && common != gd {
            check_files(&common)?;
        }
    }
    CHECKED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(gd.to_path_buf());
    Ok(())
}

fn check_files(gd: &Path) -> Result<()> {
    for (name, kind) in GIT_DIR_FILES {
        let p = gd.join(name);
        read::check(&p, *kind).map_err(|e| refused(&p, e))?;
    }
    let mut budget = MAX_ENTRIES;
    for (name, kind) in GIT_DIRS {
        check_tree(&gd.join(name), *kind, &mut budget)?;
    }
    Ok(())
}

/// Every non-directory below `dir` must be a regular file within the cap.
/// Regular files cost no system call beyond the listing.
fn check_tree(dir: &Path, kind: Kind, budget: &mut usize) -> Result<()> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        if *budget == 0 {
            return Ok(());
        }
        *budget -= 1;
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            check_tree(&e.path(), kind, budget)?;
        } else if !ft.is_file() {
            let p = e.path();
            read::check(&p, kind).map_err(|err| refused(&p, err))?;
        }
    }
    Ok(())
}

fn refused(path: &Path, e: std::io::Error) -> Error {
    Error::git(format!("cannot read {}: {e}", path.display()))
        .hint("djmig reads git's files only when they are what git writes; nothing was changed")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn special_files_in_the_git_directory_are_named() {
        let d = tempfile::tempdir().unwrap();
        let gd = d.path().join(".git");
        fs::create_dir_all(gd.join("refs/heads")).unwrap();
        fs::create_dir_all(gd.join("objects")).unwrap();
        fs::write(gd.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(gd.join("refs/heads/main"), "0".repeat(40)).unwrap();
        assert!(check_around(&d.path().join("sub/dir")).is_ok());
        std::os::unix::fs::symlink("/dev/zero", gd.join("MERGE_HEAD")).unwrap();
        let e = check_files(&gd).unwrap_err();
        assert!(e.message.contains("MERGE_HEAD"), "{e:?}");
        assert!(e.message.contains("/dev/zero"), "{e:?}");
        fs::remove_file(gd.join("MERGE_HEAD")).unwrap();
        std::os::unix::fs::symlink("/dev/null", gd.join("refs/heads/x")).unwrap();
        let e = check_files(&gd).unwrap_err();
        assert!(e.message.contains("refs/heads/x"), "{e:?}");
    }
}
