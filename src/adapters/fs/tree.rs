//! A [`SourceTree`] over a directory on disk: the work tree as Django would
//! see it (untracked and modified files included), or a virtualenv's
//! site-packages.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::adapters::fs::read;
use crate::core::limits::Kind;
use crate::core::tree::{Entry, EntryKind, Problem, SourceTree};

/// Files under a directory.
///
/// Reading is [`limits::read_inside`]: regular files only, each up to
/// [`Kind::Migration`]'s cap (callers reading smaller kinds check the
/// length), symbolic links followed only inside the root. Anything else a
/// listing shows — a FIFO, a device, a link out of the root or to nothing —
/// is listed as a file, so that reading it says what it is instead of the
/// file silently missing. Links to directories are not walked.
#[derive(Debug, Clone)]
pub struct FsTree {
    root: PathBuf,
    canonical: Arc<OnceLock<PathBuf>>,
    problems: Arc<Mutex<Vec<Problem>>>,
}

impl FsTree {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsTree {
            root: root.into(),
            canonical: Arc::new(OnceLock::new()),
            problems: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root with every link resolved: what links must stay inside.
    fn canonical_root(&self) -> &Path {
        self.canonical.get_or_init(|| {
            self.root
                .canonicalize()
                .unwrap_or_else(|_| self.root.clone())
        })
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

    fn note(&self, p: Problem) {
        let mut all = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        if !all.contains(&p) {
            all.push(p);
        }
    }

    /// [`SourceTree::list_dir`], and whether the listing depends on where
    /// a symbolic link points (a linked file, or a link named `*.py`).
    pub fn list_dir_links(&self, dir: &str) -> Option<(Vec<Entry>, bool)> {
        let rd = match fs::read_dir(self.path(dir)) {
            Ok(rd) => rd,
            Err(e) => {
                // Not there is an answer; anything else hides what is below.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) {
                    self.note(Problem::Unlistable {
                        dir: dir.to_string(),
                        why: e.to_string(),
                    });
                }
                return None;
            }
        };
        let mut links = false;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let Ok(ft) = e.file_type() else { continue };
            let kind = if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_symlink() {
                // A linked directory is not walked (as os.walk), to stay
                // out of loops; named like a module, it is what Python
                // cannot import. A linked anything else named like a
                // module that is no regular file (dangling, in a loop) is
                // the same; otherwise it is listed as a file: reading it
                // tells what it is, and may change with its target, so the
                // listing depends on it.
                let target = fs::metadata(e.path());
                let to_dir = target.as_ref().is_ok_and(|m| m.is_dir());
                let to_file = target.as_ref().is_ok_and(|m| m.is_file());
                if to_dir && !module_like(&name) {
                    continue;
                }
                links = true;
                if module_like(&name) && !to_file {
                    EntryKind::Other
                } else {
                    EntryKind::File
                }
            } else if !ft.is_file() && module_like(&name) {
                // A FIFO, socket or device named like a module.
                links = true;
                EntryKind::Other
            } else {
                // Regular files, and FIFOs, devices and sockets, which a
                // read refuses by name.
                links |= !ft.is_file();
                EntryKind::File
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
        read::read_inside(self.canonical_root(), &self.path(path), Kind::Migration)
    }

    fn problems(&self) -> Vec<Problem> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What a listing calls a file: anything but a directory or a link to
    /// one.
    fn is_file(&self, path: &str) -> bool {
        let p = self.path(path);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => !fs::metadata(&p).is_ok_and(|m| m.is_dir()),
            Ok(m) => !m.is_dir(),
            Err(_) => false,
        }
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
