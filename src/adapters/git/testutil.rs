//! Hermetic git repositories for tests, made with the `git` command-line
//! tool: no system or global configuration, a fixed identity and dates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

use tempfile::TempDir;

/// Keep libgit2 (in this process) away from the user's configuration.
fn isolate_libgit2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let empty = std::env::temp_dir().join("djmig-test-empty-config");
        let _ = std::fs::create_dir_all(&empty);
        for level in [
            git2::ConfigLevel::System,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::Global,
            git2::ConfigLevel::ProgramData,
        ] {
            // SAFETY: called once, before any repository is opened by these
            // tests' helpers; the setting is process-wide configuration.
            unsafe {
                let _ = git2::opts::set_search_path(level, &empty);
            }
        }
    });
}

/// A `git` command run in `dir`, hermetic.
pub fn git_command(dir: &Path, home: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir);
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_COMMON_DIR",
        "XDG_CONFIG_HOME",
    ] {
        c.env_remove(var);
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T12:00:00Z")
        .env("GIT_EDITOR", "true")
        .env("GIT_SEQUENCE_EDITOR", "true")
        .env("GIT_MERGE_AUTOEDIT", "no")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
            "-c",
            "gc.auto=0",
            "-c",
            "maintenance.auto=false",
        ]);
    c
}

/// A temporary directory holding one or more repositories.
pub struct TestRepo {
    _tmp: Option<TempDir>,
    /// The temporary directory (also `HOME`).
    pub home: PathBuf,
    /// The repository's work tree.
    pub path: PathBuf,
}

impl TestRepo {
    /// A fresh repository on `main` at `<tmp>/repo`.
    pub fn new() -> Self {
        isolate_libgit2();
        let tmp = tempfile::Builder::new()
            .prefix("djmig-git-")
            .tempdir()
            .expect("temp dir");
        let home = tmp.path().canonicalize().expect("canonical temp dir");
        let path = home.join("repo");
        std::fs::create_dir_all(&path).unwrap();
        let r = TestRepo {
            _tmp: Some(tmp),
            home,
            path,
        };
        r.git(&["init", "-q"]);
        r
    }

    /// The same helpers on another work tree (a clone, a linked worktree)
    /// in the same temporary directory.
    pub fn at(&self, path: &Path) -> TestRepo {
        TestRepo {
            _tmp: None,
            home: self.home.clone(),
            path: path.to_path_buf(),
        }
    }

    /// Run git in the repository; panics on failure; returns stdout trimmed.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    /// Run git in another directory (e.g. a clone).
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.try_git_in(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed in {}:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Run git, whatever its outcome.
    pub fn try_git(&self, args: &[&str]) -> Output {
        self.try_git_in(&self.path, args)
    }

    pub fn try_git_in(&self, dir: &Path, args: &[&str]) -> Output {
        git_command(dir, &self.home)
            .args(args)
            .output()
            .expect("run git")
    }

    /// Write a file (creating directories) in the work tree.
    pub fn write(&self, rel: &str, content: &str) -> &Self {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path.join(rel)).unwrap();
        self
    }

    /// `git add -A && git commit`; returns the new commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// A path beside the repository, for clones and worktrees.
    pub fn sibling(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// A migration module's source.
    pub fn migration(deps: &[(&str, &str)], ops: &str) -> String {
        let deps: Vec<String> = deps
            .iter()
            .map(|(a, n)| format!("        ('{a}', '{n}'),\n"))
            .collect();
        format!(
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n\n    dependencies = [\n{}    ]\n\n    operations = [\n{ops}    ]\n",
            deps.concat()
        )
    }
}
