//! Names from a repository are data: a file name holding terminal escapes,
//! a newline followed by `::add-mask::`, a legacy `##[` workflow command, an
//! app label or a branch name holding `$(…)`. Whatever djmig prints about
//! them — check, graph, scan, the hooks — must not steer the terminal, start
//! a GitHub workflow command, or run anything when a suggested command is
//! pasted into a shell. JSON keeps every name exact.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::{self, copy_tree, djmig, fixture, git_command, temp_home, Run};

/// No djmig run here may take longer (they take well under a second).
const LIMIT: Duration = Duration::from_secs(60);

/// Migration names as a hostile pull request would name its files.
const ESCAPES: &str = "0004_a\x1b]0;PWNED\x07\x1b[31m";
const NEWLINE: &str = "0004_b\n::add-mask::secret";
const LEGACY: &str = "0004_c##[add-mask]xyz";
const COLONS: &str = "::add-mask::z";

/// An app label and a branch name that run `touch PWNED` when pasted
/// unquoted into a shell (a ref name cannot hold a space: `${IFS}`).
/// App labels must be Python identifiers (anything else is refused, see
/// `a_label_with_control_characters_is_refused_and_shown_escaped`), so the
/// hostile part of a suggested command is the branch name.
const LABEL: &str = "blog_label";
const BRANCH: &str = "x$(touch${IFS}PWNED)";

/// A temporary HOME holding a repository at `repo/`: `fixtures/linear`,
/// committed on `main`.
struct Repo {
    _tmp: TempDir,
    home: PathBuf,
    path: PathBuf,
}

impl Repo {
    fn linear() -> Repo {
        let (tmp, home) = temp_home("djmig-hostile-");
        let path = home.join("repo");
        copy_tree(&fixture("linear"), &path);
        let r = Repo {
            _tmp: tmp,
            home,
            path,
        };
        r.write(".gitignore", "__pycache__/\ndb.sqlite3\n");
        r.git(&["init", "-q", "-b", "main"]);
        r.commit("base");
        r
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = git_command(&self.path, &self.home)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    fn write(&self, rel: &str, text: &str) {
        support::write(&self.path.join(rel), text);
    }

    /// A migration of blog (as `label`) after `parent`.
    fn migration(&self, name: &str, label: &str, parent: &str) {
        self.write(
            &format!("blog/migrations/{name}.py"),
            &format!(
                "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    \
                 dependencies = [({}, {})]\n    operations = []\n",
                py(label),
                py(parent)
            ),
        );
    }

    /// Relabel blog (apps.py and its own migrations' dependencies).
    fn relabel(&self, label: &str) {
        let apps = self.path.join("blog/apps.py");
        let text = fs::read_to_string(&apps).unwrap();
        fs::write(&apps, format!("{text}    label = {}\n", py(label))).unwrap();
        for m in ["0002_post_body", "0003_post_published"] {
            let p = self.path.join(format!("blog/migrations/{m}.py"));
            let text = fs::read_to_string(&p).unwrap();
            fs::write(&p, text.replace("('blog',", &format!("({},", py(label)))).unwrap();
        }
    }

    /// djmig in the repository, with a time limit; the work tree must be
    /// as it was, and no `PWNED` file anywhere near.
    #[track_caller]
    fn djmig(&self, args: &[&str]) -> Run {
        let before = snapshot(&self.path);
        let mut cmd = djmig();
        cmd.current_dir(&self.path)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GITHUB_ACTIONS")
            .timeout(LIMIT)
            .args(args);
        let start = Instant::now();
        let run = Run::of(cmd);
        assert!(start.elapsed() < LIMIT, "djmig {args:?} took too long");
        assert_eq!(
            snapshot(&self.path),
            before,
            "djmig {args:?} changed the work tree"
        );
        self.assert_not_pwned();
        run
    }

    #[track_caller]
    fn assert_not_pwned(&self) {
        for dir in [&self.path, &self.home] {
            assert!(
                !dir.join("PWNED").exists(),
                "a command ran: {} exists",
                dir.join("PWNED").display()
            );
        }
    }
}

/// A Python string literal of `s`.
fn py(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Every file of the work tree (not `.git`) and its bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// Output that a terminal shows as it is and a GitHub runner reads as log
/// lines only: no control character but the line break (with `colour`,
/// only SGR colour codes), no line that is a workflow command once leading
/// blanks are trimmed (`::…`), no legacy command (`##[` anywhere).
#[track_caller]
fn assert_inert(what: &str, text: &str, colour: bool) {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\x1b' && colour {
            // \x1b[<digits and ;>m and nothing else.
            let rest = &text[i + 1..];
            let end = rest.find('m').unwrap_or_else(|| {
                panic!("{what}: an escape that is not a colour at {i}:\n{text}")
            });
            let code = &rest[..end];
            assert!(
                code.starts_with('[') && code[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "{what}: an escape that is not a colour ({code:?}):\n{text}"
            );
            for _ in 0..=end {
                chars.next();
            }
            continue;
        }
        let control = (c.is_control() && c != '\n')
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !control,
            "{what}: control character {c:?} at {i}:\n{}",
            text.escape_debug()
        );
    }
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line starts a workflow command: {line:?}\n{text}"
        );
        assert!(
            !line.contains("##["),
            "{what}: a line holds a legacy workflow command: {line:?}"
        );
    }
}

/// Four leaves in blog, named by [`ESCAPES`], [`NEWLINE`], [`LEGACY`] and
/// [`COLONS`].
fn hostile_leaves() -> Repo {
    let r = Repo::linear();
    for name in [ESCAPES, NEWLINE, LEGACY, COLONS] {
        r.migration(name, "blog", "0003_post_published");
    }
    r.commit("three leaves");
    r
}

#[test]
fn escapes_and_newlines_in_file_names_are_shown_not_obeyed() {
    let r = hostile_leaves();
    let check = r.djmig(&["check"]);
    check.expect_code(1);
    assert_inert("check", &check.stdout, false);
    assert_inert("check (stderr)", &check.stderr, false);
    check
        .stdout_has(r"0004_a\x1b]0;PWNED\x07\x1b[31m")
        .stdout_has(r"0004_b\n::add-mask::secret")
        .stdout_has(r"  \x3a:add-mask::z ")
        .stdout_has("blog: 4 leaf migrations");

    let graph = r.djmig(&["graph"]);
    graph.expect_code(0);
    assert_inert("graph", &graph.stdout, false);
    graph.stdout_has(r"leaves: 0004_a\x1b]0;PWNED\x07\x1b[31m, ");

    let dot = r.djmig(&["graph", "--format", "dot"]);
    dot.expect_code(0);
    assert_inert("graph --format dot", &dot.stdout, false);
    dot.stdout_has(r#""blog.0004_b\\n::add-mask::secret""#);

    let hook = r.djmig(&["hook", "run", "post-merge"]);
    hook.expect_code(0);
    assert_eq!(hook.stdout, "");
    assert_inert("hook run", &hook.stderr, false);
    hook.stderr_has("djmig: warning: blog has 4 leaf migrations (0004_a\\x1b]0;PWNED");
}

#[test]
fn colour_codes_are_djmigs_own_and_names_stay_escaped() {
    let r = hostile_leaves();
    let check = r.djmig(&["--color", "always", "check"]);
    check.expect_code(1);
    assert_inert("check --color always", &check.stdout, true);
    // The name is cyan, its own escapes shown.
    check.stdout_has("\x1b[36m0004_a\\x1b]0;PWNED\\x07\\x1b[31m\x1b[0m");
    let hook = r.djmig(&["--color", "always", "hook", "run", "post-merge"]);
    hook.expect_code(0);
    assert_inert("hook run --color always", &hook.stderr, true);
}

#[test]
fn a_name_cannot_start_a_github_workflow_command() {
    let r = hostile_leaves();
    let gh = r.djmig(&["check", "--format", "github"]);
    gh.expect_code(1);
    let lines: Vec<&str> = gh.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "one annotation per leaf:\n{}", gh.stdout);
    for line in &lines {
        // As the runner reads it: `::error PROPS::DATA`, nothing else.
        let rest = line
            .strip_prefix("::error ")
            .unwrap_or_else(|| panic!("{line}"));
        let (props, data) = rest.split_once("::").expect("properties end");
        let keys: Vec<&str> = props
            .split(',')
            .map(|p| p.split_once('=').expect("key=value").0)
            .collect();
        assert_eq!(keys, ["file", "line", "title"], "{line}");
        assert!(!data.contains('\x1b') && !data.contains('\x07'), "{line:?}");
    }
    assert!(
        gh.stdout
            .contains("file=blog/migrations/0004_b%0A%3A%3Aadd-mask%3A%3Asecret.py,line=1,"),
        "{}",
        gh.stdout
    );
    assert!(
        gh.stdout.contains(r"0004_a\x1b]0;PWNED\x07"),
        "{}",
        gh.stdout
    );
    assert!(
        gh.stdout.contains("0004_b%0A::add-mask::secret"),
        "{}",
        gh.stdout
    );
    assert_inert("check --format github (stderr)", &gh.stderr, false);
}

#[test]
fn json_keeps_hostile_names_exact() {
    let r = hostile_leaves();
    for args in [
        &["check", "--format", "json"][..],
        &["graph", "--format", "json"],
    ] {
        let run = r.djmig(args);
        run.expect_code(if args[0] == "check" { 1 } else { 0 });
        let leaves = support::strings(&run.json()["apps"]["blog"]["leaves"]);
        let mut want = words(&[ESCAPES, NEWLINE, LEGACY, COLONS]);
        want.sort();
        assert_eq!(leaves, want);
        // Exact, yet no runner reads a legacy command in it.
        assert!(!run.stdout.contains("##["), "{}", run.stdout);
        assert_inert("json", &run.stdout, false);
    }
}

#[test]
fn a_parse_error_in_a_hostile_file_is_reported_inert() {
    let r = Repo::linear();
    r.write(
        "blog/migrations/0004_x\x1b[2J\n::warning::y.py",
        "class Migration(:\n",
    );
    r.commit("broken");
    let check = r.djmig(&["check"]);
    check.expect_code(3);
    assert_inert("check", &check.stdout, false);
    assert_inert("check (stderr)", &check.stderr, false);
    check.stderr_has(r"error: blog/migrations/0004_x\x1b[2J\n::warning::y.py:");
    let gh = r.djmig(&["check", "--format", "github"]);
    gh.expect_code(3);
    for line in gh.stdout.lines() {
        assert!(line.starts_with("::error file="), "{line:?}");
    }
    assert!(
        gh.stdout.starts_with(
            "::error file=blog/migrations/0004_x\\x1b[2J%0A%3A%3Awarning%3A%3Ay.py,line=1::"
        ),
        "{}",
        gh.stdout
    );
    let hook = r.djmig(&["hook", "run", "post-merge"]);
    hook.expect_code(0);
    assert_inert("hook run", &hook.stderr, false);
    hook.stderr_has("the migration graph cannot be built: blog/migrations/0004_x\\x1b[2J");
}

// ------------------------------------------------------ suggested commands

/// What pasting `line` into `shell` runs, with `djmig`, `git` and `python`
/// replaced by functions that record their arguments: one command per
/// item, its words exact. Nothing else may run (no `PWNED` file).
#[track_caller]
fn pasted(r: &Repo, shell: &str, line: &str) -> Vec<Vec<String>> {
    let record = |name: &str| {
        format!("{name}() {{ printf '%s' {name}; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; printf '\\036'; }}\n")
    };
    let script = format!(
        "{}{}{}{line}\n",
        record("djmig"),
        record("git"),
        record("python")
    );
    let out = Command::new(shell)
        .arg("-c")
        .arg(&script)
        .current_dir(&r.path)
        .env("HOME", &r.home)
        .output()
        .expect("run the shell");
    assert!(
        out.status.success(),
        "{shell} -c {script:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.assert_not_pwned();
    String::from_utf8(out.stdout)
        .unwrap()
        .split('\x1e')
        .filter(|c| !c.is_empty())
        .map(|c| c.split('\x1f').map(str::to_string).collect())
        .collect()
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

/// The text after `marker` on the one line of `text` that has it, to the
/// end of the line (or to `end`).
#[track_caller]
fn after<'t>(text: &'t str, marker: &str, end: Option<&str>) -> &'t str {
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(marker)).collect();
    assert_eq!(lines.len(), 1, "one line with {marker:?} in:\n{text}");
    let rest = &lines[0][lines[0].find(marker).unwrap() + marker.len()..];
    match end {
        Some(e) => &rest[..rest.find(e).unwrap_or_else(|| panic!("{e:?} in {rest:?}"))],
        None => rest,
    }
}

/// blog labelled [`LABEL`]; `main` and the branch [`BRANCH`] each add a
/// migration after 0003 (upstream `0004_up`, yours `0004_mine`); the work
/// tree is `main`.
fn hostile_label_and_branch() -> Repo {
    let r = Repo::linear();
    r.relabel(LABEL);
    r.commit("relabel");
    r.git(&["checkout", "-q", "-b", BRANCH]);
    r.migration("0004_up", LABEL, "0003_post_published");
    r.commit("up");
    r.git(&["checkout", "-q", "main"]);
    r.migration("0004_mine", LABEL, "0003_post_published");
    r.commit("mine");
    r
}

#[test]
fn suggested_commands_are_shell_quoted_and_run_nothing_when_pasted() {
    let r = hostile_label_and_branch();
    let resolve_base = words(&["djmig", "resolve", LABEL, "--base", BRANCH]);

    // check --base: `Fix: djmig resolve LABEL --base BRANCH`.
    let cmp = r.djmig(&["check", "--base", BRANCH]);
    cmp.expect_code(1);
    assert_inert("check --base", &cmp.stdout, false);
    let fix = after(&cmp.stdout, "Fix: ", None);
    assert_eq!(pasted(&r, "sh", fix), std::slice::from_ref(&resolve_base));

    let gh = r.djmig(&["check", "--base", BRANCH, "--format", "github"]);
    gh.expect_code(1);
    let line = gh.stdout.lines().next().unwrap();
    let fix = &line[line.rfind("Fix: ").unwrap() + 5..];
    assert_eq!(pasted(&r, "sh", fix), [resolve_base]);

    // scan: the branch collides with the base it is compared to.
    let scan = r.djmig(&["scan", "--base", BRANCH]);
    scan.expect_code(1);
    assert_inert("scan", &scan.stdout, false);
    let run = after(&scan.stdout, "on it, run `", Some("`."));
    assert_eq!(
        pasted(&r, "sh", run),
        [words(&["djmig", "resolve", "--base", BRANCH])]
    );

    // After merging: check's `next:` and the hook's `fix it with:`.
    r.git(&["merge", "-q", "--no-edit", BRANCH]);
    let check = r.djmig(&["check"]);
    check.expect_code(1);
    let next = after(&check.stdout, "next: ", None);
    assert_eq!(
        pasted(&r, "sh", next),
        [words(&["djmig", "resolve", LABEL])]
    );

    let hook = r.djmig(&["hook", "run", "post-merge"]);
    hook.expect_code(0);
    assert_inert("hook run", &hook.stderr, false);
    let fix = after(&hook.stderr, "djmig: fix it with: ", None);
    assert_eq!(pasted(&r, "sh", fix), [words(&["djmig", "resolve", LABEL])]);
}

/// A label that is no Python identifier — terminal escapes, a newline,
/// `::add-mask::` — is Django's ImproperlyConfigured: refused (exit 3), and
/// shown escaped, never obeyed.
#[test]
fn a_label_with_control_characters_is_refused_and_shown_escaped() {
    let r = Repo::linear();
    let label = "blog\x1b[2J\n::add-mask::x";
    r.relabel(label);
    r.commit("relabel");
    let check = r.djmig(&["check"]);
    check.expect_code(3);
    assert_inert("check", &check.stdout, false);
    assert_inert("check", &check.stderr, false);
    assert!(
        check.stderr.contains(r"blog\x1b[2J\n::add-mask::x")
            && check.stderr.contains("not a valid Python identifier"),
        "{}",
        check.stderr
    );
}

/// The database check after a branch switch names the stranded migration
/// and says how to unapply it: `git checkout BRANCH && python manage.py
/// migrate APP TARGET && git checkout BACK`, every word quoted.
#[test]
fn the_database_checks_advice_is_shell_quoted_and_its_names_inert() {
    let python = support::django_python();
    let r = Repo::linear();
    r.write(
        ".djmig.yml",
        &format!(
            "python: {}\nhooks:\n  database_check: true\n",
            python.display()
        ),
    );
    let target = "0004_z$(touch PWNED)";
    let stranded = "0005_f\x1b]0;PWNED\x07";
    let branch = "feature$(touch${IFS}PWNED)";
    r.migration(target, "blog", "0003_post_published");
    r.commit("config and 0004");
    r.git(&["checkout", "-q", "-b", branch]);
    r.migration(stranded, "blog", target);
    r.commit("0005");
    let out = Command::new(&python)
        .args(["manage.py", "migrate", "--noinput"])
        .current_dir(&r.path)
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.djmig(&["hook", "install"]).expect_code(0);

    let before = snapshot(&r.path);
    let start = Instant::now();
    let mut git = git_command(&r.path, &r.home);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DJMIG_") {
            git.env_remove(&key);
        }
    }
    let path = std::env::join_paths(
        std::iter::once(
            Path::new(env!("CARGO_BIN_EXE_djmig"))
                .parent()
                .unwrap()
                .to_path_buf(),
        )
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();
    let out = git
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("VIRTUAL_ENV")
        .args(["checkout", "-q", "main"])
        .output()
        .unwrap();
    assert!(start.elapsed() < LIMIT);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    r.assert_not_pwned();
    // The checkout changed the files it had to: the stranded migration's.
    let mut after = snapshot(&r.path);
    let gone = r.path.join(format!("blog/migrations/{stranded}.py"));
    assert!(!after.contains_key(&gone));
    after.insert(gone.clone(), before[&gone].clone());
    assert_eq!(after, before);

    assert_inert("post-checkout", &stderr, false);
    assert!(
        stderr.contains(r"djmig:   blog: 0005_f\x1b]0;PWNED\x07"),
        "{stderr}"
    );
    let advice = after_marker(&stderr, "djmig:   git checkout");
    assert_eq!(
        pasted(&r, "sh", &advice),
        [
            words(&["git", "checkout", branch]),
            words(&["python", "manage.py", "migrate", "blog", target]),
            words(&["git", "checkout", "main"]),
        ]
    );
}

/// The command on the one line that starts with `marker`, from `git` on.
#[track_caller]
fn after_marker(text: &str, marker: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.starts_with(marker))
        .unwrap_or_else(|| panic!("no line starting with {marker:?} in:\n{text}"));
    line[line.find("git checkout").unwrap()..].to_string()
}
