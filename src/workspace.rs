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
    /// The configuration was named with `--config`: it applies to every
    /// snapshot read. Otherwise each snapshot (a revision, the virtual
    /// merge) is read with its own `.djmig.yml`.
    pub config_explicit: bool,
    /// The text of the default `.djmig.yml` read from disk, if any.
    pub config_text: Option<String>,
    /// `--strict` on the command line.
    pub strict_flag: bool,
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
        let mut config_text = None;
        let cfg = match &config_file {
            Some(path) => {
                // The default file is the project's, maybe hostile: a link
                // out of the project is refused. One given with --config is
                // the user's own.
                let read = if explicit {
                    crate::adapters::fs::read::read_string(
                        path,
                        crate::adapters::fs::read::Kind::Config,
                    )
                } else {
                    crate::adapters::fs::read::read_inside(
                        &root,
                        path,
                        crate::adapters::fs::read::Kind::Config,
                    )
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
                if !explicit {
                    config_text = Some(text.clone());
                }
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
        let strict_flag = strict;
        let strict = strict || cfg.strict;
        let repo_prefix = git_toplevel(&root)
            .and_then(|top| {
                root.strip_prefix(&top)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .unwrap_or_default();
        Ok(Workspace {
            root,
            config: cfg,
            config_file,
            strict,
            repo_prefix,
            config_explicit: explicit,
            config_text,
            strict_flag,
        })
    }
}

impl Workspace {
    /// The workspace as a snapshot's own `.djmig.yml` configures it, when
    /// that differs from the one read from disk (a revision, the virtual
    /// merge): `Ok(None)` when the disk's applies (the same text, or
    /// `--config`), an error naming `.djmig.yml:line` when it does not parse.
    pub fn configured_by(
        &self,
        tree: &dyn crate::core::tree::SourceTree,
    ) -> std::result::Result<Option<Workspace>, crate::core::diag::Diag> {
        use crate::core::diag::{Diag, DiagKind};
        if self.config_explicit {
            return Ok(None);
        }
        let text = match crate::adapters::fs::read::narrow(
            tree.read(CONFIG_FILE),
            crate::adapters::fs::read::Kind::Config,
        ) {
            Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Diag::new(
                    DiagKind::Config,
                    format!("cannot read the configuration: {e}"),
                )
                .at(CONFIG_FILE.to_string(), None))
            }
        };
        if text == self.config_text {
            return Ok(None);
        }
        let config = match &text {
            None => Config::default(),
            Some(t) => parse_config(t).map_err(|e| {
                Diag::new(DiagKind::Config, e.message).at(CONFIG_FILE.to_string(), e.line)
            })?,
        };
        let mut ws = self.clone();
        ws.strict = self.strict_flag || config.strict;
        ws.config = config;
        ws.config_text = text;
        Ok(Some(ws))
    }
}

/// The name of a project root directory, as Django would name an app whose
/// package it is (`shop` for `/srv/shop` and for a bare `/srv/shop.git`).
pub fn root_name(root: &Path) -> String {
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

/// The nearest directory at or above `dir` that holds `.git`.
fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}
