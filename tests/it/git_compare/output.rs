//! The graph at a revision, GitHub annotations, published migrations.

use super::*;

/// For every fixture, committed at the top of a repository and under a
/// subdirectory: `graph --ref HEAD` is what `graph` reads in a checkout of
/// the same commit.
#[test]
fn graph_at_a_revision_equals_graph_of_the_checkout_for_every_fixture() {
    let mut failures = Vec::new();
    for name in fixture_names() {
        for sub in ["", "backend"] {
            let r = Repo::init_with(&name, sub);
            r.commit(&format!("fixture {name}"));
            let project = if sub.is_empty() {
                r.path.clone()
            } else {
                r.path.join(sub)
            };
            let at_ref = r.dj_at(&project, &["graph", "--ref", "HEAD", "--format", "json"]);
            at_ref.no_crash();
            // A fresh checkout of the commit: exactly what git stores.
            let url = r.path.to_str().unwrap().to_owned();
            r.git_in(&r.home, &["clone", "-q", &url, "checkout"]);
            let checkout = r.sibling("checkout");
            let checkout_project = if sub.is_empty() {
                checkout.clone()
            } else {
                checkout.join(sub)
            };
            let in_tree = r.dj_at(&checkout_project, &["graph", "--format", "json"]);
            in_tree.no_crash();
            let what = format!("fixture {name} (under {sub:?})");
            if at_ref.code != in_tree.code {
                failures.push(format!(
                    "{what}: exit {} with --ref, {} from the work tree\n{}\n{}",
                    at_ref.code, in_tree.code, at_ref.stderr, in_tree.stderr
                ));
                continue;
            }
            let (Ok(a), Ok(b)) = (
                serde_json::from_str::<Value>(&at_ref.stdout),
                serde_json::from_str::<Value>(&in_tree.stdout),
            ) else {
                failures.push(format!(
                    "{what}: no JSON\n--- --ref\n{}{}\n--- work tree\n{}{}",
                    at_ref.stdout, at_ref.stderr, in_tree.stdout, in_tree.stderr
                ));
                continue;
            };
            if a != b {
                failures.push(format!(
                    "{what}: the graphs differ\n--- --ref HEAD\n{a:#}\n--- work tree\n{b:#}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ------------------------------------------------ 18. GitHub annotations

#[test]
fn github_annotations_on_both_leaves() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    for leaf in ["0004_post_a", "0004_post_b"] {
        let prefix = format!("::error file=blog/migrations/{leaf}.py,line=1,");
        let lines: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert_eq!(lines.len(), 1, "{prefix:?} in\n{}", run.stdout);
        assert!(lines[0].contains("title="), "{}", lines[0]);
    }
}

/// Each side is linear; only the merge would have two leaves. The
/// annotation says so, names each leaf's side as the text does, and its fix
/// keeps `--base` (without it, `resolve` would find nothing to fix here).
#[test]
fn github_annotation_of_a_predicted_conflict_says_the_merge_would_leave_it_and_keeps_base() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error file=blog/migrations/"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    for line in lines {
        for needle in [
            "would leave blog with 2 leaf migrations after 0003_post_published",
            "0004_post_a (yours, only in the work tree)",
            "0004_post_b (upstream, from main)",
            "Fix: djmig resolve blog --base main",
            "title=Migrations in blog would conflict after merging main",
        ] {
            assert!(line.contains(needle), "{needle:?} not in {line}");
        }
        assert!(!line.contains("blog has 2 leaf"), "{line}");
        assert!(!line.ends_with("djmig resolve blog"), "{line}");
    }
    // The text says the same.
    let text = r.dj(&["check", "--base", "main"]);
    let line = text.line_with("blog:");
    assert!(line.contains("0004_post_b (upstream, from main)"), "{line}");
    assert!(
        line.ends_with("Fix: djmig resolve blog --base main"),
        "{line}"
    );
}

/// With the project in a subdirectory, the annotations' paths are from the
/// repository top, as GitHub wants them.
#[test]
fn github_annotations_in_a_subdirectory_project() {
    let r = Repo::init_with("linear", "backend");
    r.commit("base");
    let b = |n: &str| format!("backend/{}", blog(n));
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &b("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &b("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let project = r.path.join("backend");
    let run = r.dj_at(&project, &["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    for leaf in ["0004_post_a", "0004_post_b"] {
        let prefix = format!("::error file=backend/blog/migrations/{leaf}.py,line=1,");
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&prefix)),
            "{prefix:?} in\n{}",
            run.stdout
        );
    }
    let run = r.dj_at(&project, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["apps"]["blog"]["path"], json!("blog/migrations"));
    assert_eq!(
        strings(&report["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ published

#[test]
fn published_lists_ours_on_a_remote_tracking_branch() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    assert_eq!(run.json()["divergence"]["blog"]["published"], json!([]));

    r.git_in(&r.home, &["init", "-q", "--bare", "origin.git"]);
    let origin = r.sibling("origin.git");
    r.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    r.git(&["push", "-q", "origin", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["published"]), ["0004_post_a"]);
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
}

#[test]
fn published_lists_ours_in_a_tag() {
    let r = diverged(false);
    r.git(&["tag", "v1", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["published"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ 19. the parse cache
