//! A [`SourceTree`] over a directory on disk: the work tree as Django would
//! see it (untracked and modified files included), or a virtualenv's
//! site-packages.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::core::tree::{Entry, EntryKind, SourceTree};

/// Files under a directory.
#[derive(Debug, Clone)]
pub struct FsTree {
    root: PathBuf,
}

impl FsTree {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsTree { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a tree-relative path is on disk.
    pub fn disk_path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.disk_path(rel)
    }

    /// [`SourceTree::list_dir`], and whether the listing depends on where
    /// a symbolic link points (a linked file, or a link named `*.py`).
    pub fn list_dir_links(&self, dir: &str) -> Option<(Vec<Entry>, bool)> {
        let rd = fs::read_dir(self.path(dir)).ok()?;
        let mut links = false;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let Ok(ft) = e.file_type() else { continue };
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else if ft.is_symlink() {
                // A linked file is read through; a linked directory is not
                // walked (as os.walk), to stay out of loops. Either may
                // change with its target: a linked file, or a link named
                // like a module, makes the listing depend on it.
                let file = matches!(fs::metadata(e.path()), Ok(m) if m.is_file());
                links |= file || name.ends_with(".py");
                if file {
                    EntryKind::File
                } else if module_like(&name) {
                    EntryKind::Other
                } else {
                    continue;
                }
            } else if module_like(&name) {
                // A FIFO, socket or device named like a module.
                EntryKind::Other
            } else {
                continue;
            };
            out.push(Entry { name, kind });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Some((out, links))
    }
}

/// Names Python's import system takes for a module: those of the special
/// files listed (as [`EntryKind::Other`]) because importing them fails.
fn module_like(name: &str) -> bool {
    name.ends_with(".py") || name.ends_with(".pyc")
}

impl SourceTree for FsTree {
    fn list_dir(&self, dir: &str) -> Option<Vec<Entry>> {
        self.list_dir_links(dir).map(|(entries, _)| entries)
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let path = self.path(path);
        // Reading a FIFO (or a device) named apps.py or settings.py would
        // wait forever.
        if !fs::metadata(&path)?.is_file() {
            return Err(io::Error::other(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        fs::read(path)
    }

    fn is_file(&self, path: &str) -> bool {
        self.path(path).is_file()
    }

    fn is_dir(&self, path: &str) -> bool {
        self.path(path).is_dir()
    }
}

/// The site-packages directory of the project's virtualenv: `python:` from
/// the configuration (an interpreter inside a virtualenv, or the virtualenv
/// itself), else `$VIRTUAL_ENV`, else `.venv/` or `venv/` in the project.
pub fn find_site_packages(
    root: &Path,
    python: Option<&str>,
    virtual_env: Option<&str>,
) -> Option<PathBuf> {
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(py) = python {
        let p = root.join(py);
        if p.is_dir() {
            venvs.push(p);
        } else if let Some(bin) = p.parent() {
            if let Some(venv) = bin.parent() {
                venvs.push(venv.to_path_buf());
            }
        }
    } else {
        if let Some(v) = virtual_env.filter(|v| !v.is_empty()) {
            venvs.push(PathBuf::from(v));
        }
        venvs.push(root.join(".venv"));
        venvs.push(root.join("venv"));
    }
    venvs.into_iter().find_map(|v| site_packages_of(&v))
}

fn site_packages_of(venv: &Path) -> Option<PathBuf> {
    let win = venv.join("Lib").join("site-packages");
    if win.is_dir() {
        return Some(win);
    }
    let lib = venv.join("lib");
    let mut found: Vec<PathBuf> = fs::read_dir(&lib)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found.pop()
}
