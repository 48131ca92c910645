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

/// Sources Python refuses to compile, or compiles though they look odd.
fn compile_corpus() -> Vec<(&'static str, Vec<u8>)> {
    let text = |name, s: &str| (name, s.as_bytes().to_vec());
    let bytes = |name, s: &[u8]| (name, s.to_vec());
    let indent = |n: usize| -> String {
        let mut s: String = (0..n)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect();
        s.push_str(&" ".repeat(n));
        s.push_str("pass\n");
        s
    };
    vec![
        text("repeated_keyword", "f(a=1, a=2)\n"),
        text("repeated_keyword_in_class", "class Migration:\n    operations = [RunSQL(sql='', sql='')]\n"),
        text("await_module", "await x\n"),
        text("await_class", "class C:\n    await x\n"),
        text("await_sync_def", "def f():\n    await x\n"),
        text("await_lambda_in_async", "async def f():\n    return lambda: await x\n"),
        text("await_listcomp_sync", "def f():\n    return [await x for x in y]\n"),
        text("await_listcomp_async", "async def f():\n    return [await x for x in y]\n"),
        text("await_genexp_module", "(await x for x in y)\n"),
        text("await_genexp_sync", "def f():\n    return (await x for x in y)\n"),
        text("await_genexp_if_sync", "def f():\n    return (x for x in y if await x)\n"),
        text("await_genexp_first_iter_sync", "def f():\n    return (x for x in await y)\n"),
        text("async_for_sync", "def f():\n    async for x in y: pass\n"),
        text("async_with_module", "async with x: pass\n"),
        text("async_comp_sync", "def f():\n    return [x async for x in y]\n"),
        text("yield_module", "yield 1\n"),
        text("yield_class", "class C:\n    yield 1\n"),
        text("yield_in_list", "class Migration:\n    dependencies = [(yield)]\n"),
        text("yield_lambda", "f = lambda: (yield)\n"),
        text("yield_listcomp", "def f():\n    return [(yield) for x in y]\n"),
        text("yield_from_async", "async def f():\n    yield from x\n"),
        text("return_module", "return 1\n"),
        text("return_class", "def f():\n    class C:\n        return 1\n"),
        text("return_async_gen", "async def f():\n    yield 1\n    return 2\n"),
        text("break_module", "break\n"),
        text("continue_class", "for x in y:\n    class C:\n        continue\n"),
        text("break_for_else", "for x in y:\n    pass\nelse:\n    break\n"),
        text("break_nested_def", "for x in y:\n    def f():\n        break\n"),
        text("break_while", "while x:\n    for y in z:\n        break\n    else:\n        continue\n"),
        text("break_try_finally", "for x in y:\n    try:\n        pass\n    finally:\n        break\n"),
        text("nonlocal_module", "nonlocal x\n"),
        text("duplicate_parameter", "def f(a, a): pass\n"),
        text("duplicate_lambda_parameter", "f = lambda a, a: 1\n"),
        text("late_future", "x = 1\nfrom __future__ import annotations\n"),
        text("future_braces", "from __future__ import braces\n"),
        text("docstring_then_future", "'''doc'''\nfrom __future__ import annotations\n"),
        text("assign_debug", "__debug__ = 1\n"),
        text("keyword_debug", "f(__debug__=1)\n"),
        text("starred_assign", "*a = [1]\n"),
        text("two_starred", "*a, *b = [1]\n"),
        text("walrus_class_comp", "class C:\n    [(y := x) for x in z]\n"),
        text("walrus_comp_iter", "[x for x in (y := [1])]\n"),
        text("walrus_rebind", "[x := 0 for x in y]\n"),
        text("import_star_def", "def f():\n    from os import *\n"),
        text("match_irrefutable", "match x:\n    case y:\n        pass\n    case 1:\n        pass\n"),
        text("match_dup_key", "match x:\n    case {'a': 1, 'a': 2}:\n        pass\n"),
        text("match_two_names", "match x:\n    case [a, a]:\n        pass\n"),
        text("match_or_bindings", "match x:\n    case [a] | [b]:\n        pass\n"),
        text("fine_migration", "from django.db import migrations\nclass Migration(migrations.Migration):\n    dependencies = [('a', '0001')]\n    operations = []\n"),
        text("fine_async_helpers", "async def f():\n    async with x:\n        async for y in z:\n            await y\n    return [a async for a in b]\n"),
        (
            "parens_200",
            format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200)).into_bytes(),
        ),
        (
            "brackets_201",
            format!("x = {}{}\n", "([{".repeat(67), "}])".repeat(67)).into_bytes(),
        ),
        ("indent_99", indent(99).into_bytes()),
        ("indent_100", indent(100).into_bytes()),
        bytes("cookie_unknown", b"# -*- coding: foobar -*-\nx = 1\n"),
        bytes("cookie_line2_unknown", b"#!/usr/bin/env python\n# coding: foobar\nx = 1\n"),
        bytes("cookie_line2_after_code", b"x = 1\n# coding: foobar\n"),
        bytes("cookie_line3", b"#\n#\n# coding: foobar\nx = 1\n"),
        bytes("cookie_blank_line1", b"\n# coding: foobar\nx = 1\n"),
        bytes("cookie_vim", b"# vim: set fileencoding=foobar :\nx = 1\n"),
        bytes("cookie_utf8_variant", b"# coding: UTF8\nx = '\xc3\xa9'\n"),
        bytes("cookie_utf8_suffix", b"# -*- coding: utf-8-unix -*-\nx = 1\n"),
        bytes("cookie_latin1_variant", b"# coding: ISO_8859-1\nx = '\xff'\n"),
        bytes("cookie_latin1_alias", b"# coding: l1\nx = '\xff'\n"),
        bytes("cookie_cp1252_ascii", b"# coding: cp1252\nx = 1\n"),
        bytes("cookie_euc_jp", b"# coding: euc_jp\nx = 1\n"),
        bytes("cookie_hex", b"# coding: hex\nx = 1\n"),
        bytes("cookie_rot13", b"# coding: rot13\nx = 1\n"),
        bytes("cookie_utf16", b"# coding: utf-16\nx = 1\n"),
        bytes("cookie_cp037", b"# coding: cp037\nx = 1\n"),
        bytes("cookie_ascii_non_ascii", b"# coding: ascii\nx = '\xc3\xa9'\n"),
        bytes("cookie_utf8_invalid", b"# coding: utf-8\nx = '\xff'\n"),
        bytes("invalid_utf8", b"x = '\xff'\n"),
        bytes("invalid_utf8_comment", b"# caf\xe9\nx = 1\n"),
        bytes("bom_latin1_cookie", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n"),
        bytes("bom_utf8_cookie", b"\xef\xbb\xbf# coding: utf-8\nx = 1\n"),
        bytes("bom_invalid", b"\xef\xbb\xbfx = '\xff'\n"),
        bytes("nul_byte", b"x = 1\n\x00\n"),
    ]
}

/// Compile-time errors djmig does not detect: they need to know which
/// names each scope binds or declares `global`, which it does not track.
/// Python must still refuse them (else the list is stale).
const KNOWN_GAPS: &[(&str, &str)] = &[
    (
        "nonlocal_and_global",
        "def f():\n    x = 1\n    def g():\n        global x\n        nonlocal x\n",
    ),
    (
        "used_before_global",
        "def f():\n    print(x)\n    global x\n",
    ),
    ("parameter_and_global", "def f(x):\n    global x\n"),
];

/// djmig's verdict (refused or not) on each source of [`compile_corpus`]
/// against the test Python's `compile()`.
#[test]
fn compile_and_encoding_verdicts_agree_with_cpython() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = compile_corpus();
    let gaps: Vec<(&str, Vec<u8>)> = KNOWN_GAPS
        .iter()
        .map(|(n, s)| (*n, s.as_bytes().to_vec()))
        .collect();
    for (name, src) in corpus.iter().chain(&gaps) {
        fs::write(dir.path().join(format!("{name}.py")), src).expect("write source");
    }
    let script = "import json, os, sys\n\
        out = {}\n\
        for f in sorted(os.listdir(sys.argv[1])):\n\
        \x20   data = open(os.path.join(sys.argv[1], f), 'rb').read()\n\
        \x20   try:\n\
        \x20       compile(data, f, 'exec')\n\
        \x20       out[f[:-3]] = None\n\
        \x20   except (SyntaxError, ValueError) as e:\n\
        \x20       out[f[:-3]] = '%s: %s' % (type(e).__name__, e)\n\
        print(json.dumps(out))\n";
    let out = std::process::Command::new(support::django_python())
        .args(["-c", script])
        .arg(dir.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: BTreeMap<String, Option<String>> =
        serde_json::from_slice(&out.stdout).expect("python's verdicts");
    let mut disagree = Vec::new();
    for (name, src) in &corpus {
        let parsed = djmig::testing::parse_migration_graph(src);
        let ours: Vec<&str> = parsed
            .problems
            .iter()
            .filter(|p| p.kind == djmig::testing::FileProblemKind::Syntax)
            .map(|p| p.message.as_str())
            .collect();
        let theirs = &python[*name];
        if ours.is_empty() != theirs.is_none() {
            disagree.push(format!("{name}: Python {theirs:?}, djmig {ours:?}"));
        }
    }
    for (name, _) in KNOWN_GAPS {
        if python[*name].is_none() {
            disagree.push(format!(
                "{name}: Python compiles it; take it off KNOWN_GAPS"
            ));
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

#[test]
fn repeated_keyword_argument_is_the_syntax_error_python_raises_on_import() {
    let project = copy_fixture("hostile_repeated_keyword_argument");
    verdict(
        project.path(),
        &Expect::error(
            "syntax",
            "blog/migrations/0002_post_body.py",
            17,
            "keyword argument `name`",
        ),
    );
}

#[test]
fn await_in_a_class_body_is_the_syntax_error_python_raises_on_import() {
    let project = copy_fixture("hostile_await_outside_function");
    verdict(
        project.path(),
        &Expect::error(
            "syntax",
            "blog/migrations/0002_post_body.py",
            13,
            "`await` statement outside of a function",
        ),
    );
}

#[test]
fn unknown_coding_declaration_is_the_syntax_error_python_raises_on_import() {
    let project = copy_fixture("hostile_unknown_encoding");
    verdict(
        project.path(),
        &Expect::error(
            "syntax",
            "blog/migrations/0002_post_body.py",
            1,
            "unknown encoding: klingon",
        ),
    );
}

#[test]
fn undeclared_latin1_string_is_the_syntax_error_python_raises_on_import() {
    let project = copy_fixture("hostile_invalid_utf8");
    verdict(
        project.path(),
        &Expect::error(
            "syntax",
            "blog/migrations/0002_post_body.py",
            18,
            "Non-UTF-8 code starting with '\\xe9', but no encoding declared",
        ),
    );
}

/// Django's error kind on a project, as `tests/django_graph.py` names it.
fn django_error_kind(project: &Path) -> Option<String> {
    let graph: Value = support::django_graph(support::django(), project);
    graph["error"]["kind"].as_str().map(str::to_owned)
}

#[test]
fn directory_named_like_a_migration_is_djangos_import_error() {
    let project = copy_fixture("hostile_directory_named_like_a_module");
    verdict(
        project.path(),
        &Expect {
            code: 3,
            list: "errors",
            kind: "import_error",
            file: "blog/migrations/0004_post_slug.py",
            line: None,
            says: "is a directory: ModuleNotFoundError",
        },
    );
    assert_eq!(
        django_error_kind(project.path()).as_deref(),
        Some("import_error")
    );
}

/// A FIFO, a link that leads nowhere, a link in a loop, a link to a
/// directory, each named `0004_post_slug.py`: pkgutil lists each as a
/// module and Django's import of it fails. Reading a FIFO would block: djmig
/// must not try.
#[test]
fn special_files_named_like_a_migration_are_djangos_import_error() {
    type Maker = fn(&Path);
    let makers: [(&str, Maker); 4] = [
        ("fifo", |p| {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
        }),
        ("dangling link", |p| {
            std::os::unix::fs::symlink("0009_gone.py", p).expect("symlink")
        }),
        ("link loop", |p| {
            std::os::unix::fs::symlink("0004_post_slug.py", p).expect("symlink")
        }),
        ("link to a directory", |p| {
            std::os::unix::fs::symlink("..", p).expect("symlink")
        }),
    ];
    for (what, make) in makers {
        let project = copy_fixture("linear");
        make(&project.path().join("blog/migrations/0004_post_slug.py"));
        verdict(
            project.path(),
            &Expect {
                code: 3,
                list: "errors",
                kind: "import_error",
                file: "blog/migrations/0004_post_slug.py",
                line: None,
                says: "is not a regular file",
            },
        );
        assert_eq!(
            django_error_kind(project.path()).as_deref(),
            Some("import_error"),
            "{what}"
        );
    }
}

#[test]
fn app_label_with_spaces_in_apps_py_is_djangos_improperly_configured() {
    let project = copy_fixture("hostile_app_label_with_spaces");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_app_label",
            "blog/apps.py",
            8,
            "The app label 'my blog' is not a valid Python identifier",
        ),
    );
    assert_eq!(
        django_error_kind(project.path()).as_deref(),
        Some("invalid_app_label")
    );
}

#[test]
fn empty_app_label_in_apps_py_is_djangos_improperly_configured() {
    let project = copy_fixture("hostile_empty_app_label");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_app_label",
            "blog/apps.py",
            8,
            "The app label '' is not a valid Python identifier",
        ),
    );
}

/// `app_labels` in .djmig.yml stands in for an AppConfig's label: null, an
/// empty label or one with spaces is a configuration error (exit 2) naming
/// the file and line.
#[test]
fn app_labels_in_the_configuration_must_be_identifiers() {
    for (value, says) in [
        ("null", "null is not an app label"),
        ("~", "null is not an app label"),
        ("''", "\"\" is not an app label"),
        ("'my blog'", "\"my blog\" is not an app label"),
    ] {
        let project = copy_fixture("linear");
        let config = format!("strict: false\napp_labels:\n  blog: {value}\n");
        fs::write(project.path().join(".djmig.yml"), &config).expect("write config");
        let before = snapshot(project.path());
        let r = run(project.path(), &["check"]);
        r.expect_code(2);
        assert!(
            r.stderr.contains(".djmig.yml:3") && r.stderr.contains(says),
            "{value}: {}",
            r.stderr
        );
        assert_eq!(before, snapshot(project.path()));
    }
}

/// A directory whose name is no identifier cannot be an installed app's
/// label: its `migrations` is not read as an app (a warning says so).
#[test]
fn migrations_under_a_directory_no_label_can_name_are_ignored_with_a_warning() {
    let project = copy_fixture("linear");
    let dir = project.path().join("my-tools/migrations");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("__init__.py"), "").expect("write");
    fs::write(
        dir.join("0001_initial.py"),
        "from django.db import migrations\nclass Migration(migrations.Migration):\n    pass\n",
    )
    .expect("write");
    let r = run(project.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    assert!(report["apps"].get("my-tools").is_none(), "{report:#}");
    let warned = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| {
            w["kind"] == "not_a_migrations_package"
                && w["file"] == "my-tools/migrations"
                && w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("\"my-tools\""))
        });
    assert!(warned, "{report:#}");
}

#[test]
fn migration_class_without_base_is_djangos_type_error() {
    let project = copy_fixture("hostile_migration_class_without_base");
    verdict(
        project.path(),
        &Expect::error(
            "invalid_value",
            "blog/migrations/0002_post_body.py",
            7,
            "raises TypeError (Migration() takes no arguments)",
        ),
    );
    assert_eq!(
        django_error_kind(project.path()).as_deref(),
        Some("invalid_value")
    );
}
