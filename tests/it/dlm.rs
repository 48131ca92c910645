//! django-linear-migrations compatibility: `max_migration.txt` checked by
//! `djmig check` (a `max_migration` warning, exit 1) and by the hooks.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::{copy_fixture, djmig, Run};

fn check(dir: &Path, extra: &[&str]) -> Run {
    let out = djmig()
        .arg("-C")
        .arg(dir)
        .arg("check")
        .args(extra)
        .output()
        .expect("run djmig");
    Run::from_output(out)
}

fn max_migration(dir: &Path, text: &str) {
    fs::write(dir.join("blog/migrations/max_migration.txt"), text).unwrap();
}

fn add_migration(dir: &Path, name: &str, parent: &str) {
    fs::write(
        dir.join(format!("blog/migrations/{name}.py")),
        format!(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    \
             dependencies = [(\"blog\", \"{parent}\")]\n    operations = []\n"
        ),
    )
    .unwrap();
}

#[test]
fn an_up_to_date_file_is_fine() {
    let p = copy_fixture("linear");
    max_migration(p.path(), "0003_post_published\n");
    let r = check(p.path(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stderr, "");
}

#[test]
fn a_stale_file_is_a_warning_and_exit_1() {
    let p = copy_fixture("linear");
    max_migration(p.path(), "0002_post_body\n");
    let r = check(p.path(), &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "warning: blog/migrations/max_migration.txt:1: max_migration.txt names 0002_post_body, but blog's latest migration is 0003_post_published"
        ),
        "{}",
        r.stderr
    );
    let r = check(p.path(), &["--format", "json"]);
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let kinds: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["max_migration"]);
    assert_eq!(v["conflicts"], serde_json::json!({}));
}

#[test]
fn conflict_markers_name_both_sides() {
    let p = copy_fixture("linear");
    add_migration(p.path(), "0004_a", "0003_post_published");
    add_migration(p.path(), "0004_b", "0003_post_published");
    max_migration(
        p.path(),
        "<<<<<<< HEAD\n0004_a\n=======\n0004_b\n>>>>>>> feature\n",
    );
    let r = check(p.path(), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("blog: 2 leaf migrations"), "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "git conflict markers: ours 0004_a, theirs 0004_b; `djmig resolve blog` rewrites it"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_file_in_a_project_that_uses_dlm() {
    let p = copy_fixture("custom_user");
    let apps: Vec<String> = fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("migrations/__init__.py").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(apps.len() >= 2, "{apps:?}");
    // The latest migration of the first app, whatever the fixture has.
    let r = check(p.path(), &["--format", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let first = &apps[0];
    let leaf = v["apps"][first]["leaves"][0].as_str().unwrap().to_string();
    fs::write(
        p.path().join(first).join("migrations/max_migration.txt"),
        format!("{leaf}\n"),
    )
    .unwrap();
    let r = check(p.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("has no max_migration.txt"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_hook_mentions_a_stale_file() {
    let p = copy_fixture("linear");
    max_migration(p.path(), "0002_post_body\n");
    let out = djmig()
        .arg("-C")
        .arg(p.path())
        .args(["hook", "run", "post-merge", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("djmig: warning: blog/migrations/max_migration.txt:"),
        "{stderr}"
    );
    assert!(stderr.contains("0003_post_published"), "{stderr}");
}
