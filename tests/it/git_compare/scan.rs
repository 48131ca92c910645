//! `scan`: branches and pull-request refs colliding with each other or the base.

use super::*;

/// On `main` (linear): branches `feature/a` and `feature/b` each add a blog
/// migration after 0003; `feature/c` adds to `notes` only; `feature/a2` is
/// `feature/a` again; `feature/a-more` builds on `feature/a`.
fn branches_for_scan() -> Repo {
    let r = Repo::linear_with_notes();
    for (branch, from, name, parent) in [
        ("feature/a", "main", "0004_post_a", "0003_post_published"),
        ("feature/b", "main", "0004_post_b", "0003_post_published"),
        (
            "feature/a-more",
            "feature/a",
            "0005_post_more",
            "0004_post_a",
        ),
    ] {
        r.git(&["checkout", "-q", "-b", branch, from]);
        r.write(&blog(name), &blog_migration(parent, name));
        r.commit(branch);
    }
    r.git(&["checkout", "-q", "-b", "feature/c", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("feature/c");
    r.git(&["branch", "feature/a2", "feature/a"]);
    r.git(&["checkout", "-q", "main"]);
    r
}

#[test]
fn scan_reports_branches_adding_after_the_same_migration() {
    let r = branches_for_scan();
    let run = r.dj(&["scan", "--base", "main", "feature/*", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["base"], r.rev("main"));
    let collisions = j["collisions"].as_array().expect("collisions");
    // a (= a2) with b; a-more with b (it adds 0004_post_a too, after 0003).
    // Never a with a2 (one commit), a with a-more (one builds on the
    // other), nor c (another app).
    let pairs: BTreeSet<(String, String)> = collisions
        .iter()
        .map(|c| {
            let b = strings(&c["branches"]);
            (b[0].clone(), b[1].clone())
        })
        .collect();
    assert!(
        pairs.contains(&(
            "feature/a = feature/a2".to_string(),
            "feature/b".to_string()
        )),
        "{pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .all(|(x, y)| !x.contains("feature/c") && !y.contains("feature/c")),
        "{pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .all(|(x, y)| !(x.contains("feature/a") && y.contains("feature/a"))),
        "{pairs:?}"
    );
    for c in collisions {
        assert_eq!(c["app"], "blog");
        assert_eq!(c["after"], "0003_post_published");
    }
    let text = r.dj(&["scan", "--base", "main", "feature/*"]);
    text.expect_code(1);
    text.line_with(
        "feature/a = feature/a2 and feature/b both add blog migrations after 0003_post_published",
    );
}

#[test]
fn scan_without_collisions_exits_zero_and_unknown_globs_are_usage_errors() {
    let r = branches_for_scan();
    let run = r.dj(&["scan", "--base", "main", "feature/a*", "feature/c"]);
    run.expect_code(0);
    run.line_with("No collisions");
    r.dj(&["scan", "--base", "main", "nothing/*"])
        .expect_code(2);
    r.dj(&["scan", "--base", "nope"]).expect_code(4);
}

/// `feature/x` adds 0004_post_x after 0003; since it forked, `main` added
/// 0004_post_y after 0003: the branch conflicts with the base itself, with
/// no other branch in sight. Branches forked after 0004_post_y, or already
/// merged into main, do not.
#[test]
fn scan_reports_a_branch_that_already_conflicts_with_the_base() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "merged", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("merged: notes 0002");
    r.git(&["checkout", "-q", "-b", "feature/x", "main"]);
    r.write(
        &blog("0004_post_x"),
        &blog_migration("0003_post_published", "x"),
    );
    r.commit("feature/x");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-edit", "merged"]);
    r.write(
        &blog("0004_post_y"),
        &blog_migration("0003_post_published", "y"),
    );
    r.commit("main: 0004_post_y");
    r.git(&["checkout", "-q", "-b", "feature/later", "main"]);
    r.write(
        &blog("0005_post_later"),
        &blog_migration("0004_post_y", "later"),
    );
    r.commit("feature/later");
    r.git(&["checkout", "-q", "main"]);

    let text = r.dj(&["scan"]);
    text.expect_code(1);
    text.line_with(
        "feature/x and main both add blog migrations after 0003_post_published (0004_post_x / 0004_post_y)",
    );
    text.stdout_has("djmig resolve --base main");
    assert_eq!(text.lines_with(" both add ").len(), 1, "{}", text.stdout);

    let run = r.dj(&["scan", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(
        j["collisions"],
        json!([{
            "app": "blog",
            "after": "0003_post_published",
            "branches": ["feature/x", "main"],
            "adds": [["0004_post_x"], ["0004_post_y"]],
            "with_base": true,
        }])
    );
    // Only the branches that do not conflict: nothing to say.
    let run = r.dj(&["scan", "--base", "main", "feature/later", "merged"]);
    run.expect_code(0);
    run.line_with("No collisions");
}

/// Pull requests as GitHub serves them, fetched with the line the README
/// gives: `scan 'refs/pull/*/head'` compares the open ones, leaves out the
/// one merged into the base, and with `--since` those not updated since.
#[test]
fn scan_over_pull_request_refs() {
    let r = Repo::linear_with_notes();
    let pr = |n: u32, from: &str, file: &str, content: &str, date: Option<&str>| {
        r.git(&["checkout", "-q", "-b", &format!("pr{n}"), from]);
        r.write(file, content);
        r.git(&["add", "-A"]);
        let mut c = r.git_command(&r.path);
        if let Some(d) = date {
            c.env("GIT_COMMITTER_DATE", d).env("GIT_AUTHOR_DATE", d);
        }
        let out = c
            .args(["commit", "-q", "-m", &format!("pr {n}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        r.git(&["update-ref", &format!("refs/pull/{n}/head"), "HEAD"]);
        r.git(&["checkout", "-q", "main"]);
    };
    let notes = |name: &str| {
        (
            format!("notes/migrations/{name}.py"),
            migration(&[("notes", "0001_initial")], &add_field("note", name)),
        )
    };
    pr(
        1,
        "main",
        &blog("0004_post_one"),
        &blog_migration("0003_post_published", "one"),
        None,
    );
    pr(
        2,
        "main",
        &blog("0004_post_two"),
        &blog_migration("0003_post_published", "two"),
        None,
    );
    r.git(&["merge", "-q", "--no-ff", "--no-edit", "pr1"]);
    for (n, name, date) in [
        (3, "0002_note_three", None),
        (4, "0002_note_four", None),
        (5, "0002_note_five", Some("2020-06-01T00:00:00Z")),
    ] {
        let (file, content) = notes(name);
        pr(n, "main", &file, &content, date);
    }
    let clone = r.sibling("clone");
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            r.path.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    r.git_in(
        &clone,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/pull/*/head:refs/pull/*/head",
        ],
    );

    let run = r.dj_at(
        &clone,
        &[
            "scan",
            "--base",
            "origin/main",
            "refs/pull/*/head",
            "--format",
            "json",
        ],
    );
    run.expect_code(1);
    let j = run.json();
    assert_eq!(
        strings(&j["branches"]),
        [
            "refs/pull/2/head",
            "refs/pull/3/head",
            "refs/pull/4/head",
            "refs/pull/5/head"
        ]
    );
    assert_eq!(j["skipped"], json!({"merged": 1, "older": 0}));
    let pairs: Vec<(String, String, bool)> = j["collisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let b = strings(&c["branches"]);
            (b[0].clone(), b[1].clone(), c["with_base"] == json!(true))
        })
        .collect();
    let p = |a: &str, b: &str, base: bool| (a.to_string(), b.to_string(), base);
    assert_eq!(
        pairs,
        [
            p("refs/pull/2/head", "origin/main", true),
            p("refs/pull/3/head", "refs/pull/4/head", false),
            p("refs/pull/3/head", "refs/pull/5/head", false),
            p("refs/pull/4/head", "refs/pull/5/head", false),
        ]
    );
    let base = &j["collisions"][0];
    assert_eq!(base["adds"], json!([["0004_post_two"], ["0004_post_one"]]));

    let text = r.dj_at(
        &clone,
        &[
            "scan",
            "--base",
            "origin/main",
            "--since",
            "2023-01-01",
            "refs/pull/*/head",
        ],
    );
    text.expect_code(1);
    let scanned = text.line_with("Scanned 3 ref(s) against origin/main");
    assert!(
        scanned.contains("Left out: 1 already merged into it, 1 not updated since 2023-01-01."),
        "{scanned}"
    );
    text.line_with(
        "refs/pull/3/head and refs/pull/4/head both add notes migrations after 0001_initial",
    );
    assert!(!text.stdout.contains("pull/5"), "{}", text.stdout);

    // Not a branch glob: the hint says how pull requests are fetched.
    let none = r.dj_at(&clone, &["scan", "pull/*"]);
    none.expect_code(2);
    assert!(
        none.stderr
            .contains("git fetch origin '+refs/pull/*/head:refs/pull/*/head'"),
        "{}",
        none.stderr
    );
    r.dj_at(&clone, &["scan", "--since", "last tuesday"])
        .expect_code(2);
}

/// Checked out on the base itself, with nothing in progress, both leaves are
/// the base's: no side is named.
#[test]
fn on_the_base_itself_no_side_is_named() {
    let r = Repo::linear();
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: two leaves");
    let run = r.dj(&["check"]);
    run.expect_code(1);
    for leaf in ["0004_post_a.py", "0004_post_b.py"] {
        let line = run.line_with(leaf);
        assert!(
            !line.contains("(upstream") && !line.contains("(yours"),
            "{line}"
        );
    }
}
