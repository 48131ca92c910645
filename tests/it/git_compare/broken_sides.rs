//! A side that does not parse, named by revision.

use super::*;

/// A migration module that does not parse (a missing parenthesis).
const BROKEN: &str = "from django.db import migrations\n\nclass Migration(migrations.Migration:\n    dependencies = [('blog', '0003_post_published')]\n";

/// From "base" (linear), feature adds 0004_post_a, main commits a broken
/// 0004_broken; feature checked out.
fn broken_upstream() -> Repo {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("main: a broken migration");
    r.git(&["checkout", "-q", "feature"]);
    r
}

#[test]
fn a_broken_migration_upstream_fails_the_check() {
    let r = broken_upstream();
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let report = run.json();
    assert!(
        !error_messages(&report).is_empty(),
        "no errors in {report:#}"
    );
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["file"] == json!("blog/migrations/0004_broken.py")),
        "{report:#}"
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(3);
    assert!(text.stderr.contains("0004_broken.py"), "{}", text.stderr);
    assert!(text.stdout.contains("cannot be built"), "{}", text.stdout);
    // The same, the broken side given as head.
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&["check", "--base", "feature", "--head", "main"]);
    run.expect_code(3);
}

/// The errors say which revision has the broken file.
#[test]
fn a_broken_migration_upstream_is_named_by_revision() {
    let r = broken_upstream();
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages.iter().any(|m| m.starts_with("at main")),
        "no error `at main…` in {messages:#?}"
    );
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&[
        "check", "--base", "feature", "--head", "main", "--format", "json",
    ]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages.iter().any(|m| m.starts_with("at main")),
        "no error `at main…` in {messages:#?}"
    );
}

/// A side broken where the merge is not (ours deleted the broken file):
/// still exit 3, the error named by revision.
#[test]
fn a_side_that_does_not_parse_is_named_by_revision() {
    let r = Repo::init_with("linear", "");
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("base: a broken migration");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.remove(&blog("0004_broken"));
    r.commit("feature: drop it");

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    let main = format!("at main ({}): ", r.short("main"));
    assert!(
        messages.iter().any(|m| m.starts_with(&main)),
        "no error `{main}…` in {messages:#?}"
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(3);
    assert!(text.stderr.contains(&main), "{}", text.stderr);
}

/// Both sides removed a broken migration: head, base and their merge all
/// build; only the merge base (history) is broken.
#[test]
fn a_broken_merge_base_alone_does_not_fail_the_check() {
    let r = Repo::init_with("linear", "");
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("base: a broken migration");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.remove(&blog("0004_broken"));
    r.commit("feature: drop it");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0004_broken"));
    r.write("README.txt", "main\n");
    r.commit("main: drop it too");
    r.git(&["checkout", "-q", "feature"]);
    for args in [
        &["check", "--base", "main", "--format", "json"][..],
        &[
            "check", "--base", "main", "--head", "feature", "--format", "json",
        ],
    ] {
        let run = r.dj(args);
        run.expect_code(0);
        assert_eq!(run.json()["errors"], json!([]), "{args:?}");
    }
}

// ------------------------------------------------ 17. graph --ref == work tree
