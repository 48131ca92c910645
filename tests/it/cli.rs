//! The command line as a user meets it: exit codes, the JSON schema, the
//! configuration file, the virtualenv, the output formats, a closed pipe, and
//! finding the project root.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{
    self, copy_fixture, copy_tree, djmig, fixture, fixtures_dir, keys, strings, write, Run,
};

// ---------------------------------------------------------------- helpers

/// `djmig -C dir ARGS...`
fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = djmig();
    cmd.arg("-C").arg(dir).args(args);
    Run::of(cmd)
}

/// `djmig -C dir ARGS...` with `VIRTUAL_ENV` set to the test Django's venv.
fn run_in_venv(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = djmig();
    cmd.env("VIRTUAL_ENV", support::django_venv())
        .arg("-C")
        .arg(dir)
        .args(args);
    Run::of(cmd)
}

/// The app labels of a report, sorted.
fn app_labels(report: &Value) -> Vec<String> {
    report["apps"]
        .as_object()
        .expect("apps is an object")
        .keys()
        .cloned()
        .collect()
}

/// The edges of a report as (child, parent) pairs.
fn edges(report: &Value) -> BTreeSet<(String, String)> {
    report["edges"]
        .as_array()
        .expect("edges is an array")
        .iter()
        .map(|e| {
            let pair = e.as_array().expect("edge is an array");
            assert_eq!(pair.len(), 2, "edge {e} has two ends");
            (
                pair[0].as_str().expect("edge end is a string").to_owned(),
                pair[1].as_str().expect("edge end is a string").to_owned(),
            )
        })
        .collect()
}

fn edge(child: &str, parent: &str) -> (String, String) {
    (child.to_owned(), parent.to_owned())
}

/// The `kind`s of `errors` (or `warnings`).
fn kinds(report: &Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} is an array"))
        .iter()
        .map(|d| d["kind"].as_str().expect("kind is a string").to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ------------------------------------------------------------- exit codes

#[test]
fn exit_0_on_a_linear_history() {
    let r = run_in(&fixture("linear"), &["check"]);
    r.expect_code(0);
    assert!(r.stdout.contains("No conflicts"), "{}", r.stdout);
}

#[test]
fn exit_1_on_conflicts() {
    for name in ["two_leaves", "example"] {
        let r = run_in(&fixture(name), &["check"]);
        r.expect_code(1);
        let r = run_in(&fixture(name), &["check", "--format", "json"]);
        r.expect_code(1);
        assert!(
            !keys(&r.json()["conflicts"]).is_empty(),
            "{name}: no conflicts in {}",
            r.stdout
        );
    }
}

#[test]
fn exit_2_on_an_unknown_flag() {
    let r = run_in(&fixture("linear"), &["check", "--no-such-flag"]);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains("--no-such-flag"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn exit_2_on_an_unknown_subcommand() {
    let r = run_in(&fixture("linear"), &["frobnicate"]);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains("frobnicate"), "{}", r.stderr);
}

#[test]
fn exit_2_on_an_unknown_format() {
    for cmd in ["check", "graph"] {
        let r = run_in(&fixture("linear"), &[cmd, "--format", "nope"]);
        r.expect_code(2).no_crash();
        assert!(r.stderr.contains("nope"), "{cmd}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{cmd}: {}", r.stdout);
    }
}

#[test]
fn exit_2_on_an_unknown_app_label_naming_it_and_the_known_ones() {
    for cmd in ["check", "graph"] {
        let r = run_in(&fixture("example"), &[cmd, "nosuchapp"]);
        r.expect_code(2).no_crash();
        assert!(r.stderr.contains("nosuchapp"), "{cmd}: {}", r.stderr);
        for label in ["accounts", "customers", "inventory", "orders"] {
            assert!(
                r.stderr.contains(label),
                "{cmd}: the known label {label} is not listed:\n{}",
                r.stderr
            );
        }
        assert!(r.stdout.is_empty(), "{cmd}: {}", r.stdout);
    }
}

#[test]
fn exit_2_when_dash_c_is_missing_or_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-dir");
    let r = run_in(&missing, &["check"]);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains("no-such-dir"), "{}", r.stderr);

    let file = tmp.path().join("a-file");
    write(&file, "");
    run_in(&file, &["check"]).expect_code(2).no_crash();
}

/// Each broken fixture: exit 3, and the one error kind it is about.
#[test]
fn exit_3_when_the_graph_cannot_be_built() {
    for (name, kind) in [
        ("syntax_error", "syntax"),
        ("missing_dependency", "node_not_found"),
        ("cycle", "circular_dependency"),
        ("bad_migration", "bad_migration"),
    ] {
        let r = run_in(&fixture(name), &["check"]);
        r.expect_code(3).no_crash();
        assert!(r.stderr.contains("error:"), "{name}: {}", r.stderr);

        let r = run_in(&fixture(name), &["check", "--format", "json"]);
        r.expect_code(3);
        let report = r.json();
        assert!(
            kinds(&report, "errors").contains(&kind.to_owned()),
            "{name}: no {kind} error in {}",
            r.stdout
        );
        for e in report["errors"].as_array().unwrap() {
            assert!(
                !e["message"].as_str().unwrap().is_empty(),
                "{name}: empty message"
            );
        }

        run_in(&fixture(name), &["graph", "--format", "json"]).expect_code(3);
    }
}

#[test]
fn syntax_error_has_file_line_and_column() {
    let dir = fixture("syntax_error");
    let file = "blog/migrations/0002_post_body.py";
    let r = run_in(&dir, &["check", "--format", "json"]);
    r.expect_code(3);
    let report = r.json();
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert_eq!(errors[0]["kind"], "syntax");
    assert_eq!(errors[0]["file"], file);
    assert_eq!(errors[0]["line"], 16);

    // `blank=True default=''` on line 16: `default` starts at column 47.
    let r = run_in(&dir, &["check"]);
    r.expect_code(3);
    assert!(
        r.stderr.contains(&format!("{file}:16:47")),
        "no file:line:col in\n{}",
        r.stderr
    );
}

/// The location is printed once per error line, not twice.
#[test]
fn syntax_error_location_is_printed_once() {
    let r = run_in(&fixture("syntax_error"), &["check"]);
    r.expect_code(3);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in\n{}", r.stderr));
    assert_eq!(
        line.matches("blog/migrations/0002_post_body.py").count(),
        1,
        "{line}"
    );
}

// ------------------------------------------------------------ JSON schema

/// Every structural promise of schema version 1, on one report.
#[track_caller]
fn assert_schema(report: &Value) {
    assert_eq!(
        keys(report),
        set(&[
            "schema_version",
            "apps",
            "edges",
            "external",
            "conflicts",
            "errors",
            "warnings"
        ]),
        "top-level keys"
    );
    assert_eq!(report["schema_version"], 1);

    let apps = report["apps"].as_object().expect("apps");
    for (label, app) in apps {
        assert_eq!(
            keys(app),
            set(&["path", "source", "nodes", "leaves", "roots"]),
            "keys of app {label}"
        );
        assert!(app["path"].is_string(), "{label}.path");
        let source = app["source"].as_str().expect("source");
        assert!(
            ["project", "environment"].contains(&source),
            "{label}.source = {source}"
        );
        let nodes: BTreeSet<String> = strings(&app["nodes"]).into_iter().collect();
        for list in ["leaves", "roots"] {
            for n in strings(&app[list]) {
                assert!(nodes.contains(&n), "{label}.{list} has {n}, not a node");
            }
        }
        if !nodes.is_empty() {
            assert!(!strings(&app["leaves"]).is_empty(), "{label} has no leaf");
            assert!(!strings(&app["roots"]).is_empty(), "{label} has no root");
        }
    }

    let external = report["external"].as_object().expect("external");
    for (label, names) in external {
        assert!(!strings(names).is_empty(), "external {label} lists nothing");
    }
    let known_key = |key: &str| {
        let (app, name) = key
            .split_once('.')
            .unwrap_or_else(|| panic!("{key:?} is not app.name"));
        assert!(!app.is_empty() && !name.is_empty(), "{key:?}");
        let in_apps = apps
            .get(app)
            .is_some_and(|a| strings(&a["nodes"]).contains(&name.to_owned()));
        let in_external = external
            .get(app)
            .is_some_and(|n| strings(n).contains(&name.to_owned()));
        in_apps || in_external
    };
    // A squash that lists itself in `replaces` is no node, yet Django keeps
    // the edges to it (a self_replacing warning names it).
    let ghosts: BTreeSet<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["kind"] == "self_replacing")
        .filter_map(|w| w["message"].as_str()?.split(' ').next())
        .collect();
    for (child, parent) in edges(report) {
        assert!(known_key(&child), "edge child {child} is not a node");
        assert!(
            known_key(&parent) || ghosts.contains(parent.as_str()),
            "edge parent {parent} is neither a node nor external nor a self-replacing squash"
        );
    }

    for (label, leaves) in report["conflicts"].as_object().expect("conflicts") {
        let leaves = strings(leaves);
        assert!(leaves.len() > 1, "conflict in {label} with {leaves:?}");
        assert_eq!(leaves, strings(&apps[label]["leaves"]), "{label}");
    }

    for list in ["errors", "warnings"] {
        for d in report[list].as_array().expect(list) {
            assert_eq!(
                keys(d),
                set(&["kind", "message", "file", "line"]),
                "keys of {list} entry {d}"
            );
            assert!(d["kind"].is_string() && d["message"].is_string(), "{d}");
            assert!(d["file"].is_string() || d["file"].is_null(), "{d}");
            assert!(d["line"].is_u64() || d["line"].is_null(), "{d}");
        }
    }
}

#[test]
fn json_schema_holds_on_every_fixture() {
    for name in support::fixture_names() {
        for cmd in ["check", "graph"] {
            let r = run_in(&fixture(&name), &[cmd, "--format", "json"]);
            r.no_crash();
            assert!(
                [0, 1, 3].contains(&r.code),
                "{name} {cmd}: exit {}\n{}",
                r.code,
                r.stderr
            );
            assert_schema(&r.json());
        }
    }
}

#[test]
fn json_schema_of_example() {
    let r = run_in(&fixture("example"), &["graph", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    assert_schema(&report);
    assert_eq!(
        app_labels(&report),
        ["accounts", "customers", "inventory", "orders"]
    );
    let orders = &report["apps"]["orders"];
    assert_eq!(orders["path"], "shop/orders/migrations");
    assert_eq!(orders["source"], "project");
    assert_eq!(strings(&orders["roots"]), ["0001_initial"]);
    assert_eq!(
        strings(&orders["leaves"]),
        ["0004_order_note", "0004_order_status"]
    );
    assert_eq!(
        strings(&report["conflicts"]["orders"]),
        ["0004_order_note", "0004_order_status"]
    );
    let e = edges(&report);
    assert!(e.contains(&edge("orders.0004_order_note", "orders.0003_order_created")));
    assert!(e.contains(&edge(
        "orders.0002_orderline",
        "inventory.0001_squashed_0003_product_stock"
    )));
    // Replaced migrations are not nodes when the squash is complete.
    assert!(!strings(&report["apps"]["inventory"]["nodes"]).contains(&"0002_product_sku".into()));
}

#[test]
fn json_is_deterministic() {
    let dir = fixture("example");
    let first = run_in(&dir, &["graph", "--format", "json"]);
    for _ in 0..3 {
        let again = run_in(&dir, &["graph", "--format", "json"]);
        assert_eq!(first.code, again.code);
        assert_eq!(first.json(), again.json());
    }
    let first = run_in_venv(&dir, &["graph", "--format", "json"]);
    for _ in 0..3 {
        let again = run_in_venv(&dir, &["graph", "--format", "json"]);
        assert_eq!(first.code, again.code);
        assert_eq!(first.json(), again.json());
    }
}

#[test]
fn check_json_and_graph_json_are_the_same_report() {
    for name in [
        "example",
        "two_leaves",
        "linear",
        "syntax_error",
        "custom_user",
    ] {
        let check = run_in(&fixture(name), &["check", "--format", "json"]);
        let graph = run_in(&fixture(name), &["graph", "--format", "json"]);
        // graph only shows: a conflict is not a failure for it.
        let expected = if check.code == 1 { 0 } else { check.code };
        assert_eq!(graph.code, expected, "{name}");
        assert_eq!(check.json(), graph.json(), "{name}");
    }
    let check = run_in_venv(&fixture("example"), &["check", "--format", "json"]);
    let graph = run_in_venv(&fixture("example"), &["graph", "--format", "json"]);
    assert_eq!(check.json(), graph.json(), "example with VIRTUAL_ENV");
}

// ------------------------------------------------------ duplicate app label

#[test]
fn duplicate_app_label_is_exit_3_naming_both_paths() {
    let tmp = copy_fixture("linear");
    let root = tmp.path();
    write(&root.join("blog2/__init__.py"), "");
    write(
        &root.join("blog2/apps.py"),
        "from django.apps import AppConfig\n\n\nclass Blog2Config(AppConfig):\n    name = 'blog2'\n    label = 'blog'\n",
    );
    write(&root.join("blog2/migrations/__init__.py"), "");
    fs::copy(
        root.join("blog/migrations/0001_initial.py"),
        root.join("blog2/migrations/0001_initial.py"),
    )
    .unwrap();

    let r = run_in(root, &["check", "--format", "json"]);
    r.expect_code(3);
    let report = r.json();
    assert_schema(&report);
    let dup: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "duplicate_app_label")
        .collect();
    assert_eq!(dup.len(), 1, "{}", r.stdout);
    let message = dup[0]["message"].as_str().unwrap();
    assert!(message.contains("blog/migrations"), "{message}");
    assert!(message.contains("blog2/migrations"), "{message}");

    let r = run_in(root, &["check"]);
    r.expect_code(3);
    assert!(r.stderr.contains("blog2/migrations"), "{}", r.stderr);
}

// ------------------------------------------------------------- config file

#[test]
fn config_unknown_key_names_key_and_line() {
    let tmp = copy_fixture("linear");
    write(
        &tmp.path().join(".djmig.yml"),
        "strict: false\nexclude: []\nbogus_key: 1\n",
    );
    let r = run_in(tmp.path(), &["check"]);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains("bogus_key"), "{}", r.stderr);
    assert!(r.stderr.contains(".djmig.yml:3"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    // The same for JSON: a config error is not a report.
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn config_wrong_type_names_line() {
    let tmp = copy_fixture("linear");
    write(
        &tmp.path().join(".djmig.yml"),
        "exclude: []\nstrict: maybe\n",
    );
    let r = run_in(tmp.path(), &["check"]);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains(".djmig.yml:2"), "{}", r.stderr);
    assert!(
        r.stderr.contains("strict") || r.stderr.contains("boolean"),
        "{}",
        r.stderr
    );
}

#[test]
fn config_bad_yaml_and_bad_values_are_exit_2() {
    for (text, line) in [
        ("exclude: [unclosed\n", None),
        ("strict: true\nexclude: ['a[']\n", Some(2)),
        ("migration_modules:\n  blog: blog/migrations\n", Some(2)),
    ] {
        let tmp = copy_fixture("linear");
        write(&tmp.path().join(".djmig.yml"), text);
        let r = run_in(tmp.path(), &["check"]);
        r.expect_code(2).no_crash();
        if let Some(l) = line {
            assert!(
                r.stderr.contains(&format!(".djmig.yml:{l}")),
                "{text:?}: {}",
                r.stderr
            );
        }
    }
}

#[test]
fn config_flag_to_a_missing_file_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.yml");
    let mut cmd = djmig();
    cmd.arg("-C")
        .arg(fixture("linear"))
        .arg("--config")
        .arg(&missing)
        .arg("check");
    let r = Run::of(cmd);
    r.expect_code(2).no_crash();
    assert!(r.stderr.contains("missing.yml"), "{}", r.stderr);
}

#[test]
fn config_flag_reads_the_given_file_instead_of_the_default() {
    let tmp = copy_fixture("linear");
    // The default file is broken; the given one is fine and renames blog.
    write(&tmp.path().join(".djmig.yml"), "nonsense: 1\n");
    let other = tempfile::tempdir().unwrap();
    let cfg = other.path().join("alt.yml");
    write(&cfg, "exclude: [blog]\n");
    let mut cmd = djmig();
    cmd.arg("-C")
        .arg(tmp.path())
        .arg("--config")
        .arg(&cfg)
        .args(["check", "--format", "json"]);
    let r = Run::of(cmd);
    r.expect_code(0);
    assert!(app_labels(&r.json()).is_empty(), "{}", r.stdout);
}

/// `-C DIR` is "run as if started in DIR": a relative `--config` is found
/// there, as `git -C` does.
#[test]
fn config_flag_relative_to_dash_c() {
    let tmp = copy_fixture("linear");
    write(&tmp.path().join("alt.yml"), "exclude: [blog]\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = djmig();
    cmd.current_dir(elsewhere.path())
        .arg("-C")
        .arg(tmp.path())
        .args(["--config", "alt.yml", "check", "--format", "json"]);
    let r = Run::of(cmd);
    r.expect_code(0);
    assert!(app_labels(&r.json()).is_empty(), "{}", r.stdout);
}

#[test]
fn config_app_labels_renames_an_app() {
    let tmp = copy_fixture("linear");
    // The migrations name their own app by the new label, as they would
    // once Django knows it by that label.
    let migrations = tmp.path().join("blog/migrations");
    for e in fs::read_dir(&migrations).unwrap() {
        let p = e.unwrap().path();
        let text = fs::read_to_string(&p).unwrap();
        fs::write(&p, text.replace("('blog',", "('weblog',")).unwrap();
    }
    write(
        &tmp.path().join(".djmig.yml"),
        "app_labels:\n  blog: weblog\n",
    );
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    assert_eq!(app_labels(&report), ["weblog"]);
    assert_eq!(report["apps"]["weblog"]["path"], "blog/migrations");
    assert!(edges(&report).contains(&edge("weblog.0002_post_body", "weblog.0001_initial")));
    assert_eq!(keys(&report["external"]), BTreeSet::new());

    // Without the mapping the label is `blog`, and the rewritten
    // dependencies point at an app found nowhere.
    fs::remove_file(tmp.path().join(".djmig.yml")).unwrap();
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    let report = r.json();
    assert_eq!(app_labels(&report), ["blog"]);
    assert_eq!(keys(&report["external"]), set(&["weblog"]));
}

#[test]
fn config_migration_modules_points_an_app_at_another_package() {
    let tmp = copy_fixture("linear");
    let root = tmp.path();
    fs::rename(
        root.join("blog/migrations"),
        root.join("blog/db_migrations"),
    )
    .unwrap();

    // Without the mapping Django would find no migrations for blog.
    let r = run_in(root, &["check", "--format", "json"]);
    assert!(
        !app_labels(&r.json()).contains(&"blog".into()),
        "{}",
        r.stdout
    );

    write(
        &root.join(".djmig.yml"),
        "migration_modules:\n  blog: blog.db_migrations\n",
    );
    let r = run_in(root, &["check", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    assert_eq!(app_labels(&report), ["blog"]);
    assert_eq!(report["apps"]["blog"]["path"], "blog/db_migrations");
    assert_eq!(
        strings(&report["apps"]["blog"]["nodes"]),
        ["0001_initial", "0002_post_body", "0003_post_published"]
    );
}

#[test]
fn config_migration_modules_overrides_the_settings_module() {
    // fixtures/migration_modules maps blog to blog.db_migrations in its
    // settings; the configuration marks it unmigrated instead.
    let r = run_in(
        &fixture("migration_modules"),
        &["check", "--format", "json"],
    );
    assert!(
        app_labels(&r.json()).contains(&"blog".into()),
        "{}",
        r.stdout
    );
    assert_eq!(r.json()["apps"]["blog"]["path"], "blog/db_migrations");

    let tmp = copy_fixture("migration_modules");
    write(
        &tmp.path().join(".djmig.yml"),
        "migration_modules:\n  blog: null\n",
    );
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    assert!(
        !app_labels(&r.json()).contains(&"blog".into()),
        "{}",
        r.stdout
    );
}

#[test]
fn config_exclude_hides_apps() {
    let tmp = copy_fixture("example");
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    assert!(app_labels(&r.json()).contains(&"orders".into()));

    write(&tmp.path().join(".djmig.yml"), "exclude: ['shop/*']\n");
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0); // the conflict was in orders
    let report = r.json();
    assert_eq!(app_labels(&report), ["accounts", "inventory"]);
    assert!(keys(&report["conflicts"]).is_empty());

    write(&tmp.path().join(".djmig.yml"), "exclude: [inventory]\n");
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    let report = r.json();
    assert!(!app_labels(&report).contains(&"inventory".into()));
    assert!(app_labels(&report).contains(&"orders".into()));
}

#[test]
fn config_settings_value_changes_a_swappable_dependency() {
    let tmp = copy_fixture("custom_user");
    // settings.py: AUTH_USER_MODEL = 'accounts.User'.
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let e = edges(&r.json());
    assert!(
        e.contains(&edge("blog.0001_initial", "accounts.0001_initial")),
        "{e:?}"
    );
    assert!(!e.contains(&edge("accounts.0002_profile", "blog.0001_initial")));

    write(
        &tmp.path().join(".djmig.yml"),
        "settings:\n  AUTH_USER_MODEL: blog.Author\n",
    );
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let e = edges(&r.json());
    assert!(
        e.contains(&edge("accounts.0002_profile", "blog.0001_initial")),
        "{e:?}"
    );
    assert!(
        !e.contains(&edge("blog.0001_initial", "accounts.0001_initial")),
        "{e:?}"
    );
}

#[test]
fn config_settings_value_to_an_environment_app() {
    let tmp = copy_fixture("custom_user");
    write(
        &tmp.path().join(".djmig.yml"),
        "settings:\n  AUTH_USER_MODEL: auth.User\n",
    );
    let r = run_in_venv(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    let e = edges(&report);
    // swappable_dependency('auth.User') is ('auth', '__first__').
    assert!(
        e.contains(&edge("blog.0001_initial", "auth.0001_initial")),
        "{e:?}"
    );
    assert_eq!(report["apps"]["auth"]["source"], "environment");
}

#[test]
fn external_dependency_is_a_warning_unless_strict() {
    for (name, code) in [("custom_user", 0), ("example", 1)] {
        let r = run_in(&fixture(name), &["check", "--format", "json"]);
        r.expect_code(code);
        let report = r.json();
        assert_eq!(keys(&report["external"]), set(&["auth"]), "{name}");
        assert!(
            strings(&report["external"]["auth"])
                .contains(&"0012_alter_user_first_name_max_length".into()),
            "{name}"
        );
        assert!(report["errors"].as_array().unwrap().is_empty(), "{name}");
        assert!(
            kinds(&report, "warnings").contains(&"external".into()),
            "{name}: {}",
            r.stdout
        );
        // The text output says it on stderr.
        let r = run_in(&fixture(name), &["check"]);
        r.expect_code(code);
        assert!(
            r.stderr.contains("warning:") && r.stderr.contains("auth"),
            "{name}: {}",
            r.stderr
        );
    }
}

#[test]
fn strict_flag_makes_an_external_dependency_an_error() {
    for name in ["custom_user", "example"] {
        let r = run_in(&fixture(name), &["--strict", "check", "--format", "json"]);
        r.expect_code(3);
        assert!(
            kinds(&r.json(), "errors").contains(&"node_not_found".into()),
            "{name}: {}",
            r.stdout
        );
        // A global flag: after the subcommand too.
        run_in(&fixture(name), &["check", "--strict"]).expect_code(3);
    }
}

#[test]
fn strict_config_makes_an_external_dependency_an_error() {
    let tmp = copy_fixture("custom_user");
    write(&tmp.path().join(".djmig.yml"), "strict: true\n");
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(3);
    let report = r.json();
    let errors = report["errors"].as_array().unwrap();
    let nf: Vec<&Value> = errors
        .iter()
        .filter(|e| e["kind"] == "node_not_found")
        .collect();
    assert!(!nf.is_empty(), "{}", r.stdout);
    assert!(
        nf[0]["message"].as_str().unwrap().contains("auth"),
        "{}",
        r.stdout
    );
}

#[test]
fn strict_is_satisfied_by_the_environment() {
    let r = run_in_venv(
        &fixture("example"),
        &["--strict", "check", "--format", "json"],
    );
    r.expect_code(1);
    assert!(
        r.json()["errors"].as_array().unwrap().is_empty(),
        "{}",
        r.stdout
    );
}

// ------------------------------------------------------------ environment

/// `auth` and `contenttypes` come from site-packages; nothing is external.
#[track_caller]
fn assert_reads_environment(r: &Run) {
    // The example has a conflict; graph shows it and exits 0.
    r.expect_code(0);
    let report = r.json();
    assert_schema(&report);
    for app in ["auth", "contenttypes"] {
        assert_eq!(
            report["apps"][app]["source"], "environment",
            "{app} in {}",
            r.stdout
        );
        assert!(
            !strings(&report["apps"][app]["nodes"]).is_empty(),
            "{app} has no migrations"
        );
    }
    assert!(strings(&report["apps"]["auth"]["nodes"])
        .contains(&"0012_alter_user_first_name_max_length".into()));
    for app in ["accounts", "customers", "inventory", "orders"] {
        assert_eq!(report["apps"][app]["source"], "project", "{app}");
    }
    assert!(keys(&report["external"]).is_empty(), "{}", r.stdout);
    assert!(
        !kinds(&report, "warnings").contains(&"external".into()),
        "{}",
        r.stdout
    );
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{}",
        r.stdout
    );
    // Conflicts are only the project's.
    assert_eq!(keys(&report["conflicts"]), set(&["orders"]));
    assert!(edges(&report).contains(&edge(
        "auth.0006_require_contenttypes_0002",
        "contenttypes.0002_remove_content_type_name"
    )));
}

#[test]
fn virtual_env_variable_supplies_environment_apps() {
    let r = run_in_venv(&fixture("example"), &["graph", "--format", "json"]);
    assert_reads_environment(&r);
}

#[cfg(unix)]
#[test]
fn dot_venv_symlink_in_the_project_supplies_environment_apps() {
    let tmp = copy_fixture("example");
    std::os::unix::fs::symlink(support::django_venv(), tmp.path().join(".venv")).unwrap();
    let r = run_in(tmp.path(), &["graph", "--format", "json"]);
    assert_reads_environment(&r);
}

/// A real `venv/` directory in the project (here a minimal one holding
/// only `django.contrib.auth` and `contenttypes`): read as the environment,
/// not walked as part of the project.
#[test]
fn venv_directory_in_the_project_supplies_environment_apps() {
    let tmp = copy_fixture("example");
    let site = find_site_packages(&support::django_venv());
    let rel = site.strip_prefix(support::django_venv()).unwrap();
    let venv = tmp.path().join("venv");
    write(&venv.join("pyvenv.cfg"), "home = /usr/bin\n");
    let new_site = venv.join(rel);
    write(&new_site.join("django/__init__.py"), "");
    write(&new_site.join("django/contrib/__init__.py"), "");
    for app in ["auth", "contenttypes"] {
        copy_tree(
            &site.join("django/contrib").join(app),
            &new_site.join("django/contrib").join(app),
        );
    }
    let r = run_in(tmp.path(), &["graph", "--format", "json"]);
    assert_reads_environment(&r);
}

#[test]
fn python_in_config_supplies_environment_apps() {
    let tmp = copy_fixture("example");
    let python = support::django_python();
    write(
        &tmp.path().join(".djmig.yml"),
        &format!("python: {}\n", serde_json::to_string(&python).unwrap()),
    );
    let r = run_in(tmp.path(), &["graph", "--format", "json"]);
    assert_reads_environment(&r);
}

/// `<venv>/lib/pythonX.Y/site-packages` (or `Lib/site-packages`).
fn find_site_packages(venv: &Path) -> PathBuf {
    let win = venv.join("Lib/site-packages");
    if win.is_dir() {
        return win;
    }
    fs::read_dir(venv.join("lib"))
        .expect("read venv lib/")
        .map(|e| e.unwrap().path().join("site-packages"))
        .find(|p| p.join("django/contrib/auth/migrations").is_dir())
        .expect("site-packages with Django")
}

// ---------------------------------------------------------------- formats

#[test]
fn graph_dot() {
    let r = run_in(&fixture("example"), &["graph", "--format", "dot"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("digraph"), "{}", r.stdout);
    assert!(r.stdout.trim_end().ends_with('}'), "{}", r.stdout);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.trim() == r#""orders.0004_order_note" -> "orders.0003_order_created";"#),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.lines().any(|l| l.contains("->")
            && l.contains(r#""orders.0002_orderline""#)
            && l.contains(r#""inventory.0001_squashed_0003_product_stock""#)),
        "{}",
        r.stdout
    );
    for app in ["accounts", "customers", "inventory", "orders"] {
        assert!(
            r.stdout.contains(&format!("cluster_{app}")),
            "{app}: {}",
            r.stdout
        );
    }
    // The README promises the conflicting leaves in red, and only those.
    let red: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("color=red"))
        .collect();
    assert_eq!(red.len(), 2, "{}", r.stdout);
    assert!(
        red.iter()
            .any(|l| l.contains(r#""orders.0004_order_note""#)),
        "{red:?}"
    );
    assert!(
        red.iter()
            .any(|l| l.contains(r#""orders.0004_order_status""#)),
        "{red:?}"
    );
}

/// `djmig graph --format dot | dot -Tsvg` under `set -o pipefail`: the
/// pipeline must not fail because the graph it draws has a conflict.
#[test]
fn graph_with_a_conflict_exits_0_so_a_pipefail_pipeline_succeeds() {
    let dir = fixture("example");
    let out = Command::new("bash")
        .args([
            "-c",
            r#"set -o pipefail; "$0" -C "$1" graph --format dot | cat"#,
            env!("CARGO_BIN_EXE_djmig"),
        ])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .env_remove("VIRTUAL_ENV")
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("color=red"),
        "the conflict is drawn: {stdout}"
    );
    // check still reports the same conflict as a failure.
    run_in(&dir, &["check"]).expect_code(1);
}

#[test]
fn graph_text_lists_each_app() {
    let r = run_in(&fixture("example"), &["graph"]);
    r.expect_code(0);
    for (app, path) in [
        ("accounts", "accounts/migrations"),
        ("customers", "shop/customers/migrations"),
        ("inventory", "inventory/migrations"),
        ("orders", "shop/orders/migrations"),
    ] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with(app) && l.contains(path)),
            "{app}: {}",
            r.stdout
        );
    }
    assert!(r.stdout.contains("0004_order_status"), "{}", r.stdout);
    assert!(r.stdout.contains("CONFLICT"), "{}", r.stdout);
    // `--format text` is the default.
    let r2 = run_in(&fixture("example"), &["graph", "--format", "text"]);
    assert_eq!(r.stdout, r2.stdout);
}

#[test]
fn graph_of_one_app() {
    let r = run_in(
        &fixture("example"),
        &["graph", "orders", "--format", "json"],
    );
    r.expect_code(0);
    let report = r.json();
    assert_eq!(app_labels(&report), ["orders"]);
    assert_eq!(keys(&report["conflicts"]), set(&["orders"]));
    for (child, _) in edges(&report) {
        assert!(child.starts_with("orders."), "edge from {child}");
    }

    // An app without conflicts, alone: exit 0.
    let r = run_in(
        &fixture("example"),
        &["check", "inventory", "--format", "json"],
    );
    r.expect_code(0);
    assert_eq!(app_labels(&r.json()), ["inventory"]);
}

#[test]
fn check_github_format_inside_github_actions() {
    let tmp = copy_fixture("example");
    let mut cmd = djmig();
    cmd.env("GITHUB_ACTIONS", "true")
        .arg("-C")
        .arg(tmp.path())
        .arg("check");
    let r = Run::of(cmd);
    r.expect_code(1);
    assert_github_leaves(&r, "shop/orders/migrations");

    // The project in a subdirectory of a git repository: GitHub wants paths
    // from the repository top.
    let repo = tempfile::tempdir().unwrap();
    let backend = repo.path().join("backend");
    copy_tree(&fixture("example"), &backend);
    git_init(repo.path());
    let mut cmd = djmig();
    cmd.env("GITHUB_ACTIONS", "true")
        .arg("-C")
        .arg(&backend)
        .arg("check");
    let r = Run::of(cmd);
    r.expect_code(1);
    assert_github_leaves(&r, "backend/shop/orders/migrations");
}

#[track_caller]
fn assert_github_leaves(r: &Run, dir: &str) {
    for leaf in ["0004_order_note", "0004_order_status"] {
        let file = format!("{dir}/{leaf}.py");
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with("::error ") && l.contains(&format!("file={file},"))),
            "{leaf}: {}",
            r.stdout
        );
    }
}

// ------------------------------------------------------------ text output

#[test]
fn check_text_names_the_conflict_and_the_fix() {
    let r = run_in(&fixture("example"), &["check"]);
    r.expect_code(1);
    let out = &r.stdout;
    assert!(
        out.lines().any(|l| l.starts_with("orders:")),
        "no line about orders:\n{out}"
    );
    for leaf in ["0004_order_note", "0004_order_status"] {
        assert!(
            out.contains(&format!("shop/orders/migrations/{leaf}.py")),
            "{leaf}:\n{out}"
        );
    }
    let next = out
        .lines()
        .find(|l| l.starts_with("next:"))
        .unwrap_or_else(|| panic!("no next: line:\n{out}"));
    assert!(next.contains("orders"), "{next}");
    // Apps without conflicts are not named as conflicted.
    for app in ["accounts", "customers", "inventory"] {
        assert!(
            !out.lines().any(|l| l.starts_with(&format!("{app}:"))),
            "{out}"
        );
    }
}

// -------------------------------------------------------------- broken pipe

/// A project in the layout `examples/bench.rs` writes: `apps` apps of `migs`
/// linear migrations each, as Django 5.2 writes them.
fn generate_project(root: &Path, apps: usize, migs: usize) {
    let names: Vec<String> = (0..apps).map(|i| format!("app{i:02}")).collect();
    write(
        &root.join("manage.py"),
        "#!/usr/bin/env python\nimport os\nimport sys\n\n\ndef main():\n    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n    from django.core.management import execute_from_command_line\n\n    execute_from_command_line(sys.argv)\n\n\nif __name__ == \"__main__\":\n    main()\n",
    );
    write(&root.join("proj/__init__.py"), "");
    let installed: String = names.iter().map(|a| format!("    \"{a}\",\n")).collect();
    write(
        &root.join("proj/settings.py"),
        &format!(
            "from pathlib import Path\n\nBASE_DIR = Path(__file__).resolve().parent.parent\nSECRET_KEY = \"bench\"\nDEBUG = True\nINSTALLED_APPS = [\n{installed}]\nDEFAULT_AUTO_FIELD = \"django.db.models.BigAutoField\"\n"
        ),
    );
    for (i, app) in names.iter().enumerate() {
        let d = root.join(app);
        write(&d.join("__init__.py"), "");
        write(
            &d.join("apps.py"),
            &format!("from django.apps import AppConfig\n\n\nclass App{i:02}Config(AppConfig):\n    default_auto_field = \"django.db.models.BigAutoField\"\n    name = \"{app}\"\n"),
        );
        write(&d.join("migrations/__init__.py"), "");
        let mut prev = String::new();
        for m in 0..migs {
            let (name, body) = if m == 0 {
                (
                    "0001_initial".to_string(),
                    "    initial = True\n\n    dependencies = []\n\n    operations = [\n        migrations.CreateModel(\n            name=\"Item\",\n            fields=[\n                (\n                    \"id\",\n                    models.BigAutoField(\n                        auto_created=True,\n                        primary_key=True,\n                        serialize=False,\n                        verbose_name=\"ID\",\n                    ),\n                ),\n            ],\n        ),\n    ]\n".to_string(),
                )
            } else {
                (
                    format!("{:04}_item_field_{m:04}", m + 1),
                    format!("    dependencies = [\n        (\"{app}\", \"{prev}\"),\n    ]\n\n    operations = [\n        migrations.AddField(\n            model_name=\"item\",\n            name=\"field_{m:04}\",\n            field=models.IntegerField(default=0),\n        ),\n    ]\n"),
                )
            };
            write(
                &d.join(format!("migrations/{name}.py")),
                &format!("# Generated by Django 5.2 on 2026-01-01 12:00\n\nfrom django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n\n{body}"),
            );
            prev = name;
        }
    }
}

#[test]
fn generated_project_is_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    generate_project(tmp.path(), 50, 40);
    let r = run_in(tmp.path(), &["check", "--format", "json"]);
    r.expect_code(0);
    let report = r.json();
    assert_eq!(app_labels(&report).len(), 50);
    assert_eq!(strings(&report["apps"]["app49"]["nodes"]).len(), 40);
    assert_eq!(edges(&report).len(), 50 * 39);
}

/// `djmig graph | head -1`: the reader goes away; djmig stops quietly.
#[test]
fn closed_stdout_is_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    generate_project(tmp.path(), 50, 40);
    let home = support::target_tmp().join("djmig-test-home");
    fs::create_dir_all(&home).unwrap();
    for args in [
        &["graph", "--format", "json"][..],
        &["graph", "--format", "text"],
        &["graph", "--format", "dot"],
        &["check", "--format", "json"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_djmig"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DJMIG_") {
                cmd.env_remove(&key);
            }
        }
        let mut child = cmd
            .env("NO_COLOR", "1")
            .env("HOME", &home)
            .env_remove("VIRTUAL_ENV")
            .env_remove("RUST_BACKTRACE")
            .arg("-C")
            .arg(tmp.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn djmig");
        {
            let mut reader = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).expect("read one line");
            assert!(!line.is_empty(), "{args:?}: no output");
        } // the read end closes here
        let out = child.wait_with_output().expect("wait for djmig");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("crashed"),
            "{args:?}: {stderr}"
        );
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1)),
            "{args:?}: exit {:?}\n{stderr}",
            out.status
        );
    }
}

// ----------------------------------------------------------- project root

#[test]
fn dash_c_is_relative_to_the_current_directory() {
    let mut cmd = djmig();
    cmd.current_dir(fixtures_dir())
        .args(["-C", "linear", "check", "--format", "json"]);
    let r = Run::of(cmd);
    r.expect_code(0);
    assert_eq!(app_labels(&r.json()), ["blog"]);

    let mut cmd = djmig();
    cmd.current_dir(fixture("example").join("shop"))
        .args(["-C", "..", "check", "--format", "json"]);
    let r = Run::of(cmd);
    r.expect_code(1);
    assert_eq!(keys(&r.json()["conflicts"]), set(&["orders"]));
}

#[test]
fn project_root_is_found_from_a_subdirectory_of_a_git_repository() {
    let tmp = copy_fixture("example");
    git_init(tmp.path());

    let sub = tmp.path().join("shop/orders/migrations");
    let mut cmd = djmig();
    cmd.current_dir(&sub).args(["check", "--format", "json"]);
    let r = Run::of(cmd);
    r.expect_code(1);
    let report = r.json();
    assert_eq!(
        app_labels(&report),
        ["accounts", "customers", "inventory", "orders"]
    );
    // Paths are relative to the project root, not to the directory started in.
    assert_eq!(report["apps"]["orders"]["path"], "shop/orders/migrations");

    let mut cmd = djmig();
    cmd.current_dir(&sub).arg("check");
    let r = Run::of(cmd);
    r.expect_code(1);
    assert!(
        r.stdout
            .contains("shop/orders/migrations/0004_order_note.py"),
        "{}",
        r.stdout
    );

    // The configuration at the root is read too.
    write(&tmp.path().join(".djmig.yml"), "exclude: [inventory]\n");
    let mut cmd = djmig();
    cmd.current_dir(&sub).args(["check", "--format", "json"]);
    let r = Run::of(cmd);
    assert!(
        !app_labels(&r.json()).contains(&"inventory".into()),
        "{}",
        r.stdout
    );
}

fn git_init(dir: &Path) {
    let home = support::target_tmp().join("djmig-test-home");
    let status = support::git_command(dir, &home)
        .args(["init", "-q"])
        .status()
        .expect("run git init");
    assert!(status.success(), "git init failed");
}
