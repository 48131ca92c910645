//! Where the project is and how it is configured: the root directory, the
//! configuration file, the virtualenv. Resolved once, before any reading.
//! The workspace is also the run's context: the environment read once
//! ([`Env`]), and the repository and parse cache opened once ([`Run`]).

mod env;
mod run;

use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use env::Env;
use run::Run;

use crate::core::config::{parse_config, Config, CONFIG_FILE};
use crate::error::{Error, Exit, Result};

/// The project being looked at.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub config: Config,
    /// The root relative to the git work-tree top ("" at the top or outside
    /// git), '/'-separated.
    pub repo_prefix: String,
    /// The configuration was named with `--config`: it applies to every
    /// snapshot read. Otherwise each snapshot (a revision, the virtual
    /// merge) is read with its own `.djmig.yml`.
    pub config_explicit: bool,
    /// The text of the default `.djmig.yml` read from disk, if any.
    pub config_text: Option<String>,
    /// `--strict` on the command line (`strict: true` in the configuration
    /// does the same: [`Workspace::strict`]).
    pub strict_flag: bool,
    /// The environment, read at the start of the run.
    pub env: Env,
    /// The repository and parse cache, shared by the workspaces of one run
    /// (a snapshot's own configuration is a copy of this one).
    run: Rc<Run>,
}

impl Workspace {
    /// `-C DIR` is the root; otherwise the git work-tree top around the
    /// current directory, else the current directory.
    pub fn open(dir: Option<&Path>, config: Option<&Path>, strict: bool, env: Env) -> Result<Self> {
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
                    crate::adapters::fs::read::read_string(path, crate::core::limits::Kind::Config)
                } else {
                    crate::adapters::fs::read::read_inside(
                        &root,
                        path,
                        crate::core::limits::Kind::Config,
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
        let repo_prefix = git_toplevel(&root)
            .and_then(|top| {
                root.strip_prefix(&top)
                    .ok()
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
            })
            .unwrap_or_default();
        Ok(Workspace {
            config: cfg,
            repo_prefix,
            config_explicit: explicit,
            config_text,
            strict_flag: strict,
            env,
            run: Rc::new(Run::new(root.clone())),
            root,
        })
    }

    /// The git repository around the root, discovered once per run, when
    /// first asked; its error, each time, when there is none.
    pub fn repo(&self) -> Result<&crate::adapters::git::Repo> {
        self.run.repo()
    }

    /// [`Workspace::repo`], with `None` when the root is in no repository
    /// at all; a repository there that cannot be read is an error.
    pub fn find_repo(&self) -> Result<Option<&crate::adapters::git::Repo>> {
        self.run.find_repo()
    }

    /// The parse cache of the run's repository, opened once when first
    /// asked; [`Workspace::save_caches`] saves it at the end of the run,
    /// if [`Workspace::keep_parse_cache`] was called.
    pub fn parse_cache(
        &self,
        repo: &crate::adapters::git::Repo,
    ) -> Rc<crate::adapters::store::parse_cache::CachingReader> {
        self.run.parse_cache(repo)
    }

    /// What the parse cache learnt is to be saved, at the end of the run
    /// (where each command used to save it, once its reading was done).
    pub fn keep_parse_cache(&self) {
        self.run.keep_parse_cache();
    }

    /// Save what the run's caches learnt and were kept, and let them go (a
    /// command may do it early to free the memory before its largest step;
    /// the end of the run does it in any case).
    pub fn save_caches(&self) {
        self.run.release_parse_cache();
    }
}

impl Workspace {
    /// Whether dependencies on apps found nowhere are errors: `--strict`,
    /// or `strict: true` in the configuration that applies.
    pub fn strict(&self) -> bool {
        self.strict_flag || self.config.strict
    }

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
        let text = match crate::core::limits::narrow(
            tree.read(CONFIG_FILE),
            crate::core::limits::Kind::Config,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::git::testutil::TestRepo;

    fn no_env() -> Env {
        Env::from_vars(|_| None)
    }

    fn project(r: &TestRepo) {
        r.write("manage.py", "")
            .write("shop/__init__.py", "")
            .write("shop/migrations/__init__.py", "")
            .write(
                "shop/migrations/0001_initial.py",
                &TestRepo::migration(&[], ""),
            )
            .write(
                "shop/migrations/0002_more.py",
                &TestRepo::migration(&[("shop", "0001_initial")], ""),
            );
        r.commit("project");
    }

    #[test]
    fn a_run_discovers_its_repository_once_and_opens_its_parse_cache_once() {
        let r = TestRepo::new();
        project(&r);
        let ws = Workspace::open(Some(&r.path), None, false, no_env()).unwrap();
        // Nothing is opened until asked for.
        assert_eq!(ws.run.discoveries(), 0);
        assert_eq!(ws.run.caches_opened(), 0);
        crate::commands::require_worktree(&ws).unwrap();
        let a = crate::commands::analyze_worktree(&ws);
        assert!(
            a.project.apps.contains_key("shop"),
            "{:?}",
            a.project.apps.keys()
        );
        // Again, as `check` and the hooks do, and through a snapshot's copy.
        let _ = crate::commands::analyze_worktree(&ws);
        let copy = ws.clone();
        let repo = copy.repo().unwrap();
        let _ = copy.parse_cache(repo);
        assert!(ws.find_repo().unwrap().is_some());
        assert_eq!(ws.run.discoveries(), 1);
        assert_eq!(ws.run.caches_opened(), 1);
        // Saved once, at the end; what is asked after is opened again.
        let file = crate::adapters::store::parse_cache::cache_file(&repo.cache_dir());
        assert!(!file.exists(), "{}", file.display());
        ws.save_caches();
        assert!(file.exists(), "{}", file.display());
        let _ = ws.parse_cache(repo);
        assert_eq!(ws.run.caches_opened(), 2);
        assert_eq!(ws.run.discoveries(), 1);
    }

    #[test]
    fn outside_git_the_error_is_the_same_each_time_and_discovery_is_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(Some(dir.path()), None, false, no_env()).unwrap();
        assert!(ws.find_repo().unwrap().is_none());
        let first = ws.repo().unwrap_err();
        let again = ws.repo().unwrap_err();
        assert_eq!(first.message, again.message);
        assert!(
            first.message.contains("is not in a git repository"),
            "{}",
            first.message
        );
        assert_eq!(ws.run.discoveries(), 1);
        // The work tree is read without git.
        crate::commands::require_worktree(&ws).unwrap();
        let _ = crate::commands::analyze_worktree(&ws);
        assert_eq!(ws.run.discoveries(), 1);
        assert_eq!(ws.run.caches_opened(), 0);
    }

    #[test]
    fn the_environment_is_the_one_given() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_vars(|name| (name == "GITHUB_ACTIONS").then(|| "true".into()));
        let ws = Workspace::open(Some(dir.path()), None, false, env.clone()).unwrap();
        assert_eq!(ws.env, env);
        assert!(ws.env.github_actions);
    }
}
