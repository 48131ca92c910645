//! Where the project is and how it is configured: the root directory, the
//! configuration file, the virtualenv. Resolved once, before any reading.

use std::path::{Path, PathBuf};

use crate::core::config::{parse_config, Config, CONFIG_FILE};
use crate::error::{Error, Exit, Result};

/// The project being looked at.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub config: Config,
    /// The configuration file read, if any.
    pub config_file: Option<PathBuf>,
    pub strict: bool,
    /// The root relative to the git work-tree top ("" at the top or outside
    /// git), '/'-separated.
    pub repo_prefix: String,
}

impl Workspace {
    /// `-C DIR` is the root; otherwise the git work-tree top around the
    /// current directory, else the current directory.
    pub fn open(dir: Option<&Path>, config: Option<&Path>, strict: bool) -> Result<Self> {
        let root = match dir {
            Some(d) => {
                if !d.is_dir() {
                    return Err(Error::usage(format!("-C {}: not a directory", d.display())));
                }
                d.to_path_buf()
            }
            None => {
                let cwd = std::env::current_dir()
                    .map_err(|e| Error::usage("cannot read the current directory").cause(e))?;
                git_toplevel(&cwd).unwrap_or(cwd)
            }
        };
        let root = root.canonicalize().unwrap_or(root);
        let (config_file, explicit) = match config {
            // Like `git -C`, a relative path given with -C is read from DIR.
            Some(c) => match dir {
                Some(d) if c.is_relative() => (Some(d.join(c)), true),
                _ => (Some(c.to_path_buf()), true),
            },
            None => {
                // Anything there is read (and a FIFO or device refused by
                // name), not only what `is_file` would call a file.
                let c = root.join(CONFIG_FILE);
                (std::fs::symlink_metadata(&c).is_ok().then_some(c), false)
            }
        };
        let cfg = match &config_file {
            Some(path) => {
                // The default file is the project's, maybe hostile: a link
                // out of the project is refused. One given with --config is
                // the user's own.
                let read = if explicit {
                    crate::limits::read_string(path, crate::limits::Kind::Config)
                } else {
                    crate::limits::read_inside(&root, path, crate::limits::Kind::Config)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                };
                let text = read.map_err(|e| {
                    let err = Error::usage(format!(
                        "cannot read the configuration file {}",
                        path.display()
                    ))
                    .cause(e);
                    if explicit {
                        err.hint("check the path given to --config")
                    } else {
                        err
                    }
                })?;
                parse_config(&text).map_err(|e| {
                    let at = match (e.line, e.column) {
                        (Some(l), Some(c)) => format!("{}:{l}:{c}", path.display()),
                        (Some(l), None) => format!("{}:{l}", path.display()),
                        _ => path.display().to_string(),
                    };
                    Error::new(Exit::Usage, format!("{at}: {}", e.message))
                        .hint("the keys are documented in the README under \"Configuration\"")
                })?
            }
            None => Config::default(),
        };
        let strict = strict || cfg.strict;
        let repo_prefix = git_toplevel(&root)
            .and_then(|top| {
                root.strip_prefix(&top)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .unwrap_or_default();
        let mut ws = Workspace {
            root,
            config: cfg,
            config_file,
            strict,
            repo_prefix,
        };
        ws.find_manage_py();
        Ok(ws)
    }

    /// With no `manage_py:` and no `manage.py` at the root, take a single
    /// `manage.py` one level down (a `backend/` or `src/` layout).
    fn find_manage_py(&mut self) {
        if self.config.manage_py.is_some() || self.root.join("manage.py").is_file() {
            return;
        }
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut found: Vec<String> = rd
            .flatten()
            .filter(|e| e.path().join("manage.py").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .map(|n| format!("{n}/manage.py"))
            .collect();
        if found.len() == 1 {
            self.config.manage_py = found.pop();
        }
    }
}

/// The nearest directory at or above `dir` that holds `.git`.
fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
