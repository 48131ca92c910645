//! Running the project's `manage.py`: what djmig asks of the project's
//! Python (started by [`crate::adapters::process`]).
//!
//! Every command runs as an argument vector — never through a shell — with
//! the manage.py directory as its working directory, stdin closed (so a
//! prompt Django did not expect reads end-of-file instead of hanging), the
//! environment inherited plus `PYTHONDONTWRITEBYTECODE=1`, and `--no-color`
//! so the output can be parsed.
//!
//! The commands of a resolution (`showmigrations`, `migrate`,
//! `makemigrations`) run with `--skip-checks`: the project's own system
//! checks must not stop them — django-linear-migrations reports a
//! `max_migration.txt` left with conflict markers (`dlm.E002`) or two leaf
//! migrations (`dlm.E005`), exactly what a resolution is there to fix.
//! [`Django::check`] runs the checks when the project is sound again.
//! Questions to the project's database are in [`database`].

mod database;

pub use database::DataAtRisk;

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::adapters::process::Cmd;
use crate::core::config::Config;
use crate::error::{Error, Result};

/// How long [`Django::can_run_django`] waits for `import django`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of Django's stderr an error message carries.
const TAIL_LINES: usize = 25;
const TAIL_CHARS: usize = 4000;

/// The project's Django: an interpreter and a `manage.py`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Django {
    pub python: PathBuf,
    pub manage_py: PathBuf,
    /// The project root (what relative configuration paths are relative to).
    pub root: PathBuf,
}

/// What a finished command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Whether it exited with status 0.
    pub status_ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Django {
    /// Find the interpreter and `manage.py` of the workspace.
    ///
    /// Interpreter: `python:` in the configuration (relative to the root; a
    /// bare name like `python3.12` is also looked up on `PATH`), else
    /// `$VIRTUAL_ENV/bin/python`, else `<root>/.venv/bin/python`, else
    /// `<root>/venv/bin/python`, else `python3` on `PATH`.
    /// `manage.py`: `manage_py:` in the configuration, else `<root>/manage.py`.
    /// `virtual_env` and `path_var` are the run's `VIRTUAL_ENV` and `PATH`.
    pub fn locate(
        root: &Path,
        config: &Config,
        virtual_env: Option<&OsStr>,
        path_var: Option<&OsStr>,
    ) -> Result<Django> {
        locate_with(root, config, virtual_env, path_var)
    }

    /// Whether the interpreter can import Django (within a short time).
    pub fn can_run_django(&self) -> bool {
        self.python_command(["-c", "import django"])
            .succeeds_within(PROBE_TIMEOUT)
    }

    /// Django's version (`django.get_version()`), like `5.2.1`.
    pub fn version(&self) -> Result<String> {
        let args = ["-c", "import django; print(django.get_version())"];
        let argv = self.python_argv(args);
        let out = self.run_argv(self.python_command(args), &argv)?;
        if !out.status_ok {
            return Err(failure(&argv, &out).hint(format!(
                "is Django installed for {}? Set `python:` in .djmig.yml to the project's interpreter",
                self.python.display()
            )));
        }
        let v = out.stdout.trim();
        if v.is_empty() {
            return Err(Error::failed(format!(
                "`{}` printed no version",
                show_argv(&argv)
            )));
        }
        Ok(v.to_string())
    }

    /// `manage.py showmigrations --list [apps]`: every app's migrations in
    /// Django's order with whether each is applied. Squashed migrations
    /// appear under their own name; `[-]` (all replaced migrations applied,
    /// the squash itself not yet recorded) counts as applied, as Django will
    /// not run it again. Django lists the migrations of an app with two
    /// leaves too, so this works on a forked history.
    pub fn showmigrations(&self, apps: &[&str]) -> Result<BTreeMap<String, Vec<(String, bool)>>> {
        let mut args = vec!["showmigrations", "--list", "--skip-checks"];
        args.extend_from_slice(apps);
        let out = self.manage_checked(&args)?;
        Ok(parse_showmigrations(&out.stdout))
    }

    /// `manage.py migrate --noinput --skip-checks APP TARGET` (TARGET may
    /// be `zero`).
    pub fn migrate(&self, app: &str, target: &str) -> Result<Output> {
        self.manage_checked(&["migrate", "--noinput", "--skip-checks", app, target])
    }

    /// `manage.py migrate --noinput --skip-checks`.
    pub fn migrate_all(&self) -> Result<Output> {
        self.manage_checked(&["migrate", "--noinput", "--skip-checks"])
    }

    /// `manage.py makemigrations --noinput --skip-checks [apps]`.
    pub fn makemigrations(&self, apps: &[&str]) -> Result<Output> {
        let mut args = vec!["makemigrations", "--noinput", "--skip-checks"];
        args.extend_from_slice(apps);
        self.manage_checked(&args)
    }

    /// `manage.py makemigrations --merge --noinput --skip-checks APP`:
    /// Django writes a merge migration without asking.
    pub fn makemigrations_merge(&self, app: &str) -> Result<Output> {
        self.manage_checked(&[
            "makemigrations",
            "--merge",
            "--noinput",
            "--skip-checks",
            app,
        ])
    }

    /// `manage.py makemigrations --check --dry-run --skip-checks`: true
    /// when the models match the migrations (the system checks are
    /// [`Django::check`]'s). An error (a conflict, an import error) is an
    /// error, not `false`.
    pub fn makemigrations_check(&self) -> Result<bool> {
        let args = [
            "makemigrations",
            "--check",
            "--dry-run",
            "--noinput",
            "--skip-checks",
        ];
        let out = self.manage(&args)?;
        if out.status_ok {
            return Ok(true);
        }
        // Changes found: Django lists them ("Migrations for 'blog':") and
        // exits 1. Anything else is a failure.
        if out.stdout.contains("Migrations for ") && !out.stderr.contains("Traceback") {
            return Ok(false);
        }
        Err(failure(&self.manage_argv(&args), &out))
    }

    /// `manage.py check`: the project's system checks, its own apps' and
    /// the installed packages' (like django-linear-migrations'), as
    /// `migrate` would run them without `--skip-checks`. An error carries
    /// what Django reported.
    pub fn check(&self) -> Result<()> {
        let args = ["check"];
        let out = self.manage(&args)?;
        if out.status_ok {
            return Ok(());
        }
        Err(failure(&self.manage_argv(&args), &out)
            .hint("fix what Django's system checks report, then run `python manage.py check`"))
    }

    /// Run `python manage.py ARGS` (plus `--no-color`) and return what it
    /// printed, whatever its exit status. Errors only when it cannot start.
    pub fn manage(&self, args: &[&str]) -> Result<Output> {
        let argv = self.manage_argv(args);
        self.run_argv(self.manage_command(&argv), &argv)
    }

    /// [`Django::manage`], failing (with the argv and Django's stderr) on a
    /// nonzero exit status.
    pub fn manage_checked(&self, args: &[&str]) -> Result<Output> {
        let out = self.manage(args)?;
        if out.status_ok {
            Ok(out)
        } else {
            Err(failure(&self.manage_argv(args), &out))
        }
    }

    /// The full argument vector of a manage.py command, as run.
    pub fn manage_argv(&self, args: &[&str]) -> Vec<OsString> {
        let mut argv: Vec<OsString> =
            vec![self.python.clone().into(), self.manage_py.clone().into()];
        argv.extend(args.iter().map(OsString::from));
        argv.push("--no-color".into());
        argv
    }

    fn manage_dir(&self) -> Option<&Path> {
        self.manage_py
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    }

    fn python_argv<const N: usize>(&self, args: [&str; N]) -> Vec<OsString> {
        let mut argv: Vec<OsString> = vec![self.python.clone().into()];
        argv.extend(args.iter().map(OsString::from));
        argv
    }

    fn python_command<const N: usize>(&self, args: [&str; N]) -> Cmd {
        Cmd::new(&self.python).args(args).dir(&self.root)
    }

    /// `argv` (from [`Django::manage_argv`]) run by the interpreter, in the
    /// manage.py directory.
    fn manage_command(&self, argv: &[OsString]) -> Cmd {
        let cmd = Cmd::new(&self.python).args(&argv[1..]);
        match self.manage_dir() {
            Some(dir) => cmd.dir(dir),
            None => cmd,
        }
    }

    fn run_argv(&self, cmd: Cmd, argv: &[OsString]) -> Result<Output> {
        let cmd = cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        let out = cmd.output().map_err(|e| {
            Error::failed(format!("cannot run `{}`", show_argv(argv)))
                .cause(e)
                .hint("set `python:` in .djmig.yml to the project's Python interpreter")
        })?;
        Ok(Output {
            status_ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// [`Django::locate`], as a plain function.
fn locate_with(
    root: &Path,
    config: &Config,
    virtual_env: Option<&OsStr>,
    path_var: Option<&OsStr>,
) -> Result<Django> {
    let python = match &config.python {
        Some(p) => {
            let candidate = root.join(p);
            if candidate.is_file() {
                candidate
            } else if !p.contains('/') && !p.contains('\\') {
                find_on_path(p, path_var).ok_or_else(|| {
                    Error::usage(format!(
                        "python: {p:?} from the configuration is neither {} nor on PATH",
                        candidate.display()
                    ))
                    .hint("set `python:` in .djmig.yml to the project's interpreter, like .venv/bin/python")
                })?
            } else {
                return Err(Error::usage(format!(
                    "python: {} (from the configuration) does not exist",
                    candidate.display()
                ))
                .hint("set `python:` in .djmig.yml to the project's interpreter, relative to the project root"));
            }
        }
        None => {
            let mut looked = Vec::new();
            let mut candidates = Vec::new();
            match virtual_env.filter(|v| !v.is_empty()) {
                Some(v) => candidates.push(venv_python(Path::new(v))),
                None => {
                    looked.push("$VIRTUAL_ENV/bin/python ($VIRTUAL_ENV is not set)".to_string())
                }
            }
            candidates.push(venv_python(&root.join(".venv")));
            candidates.push(venv_python(&root.join("venv")));
            let found = candidates.iter().find(|c| c.is_file()).cloned();
            looked.extend(candidates.iter().map(|c| c.display().to_string()));
            match found.or_else(|| find_on_path("python3", path_var)) {
                Some(p) => p,
                None => {
                    looked.push("python3 on PATH".into());
                    let mut err = Error::usage("cannot find the project's Python interpreter");
                    for l in looked {
                        err = err.cause(format!("looked for {l}"));
                    }
                    return Err(err.hint(
                        "set `python:` in .djmig.yml to the interpreter of the project's virtualenv, like .venv/bin/python",
                    ));
                }
            }
        }
    };
    let manage_py = match &config.manage_py {
        Some(m) => {
            let p = root.join(m);
            if !p.is_file() {
                return Err(Error::usage(format!(
                    "manage_py: {} (from the configuration) does not exist",
                    p.display()
                ))
                .hint("set `manage_py:` in .djmig.yml to the path of manage.py, relative to the project root"));
            }
            p
        }
        None => {
            // As the static reading finds it: the root, else the single
            // `*/manage.py` one directory down.
            let found = crate::core::settings::find_manage_py(
                &crate::adapters::fs::tree::FsTree::new(root),
                config,
            );
            let p = root.join(found);
            if !p.is_file() {
                return Err(Error::usage(format!("there is no {}", p.display()))
                    .hint("set `manage_py:` in .djmig.yml to the path of manage.py, relative to the project root"));
            }
            p
        }
    };
    Ok(Django {
        python,
        manage_py,
        root: root.to_path_buf(),
    })
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The first executable called `name` in the `PATH` directories.
fn find_on_path(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter(|d| !d.as_os_str().is_empty())
        .flat_map(|d| {
            let mut v = vec![d.join(name)];
            if cfg!(windows) {
                v.push(d.join(format!("{name}.exe")));
            }
            v
        })
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Parse `showmigrations --list` output:
///
/// ```text
/// blog
///  [X] 0001_initial
///  [X] 0002_squashed_0004 (3 squashed migrations)
///  [-] 0005_squashed_0006 (2 squashed migrations) Run 'manage.py migrate' to finish recording.
///  [ ] 0007_x
/// empty
///  (no migrations)
/// ```
///
/// With `-v 2` an applied line also ends with `(applied at …)`; only the
/// first word after the mark is the name (migration names are module names).
/// Lines before the first app label or not in this shape are ignored.
pub fn parse_showmigrations(text: &str) -> BTreeMap<String, Vec<(String, bool)>> {
    let mut out: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let label = line.trim();
            if label.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.entry(label.to_string()).or_default();
                current = Some(label.to_string());
            } else {
                current = None;
            }
            continue;
        }
        let Some(app) = &current else { continue };
        let rest = line.trim_start();
        let applied = if let Some(r) = rest.strip_prefix("[X] ") {
            Some((true, r))
        } else if let Some(r) = rest.strip_prefix("[-] ") {
            Some((true, r))
        } else {
            rest.strip_prefix("[ ] ").map(|r| (false, r))
        };
        if let Some((applied, r)) = applied {
            if let Some(name) = r.split_whitespace().next() {
                if let Some(list) = out.get_mut(app) {
                    list.push((name.to_string(), applied));
                }
            }
        }
        // " (no migrations)": the app's entry stays empty.
    }
    out
}

/// `python manage.py …` for messages: arguments with spaces or quotes are
/// single-quoted.
fn show_argv(argv: &[OsString]) -> String {
    argv.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last lines of Django's stderr (or of stdout when stderr is empty).
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    let mut t = lines[start..].join("\n");
    if t.len() > TAIL_CHARS {
        let mut cut = t.len() - TAIL_CHARS;
        while !t.is_char_boundary(cut) {
            cut += 1;
        }
        t = format!("…{}", &t[cut..]);
    }
    if start > 0 && !t.starts_with('…') {
        t = format!("…\n{t}");
    }
    t
}

fn failure(argv: &[OsString], out: &Output) -> Error {
    failure_with(format!("`{}` failed", show_argv(argv)), out)
}

/// An error saying `message`, with the tail of what Django printed and a
/// hint when the interpreter has no Django.
fn failure_with(message: String, out: &Output) -> Error {
    let mut err = Error::failed(message);
    let text = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    if !text.trim().is_empty() {
        err = err.cause(tail(text));
    }
    if out.stderr.contains("No module named 'django'")
        || out.stderr.contains("Couldn't import Django")
    {
        err = err.hint("this interpreter has no Django: set `python:` in .djmig.yml to the project's interpreter");
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn test_python() -> Option<PathBuf> {
        let p = std::env::var_os("DJMIG_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                // Where the integration tests build their virtualenv.
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tmp/django-venv/bin/python")
            });
        if p.is_file() {
            Some(p)
        } else {
            eprintln!(
                "skipping: no Python with Django ({} missing; set DJMIG_TEST_PYTHON)",
                p.display()
            );
            None
        }
    }

    pub(super) fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == "__pycache__" || name == "db.sqlite3" {
                continue;
            }
            let (src, dst) = (e.path(), to.join(&name));
            if e.file_type().unwrap().is_dir() {
                copy_dir(&src, &dst);
            } else {
                std::fs::copy(&src, &dst).unwrap();
            }
        }
    }

    /// The `linear` fixture copied into a temporary directory.
    pub(super) fn linear_project(python: &Path) -> (tempfile::TempDir, Django) {
        fixture_project(python, "linear")
    }

    /// `fixtures/<name>` copied into a temporary directory.
    pub(super) fn fixture_project(python: &Path, name: &str) -> (tempfile::TempDir, Django) {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        copy_dir(&fixture, dir.path());
        let dj = Django {
            python: python.to_path_buf(),
            manage_py: dir.path().join("manage.py"),
            root: dir.path().to_path_buf(),
        };
        (dir, dj)
    }

    #[test]
    fn parses_showmigrations() {
        let text = "blog\n [X] 0001_initial\n [X] 0002_squashed_0004 (3 squashed migrations)\n \
                    [-] 0005_squashed_0006 (2 squashed migrations) Run 'manage.py migrate' to finish recording.\n \
                    [ ] 0007_x\nempty\n (no migrations)\nshop\r\n [X] 0001_initial (applied at 2024-01-01 10:00:00)\r\n";
        let m = parse_showmigrations(text);
        assert_eq!(
            m["blog"],
            vec![
                ("0001_initial".to_string(), true),
                ("0002_squashed_0004".to_string(), true),
                ("0005_squashed_0006".to_string(), true),
                ("0007_x".to_string(), false),
            ]
        );
        assert!(m["empty"].is_empty());
        assert_eq!(m["shop"], vec![("0001_initial".to_string(), true)]);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn argv_display_quotes() {
        let argv: Vec<OsString> = ["/a b/python", "manage.py", "it's", "x"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(show_argv(&argv), r"'/a b/python' manage.py 'it'\''s' x");
    }

    #[test]
    fn stderr_tail_keeps_the_end() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&text);
        assert!(t.starts_with("…\n"), "{t}");
        assert!(t.ends_with("line 99"));
        assert!(!t.contains("line 74\n"));
    }

    fn touch(p: &Path, exec: bool) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
        #[cfg(unix)]
        if exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        #[cfg(not(unix))]
        let _ = exec;
    }

    #[cfg(unix)]
    #[test]
    fn locate_precedence() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let venv = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        touch(&r.join("manage.py"), false);
        touch(&r.join("tools/py"), true);
        touch(&r.join(".venv/bin/python"), true);
        touch(&r.join("venv/bin/python"), true);
        touch(&venv.path().join("bin/python"), true);
        touch(&bin.path().join("python3"), true);
        let path_var = bin.path().as_os_str();
        let ve = venv.path().as_os_str();

        let mut cfg = Config {
            python: Some("tools/py".into()),
            ..Config::default()
        };
        // The configuration wins over $VIRTUAL_ENV.
        let d = locate_with(r, &cfg, Some(ve), Some(path_var)).unwrap();
        assert_eq!(d.python, r.join("tools/py"));
        assert_eq!(d.manage_py, r.join("manage.py"));
        // A bare name in the configuration is looked up on PATH.
        cfg.python = Some("python3".into());
        let d = locate_with(r, &cfg, Some(ve), Some(path_var)).unwrap();
        assert_eq!(d.python, bin.path().join("python3"));
        // A missing configured interpreter names the key.
        cfg.python = Some("nope/python".into());
        let e = locate_with(r, &cfg, Some(ve), Some(path_var)).unwrap_err();
        assert!(e.message.contains("nope/python"), "{e:?}");
        assert!(e.hints.iter().any(|h| h.contains("python:")), "{e:?}");

        cfg.python = None;
        let d = locate_with(r, &cfg, Some(ve), Some(path_var)).unwrap();
        assert_eq!(d.python, venv.path().join("bin/python"));
        let d = locate_with(r, &cfg, None, Some(path_var)).unwrap();
        assert_eq!(d.python, r.join(".venv/bin/python"));
        std::fs::remove_file(r.join(".venv/bin/python")).unwrap();
        let d = locate_with(r, &cfg, None, Some(path_var)).unwrap();
        assert_eq!(d.python, r.join("venv/bin/python"));
        std::fs::remove_file(r.join("venv/bin/python")).unwrap();
        let d = locate_with(r, &cfg, None, Some(path_var)).unwrap();
        assert_eq!(d.python, bin.path().join("python3"));
        // Nothing anywhere: the error lists what was looked for.
        let e = locate_with(r, &cfg, None, Some(OsStr::new(""))).unwrap_err();
        let causes = e.causes.join("\n");
        assert!(causes.contains("VIRTUAL_ENV"), "{causes}");
        assert!(causes.contains(".venv"), "{causes}");
        assert!(causes.contains("python3 on PATH"), "{causes}");
        assert!(e.hints.iter().any(|h| h.contains("python:")), "{e:?}");

        // manage.py: the configuration, else the root.
        cfg.python = Some("tools/py".into());
        cfg.manage_py = Some("src/manage.py".into());
        let e = locate_with(r, &cfg, None, None).unwrap_err();
        assert!(e.hints.iter().any(|h| h.contains("manage_py:")), "{e:?}");
        touch(&r.join("src/manage.py"), false);
        let d = locate_with(r, &cfg, None, None).unwrap();
        assert_eq!(d.manage_py, r.join("src/manage.py"));
        cfg.manage_py = None;
        std::fs::remove_file(r.join("manage.py")).unwrap();
        // None at the root: the one manage.py a level down.
        let d = locate_with(r, &cfg, None, None).unwrap();
        assert_eq!(d.manage_py, r.join("src/manage.py"));
        std::fs::remove_file(r.join("src/manage.py")).unwrap();
        let e = locate_with(r, &cfg, None, None).unwrap_err();
        assert!(e.message.contains("manage.py"), "{e:?}");
        assert!(e.hints.iter().any(|h| h.contains("manage_py:")), "{e:?}");
    }

    #[test]
    fn runs_django_on_the_linear_fixture() {
        let Some(py) = test_python() else { return };
        let (dir, dj) = linear_project(&py);
        assert!(dj.can_run_django());
        let v = dj.version().unwrap();
        assert!(v.chars().next().unwrap().is_ascii_digit(), "{v}");

        let m = dj.showmigrations(&[]).unwrap();
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m["blog"].len(), 3);
        assert!(m["blog"].iter().all(|(_, a)| !a));

        dj.migrate_all().unwrap();
        let m = dj.showmigrations(&["blog"]).unwrap();
        let names: Vec<&str> = m["blog"].iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["0001_initial", "0002_post_body", "0003_post_published"]
        );
        assert!(m["blog"].iter().all(|(_, a)| *a), "{m:?}");

        dj.migrate("blog", "0001_initial").unwrap();
        let m = dj.showmigrations(&["blog"]).unwrap();
        assert_eq!(
            m["blog"],
            vec![
                ("0001_initial".to_string(), true),
                ("0002_post_body".to_string(), false),
                ("0003_post_published".to_string(), false),
            ]
        );

        assert!(dj.makemigrations_check().unwrap());
        let models = dir.path().join("blog/models.py");
        let mut text = std::fs::read_to_string(&models).unwrap();
        text.push_str("    views = models.IntegerField(default=0)\n");
        std::fs::write(&models, text).unwrap();
        assert!(!dj.makemigrations_check().unwrap());
        // --dry-run wrote nothing.
        let count = || {
            std::fs::read_dir(dir.path().join("blog/migrations"))
                .unwrap()
                .count()
        };
        let before = count();
        let out = dj.makemigrations(&["blog"]).unwrap();
        assert!(out.status_ok);
        assert_eq!(count(), before + 1, "{}", out.stdout);
        assert!(dir
            .path()
            .join("blog/migrations/0004_post_views.py")
            .is_file());
        assert!(dj.makemigrations_check().unwrap());
        // No bytecode was written.
        assert!(!dir.path().join("blog/migrations/__pycache__").exists());
    }

    #[test]
    fn errors_carry_argv_and_stderr() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = linear_project(&py);
        let e = dj.showmigrations(&["nosuchapp"]).unwrap_err();
        assert!(
            e.message
                .contains("showmigrations --list --skip-checks nosuchapp --no-color"),
            "{e:?}"
        );
        assert!(e.message.contains("manage.py"), "{e:?}");
        assert!(e.causes.iter().any(|c| c.contains("nosuchapp")), "{e:?}");
        let e = dj.migrate("blog", "0099_nope").unwrap_err();
        assert!(
            e.message
                .contains("migrate --noinput --skip-checks blog 0099_nope"),
            "{e:?}"
        );
        assert!(!e.causes.is_empty(), "{e:?}");

        let bad = Django {
            python: PathBuf::from("/nonexistent/python"),
            ..dj.clone()
        };
        assert!(!bad.can_run_django());
        let e = bad.migrate_all().unwrap_err();
        assert!(e.message.contains("/nonexistent/python"), "{e:?}");
    }

    /// django-linear-migrations in the project's INSTALLED_APPS, and
    /// blog's `max_migration.txt` as `text`.
    fn with_dlm(dj: &Django, max_migration: &str) {
        let path = dj.root.join("mysite/settings.py");
        let settings = std::fs::read_to_string(&path).unwrap();
        let patched = settings.replacen(
            "INSTALLED_APPS = [\n",
            "INSTALLED_APPS = [\n    'django_linear_migrations',\n",
            1,
        );
        assert_ne!(settings, patched, "no INSTALLED_APPS in {}", path.display());
        std::fs::write(&path, patched).unwrap();
        let max = dj.root.join("blog/migrations/max_migration.txt");
        std::fs::write(max, max_migration).unwrap();
    }

    #[test]
    fn failing_system_checks_do_not_stop_the_steps() {
        let Some(py) = test_python() else { return };
        let (dir, dj) = linear_project(&py);
        // A merge left git's conflict markers in max_migration.txt.
        with_dlm(
            &dj,
            "<<<<<<< HEAD\n0003_post_published\n=======\n0002_post_body\n>>>>>>> feature\n",
        );
        // Without --skip-checks, Django stops on dlm.E002.
        let out = dj.manage(&["showmigrations", "--list"]).unwrap();
        assert!(!out.status_ok, "{}", out.stdout);
        assert!(out.stderr.contains("dlm.E002"), "{}", out.stderr);
        let e = dj.check().unwrap_err();
        assert!(e.message.contains("manage.py check"), "{e:?}");
        assert!(e.causes.iter().any(|c| c.contains("dlm.E002")), "{e:?}");

        // djmig's steps run all the same.
        assert_eq!(dj.showmigrations(&[]).unwrap()["blog"].len(), 3);
        dj.migrate_all().unwrap();
        dj.migrate("blog", "0002_post_body").unwrap();
        assert!(dj.makemigrations_check().unwrap());
        let models = dir.path().join("blog/models.py");
        let mut text = std::fs::read_to_string(&models).unwrap();
        text.push_str("    views = models.IntegerField(default=0)\n");
        std::fs::write(&models, text).unwrap();
        assert!(!dj.makemigrations_check().unwrap());
        dj.makemigrations(&["blog"]).unwrap();
        let m = dj.showmigrations(&["blog"]).unwrap();
        assert_eq!(m["blog"].len(), 4, "{m:?}");
        // django-linear-migrations' makemigrations rewrote the file: the
        // project passes its checks again.
        dj.check().unwrap();
    }

    #[test]
    fn a_forked_history_with_linear_migrations_lists_and_merges() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = fixture_project(&py, "two_leaves");
        with_dlm(
            &dj,
            "<<<<<<< HEAD\n0002_post_body\n=======\n0002_post_summary\n>>>>>>> feature\n",
        );
        let out = dj.manage(&["showmigrations", "--list"]).unwrap();
        assert!(out.stderr.contains("dlm.E005"), "{}", out.stderr);
        let e = dj.check().unwrap_err();
        assert!(e.causes.iter().any(|c| c.contains("dlm.E005")), "{e:?}");

        assert_eq!(dj.showmigrations(&[]).unwrap()["blog"].len(), 3);
        dj.makemigrations_merge("blog").unwrap();
        dj.migrate_all().unwrap();
        let m = dj.showmigrations(&["blog"]).unwrap();
        assert_eq!(m["blog"].len(), 4, "{m:?}");
        assert!(m["blog"].iter().all(|(_, a)| *a), "{m:?}");
        let merge = &m["blog"][3].0;
        let max = std::fs::read_to_string(dj.root.join("blog/migrations/max_migration.txt"));
        assert_eq!(max.unwrap(), format!("{merge}\n"));
        dj.check().unwrap();
    }

    #[test]
    fn forked_history_lists_and_merges() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = fixture_project(&py, "two_leaves");
        // showmigrations lists both branches of a conflict.
        let m = dj.showmigrations(&[]).unwrap();
        assert_eq!(m["blog"].len(), 3, "{m:?}");
        // makemigrations --check reports the conflict as an error.
        let e = dj.makemigrations_check().unwrap_err();
        assert!(
            e.causes
                .iter()
                .any(|c| c.contains("Conflicting migrations")),
            "{e:?}"
        );
        let e = dj.migrate_all().unwrap_err();
        assert!(
            e.causes
                .iter()
                .any(|c| c.contains("Conflicting migrations")),
            "{e:?}"
        );
        dj.makemigrations_merge("blog").unwrap();
        dj.migrate_all().unwrap();
        let m = dj.showmigrations(&["blog"]).unwrap();
        assert_eq!(m["blog"].len(), 4, "{m:?}");
        assert!(m["blog"].iter().all(|(_, a)| *a), "{m:?}");
    }
}
