//! Helpers shared by the integration tests: the djmig binary run hermetically,
//! the fixture projects, and a real Django to compare djmig against.
//!
//! Django comes from `DJMIG_TEST_PYTHON` (a Python, ideally a virtualenv's,
//! with [`REQUIREMENTS`] installed) or, when that is unset, from a virtualenv
//! this module creates once under cargo's target directory with
//! `python3 -m venv` and `pip install`. Creation is serialised by a file lock, so parallel tests
//! and test binaries share one venv; a marker file written last says it is
//! complete, and an incomplete one is deleted and built again.

#![allow(dead_code)] // each test module uses its own subset

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// The Django the tests run against.
pub const DJANGO_REQUIREMENT: &str = "Django>=5.2,<5.3";

/// What the test venv installs: Django, psycopg 3 for the PostgreSQL tests
/// (`pg.rs`), and django-linear-migrations, whose system checks djmig must
/// get past.
pub const REQUIREMENTS: &[&str] = &[
    DJANGO_REQUIREMENT,
    "psycopg[binary]",
    "django-linear-migrations",
];

/// Written into the venv after a successful install; its content is the
/// requirement list, so changing the list rebuilds the venv.
const VENV_MARKER: &str = ".djmig-venv-complete";

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scratch space of the integration tests: `target/tmp`.
pub fn target_tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

pub fn fixtures_dir() -> PathBuf {
    repo_root().join("fixtures")
}

/// `fixtures/<name>`; panics if there is no such fixture.
pub fn fixture(name: &str) -> PathBuf {
    let dir = fixtures_dir().join(name);
    assert!(
        dir.is_dir(),
        "no fixture named {name:?} in {}",
        fixtures_dir().display()
    );
    dir
}

/// The names of all fixture projects, sorted.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("read fixtures/")
        .map(|entry| entry.expect("read fixtures/ entry"))
        .filter(|entry| entry.path().is_dir())
        // Hostile inputs, not a project: see fixtures/hostile/README.md;
        // review's project and cases: see fixtures/review/README.md.
        .filter(|entry| entry.file_name() != "hostile" && entry.file_name() != "review")
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A private copy of `fixtures/<name>`: the temp dir itself is the project
/// root (where manage.py is), so tests may write into it freely.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("djmig-{name}-"))
        .tempdir()
        .expect("create temp dir");
    copy_tree(&fixture(name), tmp.path());
    tmp
}

/// Copy a directory tree, leaving out `__pycache__` directories.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("read dir entry");
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

/// The djmig binary with a hermetic environment: no colour, no user or system
/// git config, a HOME of its own, and none of the caller's virtualenv,
/// Django settings or `DJMIG_*` variables.
pub fn djmig() -> assert_cmd::Command {
    assert_cmd::Command::from_std(djmig_std())
}

/// [`djmig`] as a `std::process::Command`.
pub fn djmig_std() -> Command {
    let home = target_tmp().join("djmig-test-home");
    fs::create_dir_all(&home).expect("create test HOME");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_djmig"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DJMIG_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("DJANGO_SETTINGS_MODULE");
    cmd
}

/// A Python with Django, ready to run `tests/django_graph.py`.
#[derive(Debug)]
pub struct Django {
    /// The Python executable.
    pub python: PathBuf,
    /// Its `sys.prefix`: the virtualenv directory, to pass as `VIRTUAL_ENV`.
    pub prefix: PathBuf,
    /// `(major, minor)` of that Python.
    pub python_version: (u32, u32),
    pub django_version: String,
}

/// The test Django, provisioned on first use (see the module doc).
pub fn django() -> &'static Django {
    static DJANGO: OnceLock<Django> = OnceLock::new();
    DJANGO.get_or_init(|| {
        let python = match std::env::var_os("DJMIG_TEST_PYTHON") {
            Some(python) if !python.is_empty() => PathBuf::from(python),
            _ => provision_venv(),
        };
        inspect(python)
    })
}

/// The Python of the test Django.
pub fn django_python() -> PathBuf {
    django().python.clone()
}

/// The virtualenv of the test Django (its `sys.prefix`).
pub fn django_venv() -> PathBuf {
    django().prefix.clone()
}

fn inspect(python: PathBuf) -> Django {
    // psycopg and django_linear_migrations are imported too: a venv
    // without them fails here, not in the middle of a database test.
    let probe = "import sys, django, psycopg, django_linear_migrations\n\
                 print(sys.prefix)\n\
                 print(sys.version_info[0], sys.version_info[1])\n\
                 print(django.get_version())";
    let out = run(
        Command::new(&python).args(["-c", probe]),
        "probe the test Python for Django, psycopg and django-linear-migrations \
         (install them with `pip install` and the requirements in tests/it/support.rs)",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let prefix = PathBuf::from(lines.next().unwrap_or_default());
    let mut version = lines
        .next()
        .unwrap_or_default()
        .split(' ')
        .map(|n| n.parse().unwrap_or(0));
    let python_version = (version.next().unwrap_or(0), version.next().unwrap_or(0));
    let django_version = lines.next().unwrap_or_default().to_owned();
    assert!(
        django_version.starts_with("5.2"),
        "{} has Django {django_version}, the tests need {}",
        python.display(),
        REQUIREMENTS.join(" ")
    );
    Django {
        python,
        prefix,
        python_version,
        django_version,
    }
}

/// Create (once, under a lock) `target/tmp/django-venv` with
/// [`REQUIREMENTS`] installed.
fn provision_venv() -> PathBuf {
    let base = target_tmp();
    fs::create_dir_all(&base).expect("create target tmp dir");
    let venv = base.join("django-venv");
    let python = venv.join(if cfg!(windows) {
        "Scripts/python.exe"
    } else {
        "bin/python"
    });
    let marker = venv.join(VENV_MARKER);

    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(base.join("django-venv.lock"))
        .expect("open venv lock file");
    lock.lock().expect("lock the venv lock file"); // released when `lock` drops

    let wanted = REQUIREMENTS.join("\n");
    let complete = fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    if complete && python.exists() {
        return python;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).expect("remove incomplete test venv");
    }
    eprintln!(
        "creating {} with {} ...",
        venv.display(),
        REQUIREMENTS.join(" ")
    );
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "create the test venv with `python3 -m venv`",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
            ])
            .args(REQUIREMENTS),
        "install Django, psycopg and django-linear-migrations into the test venv with pip",
    );
    let mut file = fs::File::create(&marker).expect("create venv marker");
    file.write_all(wanted.as_bytes())
        .expect("write venv marker");
    python
}

/// Run a setup command; panic with its output if it fails.
fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not {what}: {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "could not {what}: {cmd:?} exited with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    out
}

/// Write `text` to `path`, creating its directory.
pub fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is an array"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// The keys of a JSON object.
pub fn keys(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("{v} is an object"))
        .keys()
        .cloned()
        .collect()
}

/// The test Django runs `tests/django_graph.py` on `project`; its JSON.
pub fn django_graph<T: serde::de::DeserializeOwned>(django: &Django, project: &Path) -> T {
    django_graph_with(django, project, &[])
}

/// [`django_graph`] with more options (`--all-orders`).
pub fn django_graph_with<T: serde::de::DeserializeOwned>(
    django: &Django,
    project: &Path,
    options: &[&str],
) -> T {
    let script = repo_root().join("tests").join("django_graph.py");
    let out = Command::new(&django.python)
        .arg(&script)
        .arg(project)
        .args(options)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", django.python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "django_graph.py failed on {}:\n{stdout}\n{}",
        project.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("django_graph.py printed bad JSON ({e}):\n{stdout}"))
}

// ------------------------------------------------------------ runs

/// What one run of a command (usually djmig) gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The exit code and the (lossily decoded) output; panics if the process
    /// was killed by a signal.
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("killed by a signal: {:?}", out.status)),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run `cmd` to completion.
    pub fn of(mut cmd: assert_cmd::Command) -> Run {
        Run::from_output(cmd.output().expect("run djmig"))
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The exit code is `code`, and stderr shows no crash ([`Run::no_crash`]).
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self.no_crash()
    }

    /// stderr mentions no panic, crash or backtrace.
    #[track_caller]
    pub fn no_crash(&self) -> &Self {
        for word in ["panicked", "crashed", "RUST_BACKTRACE"] {
            assert!(
                !self.stderr.contains(word),
                "stderr mentions {word:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// The lines of stdout containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.contains(needle)).collect()
    }

    /// The one line of stdout containing `needle`.
    #[track_caller]
    pub fn line_with(&self, needle: &str) -> &str {
        let lines = self.lines_with(needle);
        assert_eq!(
            lines.len(),
            1,
            "expected one line with {needle:?} in:\n{}",
            self.stdout
        );
        lines[0]
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

// ------------------------------------------------------------ git

/// Make `cmd` hermetic for git: none of the caller's `GIT_*` variables, no
/// system or global git configuration, `HOME` (and `XDG_CONFIG_HOME` below
/// it) at `home`, a fixed identity and fixed dates, no editor or prompt, the
/// C locale.
pub fn hermetic_git(cmd: &mut Command, home: &Path) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T12:00:00Z")
        .env("GIT_EDITOR", "true")
        .env("GIT_MERGE_AUTOEDIT", "no")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C");
}

/// `git` in `dir`, hermetic ([`hermetic_git`] with `home`), with
/// `init.defaultBranch=main` and no autocrlf, automatic gc or maintenance, or
/// detached-HEAD advice.
pub fn git_command(dir: &Path, home: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir);
    hermetic_git(&mut c, home);
    c.args([
        "-c",
        "init.defaultBranch=main",
        "-c",
        "core.autocrlf=false",
        "-c",
        "gc.auto=0",
        "-c",
        "maintenance.auto=false",
        "-c",
        "advice.detachedHead=false",
    ]);
    c
}

/// A temporary directory named `<prefix>...` and its canonical path (tests
/// use it as `HOME` and put repositories in it).
pub fn temp_home(prefix: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create temp dir");
    let home = tmp.path().canonicalize().expect("canonical temp dir");
    (tmp, home)
}
