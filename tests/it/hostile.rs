//! Hostile projects: files that an untrusted pull request could hold. Each
//! `fixtures/hostile_*` folder is a small Django project with one hostile
//! thing in it (some get theirs, a FIFO or a symbolic link, only at test
//! time). djmig must finish within a time limit, never panic, change no
//! file, and give Django's verdict: an error naming `file:line` (exit 3)
//! where Django refuses to load the project, the graph Django builds where
//! it does not. `django_agreement` compares every fixture with Django too.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, copy_fixture, djmig, Run};

/// No hostile project may take longer than this.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// Every entry under `root`: path → what it is and its bytes (or where a
/// link points).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry"))
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let meta = fs::symlink_metadata(&path).expect("lstat");
            let ft = meta.file_type();
            let what = if ft.is_symlink() {
                format!(
                    "link -> {}",
                    fs::read_link(&path).expect("readlink").display()
                )
            } else if ft.is_dir() {
                walk(root, &path, out);
                "dir".to_owned()
            } else if ft.is_file() {
                format!("file {:?}", fs::read(&path).expect("read file"))
            } else {
                "special".to_owned()
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// `djmig -C dir ARGS…` with the test Django's virtualenv, killed after
/// [`TIME_LIMIT`].
fn run(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = djmig();
    cmd.env("VIRTUAL_ENV", support::django_venv())
        .arg("-C")
        .arg(dir)
        .args(args)
        .timeout(TIME_LIMIT);
    let out = cmd.output().expect("run djmig");
    assert!(
        out.status.code().is_some(),
        "djmig did not finish within {TIME_LIMIT:?} (or was killed): {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Run::from_output(out)
}

/// What djmig must report about a hostile project.
struct Expect<'a> {
    code: i32,
    /// `"errors"` or `"warnings"`.
    list: &'a str,
    kind: &'a str,
    file: &'a str,
    line: Option<u64>,
    /// A piece of the message.
    says: &'a str,
}

impl Expect<'_> {
    fn error(kind: &'static str, file: &'static str, line: u64, says: &'static str) -> Self {
        Expect {
            code: 3,
            list: "errors",
            kind,
            file,
            line: Some(line),
            says,
        }
    }
}

/// Django's error kind (or `None`) in each distinct outcome of building the
/// graph with the squashes in every order.
fn django_outcomes(project: &Path) -> Vec<Option<String>> {
    let graph: Value = support::django_graph_with(support::django(), project, &["--all-orders"]);
    let mut kinds: Vec<Option<String>> = graph["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| o["error"]["kind"].as_str().map(str::to_owned))
        .collect();
    kinds.sort();
    kinds
}

/// Run `check` (JSON and text) and `graph` on the project in `dir`; assert
/// the verdict, the diagnostic, a clean finish and an unchanged tree.
#[track_caller]
fn verdict(dir: &Path, expect: &Expect) -> Value {
    let before = snapshot(dir);
    let json = run(dir, &["check", "--format", "json"]);
    json.expect_code(expect.code);
    let report = json.json();
    let found = report[expect.list]
        .as_array()
        .unwrap_or_else(|| panic!("{} is an array", expect.list))
        .iter()
        .find(|d| {
            d["kind"] == expect.kind
                && d["file"] == expect.file
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(expect.says))
        })
        .cloned();
    let Some(found) = found else {
        panic!(
            "no {} of kind {} in {} saying {:?}:\n{:#}",
            expect.list, expect.kind, expect.file, expect.says, report
        );
    };
    assert_eq!(found["line"].as_u64(), expect.line, "line of {found}");

    // The text output names the place as file:line.
    let text = run(dir, &["check"]);
    text.expect_code(expect.code);
    let place = match expect.line {
        Some(line) => format!("{}:{line}", expect.file),
        None => expect.file.to_owned(),
    };
    assert!(
        text.stderr.contains(&place),
        "stderr does not name {place}:\n{}",
        text.stderr
    );
    // graph exits 3 exactly when the graph cannot be built.
    let graph = run(dir, &["graph", "--format", "json"]);
    graph.expect_code(if expect.code == 3 { 3 } else { 0 });

    assert_eq!(
        before,
        snapshot(dir),
        "djmig changed files in {}",
        dir.display()
    );
    report
}

#[test]
fn self_replacing_squash_is_loaded_like_django_with_a_warning() {
    let project = copy_fixture("hostile_self_replacing_squash");
    let report = verdict(
        project.path(),
        &Expect {
            code: 0,
            list: "warnings",
            kind: "self_replacing",
            file: "blog/migrations/0001_squashed_0002_post_body.py",
            line: Some(11),
            says: "lists itself in `replaces`",
        },
    );
    // Django's graph: the squash and 0002 are gone, 0003 keeps its edge
    // to the squash.
    let blog = &report["apps"]["blog"];
    assert_eq!(
        support::strings(&blog["nodes"]),
        ["0001_initial", "0003_post_published"]
    );
    assert_eq!(support::strings(&blog["leaves"]), ["0003_post_published"]);
    assert_eq!(support::strings(&blog["roots"]), ["0001_initial"]);
    assert_eq!(
        report["edges"],
        serde_json::json!([[
            "blog.0003_post_published",
            "blog.0001_squashed_0002_post_body"
        ]])
    );
}

#[test]
fn squash_of_a_replacing_squash_is_refused_as_django_refuses_it_in_some_runs() {
    let project = copy_fixture("hostile_squash_of_a_replacing_squash");
    verdict(
        project.path(),
        &Expect::error(
            "node_not_found",
            "blog/migrations/0001_squashed_0003_post_published.py",
            11,
            "Unable to find replacement node ('blog', '0001_squashed_0002_post_body')",
        ),
    );
    // Django loads it in one order of the squashes and fails in the other.
    assert_eq!(
        django_outcomes(project.path()),
        [None, Some("node_not_found".to_owned())]
    );
}

#[test]
fn two_squashes_of_one_migration_are_refused_as_their_graph_changes_run_to_run() {
    let project = copy_fixture("hostile_two_squashes_replace_one_migration");
    verdict(
        project.path(),
        &Expect::error(
            "ambiguous_replacement",
            "blog/migrations/0001_squashed_0002_post_body.py",
            8,
            "blog.0002_post_body is replaced by both blog.0001_squashed_0002_post_body and blog.0002_squashed_0002_post_body",
        ),
    );
    // Django loads it either way, with one leaf or two.
    assert_eq!(django_outcomes(project.path()), [None, None]);
}

/// `git init` and commit everything in `dir`, hermetically.
fn commit_all(dir: &Path) {
    let home = support::target_tmp().join("djmig-test-home");
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "hostile"],
    ] {
        let status = support::git_command(dir, &home)
            .args(args)
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?} failed");
    }
}

/// `('blog' '0001_initial')` is one string. It was dropped with a warning,
/// which left 0002 a second root and leaf: a false conflict even with
/// --strict, and `resolve` offered a merge migration. Django raises
/// NodeNotFoundError.
#[test]
fn dependency_missing_a_comma_is_djangos_missing_node_not_a_conflict() {
    let project = copy_fixture("hostile_dependency_missing_comma");
    let report = verdict(
        project.path(),
        &Expect::error(
            "node_not_found",
            "blog/migrations/0002_post_body.py",
            10,
            "dependencies reference nonexistent parent node 'blog0001_initial' (one string",
        ),
    );
    assert_eq!(report["errors"].as_array().map(Vec::len), Some(1));
    // Not a conflict to resolve: the text verdict is the error, with
    // --strict too.
    let strict = run(project.path(), &["--strict", "check"]);
    strict.expect_code(3);
    assert!(
        strict.stdout.contains("cannot be built")
            && !strict.stdout.to_lowercase().contains("conflict"),
        "{}",
        strict.stdout
    );

    commit_all(project.path());
    let before = snapshot(project.path());
    let resolve = run(project.path(), &["resolve", "--dry-run", "--no-database"]);
    resolve.expect_code(3);
    assert!(
        resolve.stderr.contains("blog0001_initial") && !resolve.stdout.contains("merge"),
        "stdout:\n{}\nstderr:\n{}",
        resolve.stdout,
        resolve.stderr
    );
    assert_eq!(before, snapshot(project.path()));
}

#[test]
fn dependency_naming_no_migration_is_djangos_missing_node() {
    let project = copy_fixture("hostile_dependency_name_none");
    verdict(
        project.path(),
        &Expect::error(
            "node_not_found",
            "blog/migrations/0002_post_body.py",
            10,
            "nonexistent parent node ('blog', None)",
        ),
    );
}

#[test]
fn dependency_with_three_items_is_djangos_missing_node() {
    let project = copy_fixture("hostile_dependency_three_items");
    verdict(
        project.path(),
        &Expect::error(
            "node_not_found",
            "blog/migrations/0002_post_body.py",
            10,
            "nonexistent parent node ('blog', '0001_initial', 'extra')",
        ),
    );
}

#[test]
fn dependency_with_one_item_is_djangos_index_error() {
    let project = copy_fixture("hostile_dependency_one_item");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_value",
            "blog/migrations/0002_post_body.py",
            10,
            "Django raises IndexError: tuple index out of range",
        ),
    );
}

#[test]
fn dependency_written_as_a_list_is_djangos_unhashable_type_error() {
    let project = copy_fixture("hostile_dependency_list_entry");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_value",
            "blog/migrations/0002_post_body.py",
            10,
            "Django raises TypeError: unhashable type: 'list'",
        ),
    );
}

#[test]
fn dependencies_none_is_djangos_type_error() {
    let project = copy_fixture("hostile_dependencies_none");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_value",
            "blog/migrations/0002_post_body.py",
            9,
            "dependencies = None: Django raises TypeError: 'NoneType' object is not iterable",
        ),
    );
}
