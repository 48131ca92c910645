//! The virtual merge: which side each migration comes from, deletions, squashes, errors only the merge has.

use super::*;

#[test]
fn diverged_same_app_from_the_work_tree() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    let d = &report["divergence"];
    assert_eq!(keys(d), BTreeSet::from(["blog".to_string()]), "{report:#}");
    assert_eq!(
        d["blog"],
        json!({
            "merge_base_leaf": "0003_post_published",
            "ours": ["0004_post_a"],
            "theirs": ["0004_post_b"],
            "published": [],
            "apps_depending_on_ours": [],
        })
    );
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        ["0004_post_a", "0004_post_b"]
    );
    assert_eq!(report["errors"], json!([]));
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog");
    assert!(line.starts_with("blog:"), "{line}");
    for needle in [
        "0004_post_a",
        "0004_post_b",
        "djmig resolve blog",
        "0003_post_published",
    ] {
        assert!(line.contains(needle), "{needle:?} not in {line:?}");
    }
    assert!(
        line.contains("0004_post_a (yours") && line.contains("0004_post_b (upstream"),
        "{line}"
    );
}

#[test]
fn diverged_same_app_between_two_commits() {
    let r = diverged(false);
    let from_feature = r
        .dj(&["check", "--base", "main", "--format", "json"])
        .json();
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&[
        "check", "--head", "feature", "--base", "main", "--format", "json",
    ]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "feature", "commit");
    assert_eq!(report["divergence"], from_feature["divergence"]);
    assert_eq!(graph_part(&report), graph_part(&from_feature));

    let text = r.dj(&["check", "--head", "feature", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(
        line.contains("0004_post_a") && line.contains("0004_post_b"),
        "{line}"
    );
    assert!(line.contains("djmig resolve"), "{line}");
}

/// The work tree side is the files as they are: untracked and deleted
/// files count, HEAD's tree does not.
#[test]
fn the_work_tree_side_is_the_files_not_head() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);
    // Untracked, not committed.
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(
        strings(&report["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
    assert_eq!(
        strings(&report["divergence"]["blog"]["theirs"]),
        ["0004_post_b"]
    );

    // Compared as a commit, HEAD has nothing of its own.
    let run = r.dj(&[
        "check", "--head", "HEAD", "--base", "main", "--format", "json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["divergence"], json!({}));
    assert_eq!(run.json()["head_source"], json!("commit"));
}

// ------------------------------------------------ 2. different apps

#[test]
fn different_apps_do_not_conflict() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: blog.0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("main: notes.0002_note_x");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(report["conflicts"], json!({}));
    assert_eq!(strings(&report["apps"]["blog"]["leaves"]), ["0004_post_a"]);
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(0);
    assert!(text.stdout.contains("No conflicts"), "{}", text.stdout);
}

// ------------------------------------------------ 3. a local chain

#[test]
fn a_local_chain_is_listed_in_dependency_order() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_a", "c"));
    r.commit("feature: 0005_post_c");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a", "0005_post_c"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);
    assert_eq!(d["merge_base_leaf"], json!("0003_post_published"));
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_b", "0005_post_c"]})
    );
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

/// Dependency order, not name order: 0004_post_z comes before 0004_post_c
/// that depends on it.
#[test]
fn ours_follows_dependencies_not_names() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_z"),
        &blog_migration("0003_post_published", "z"),
    );
    r.write(&blog("0004_post_c"), &blog_migration("0004_post_z", "c"));
    r.commit("feature: z then c");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.write(&blog("0005_post_a"), &blog_migration("0004_post_b", "a"));
    r.commit("main: b then a");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_z", "0004_post_c"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b", "0005_post_a"]);
}

// ------------------------------------------------ 4. a cross-app dependent

#[test]
fn another_apps_migration_depending_on_ours_is_named() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.write(
        "notes/migrations/0002_x.py",
        &migration(
            &[("notes", "0001_initial"), ("blog", "0004_post_a")],
            &add_field("note", "x"),
        ),
    );
    r.commit("feature: blog.0004_post_a, notes.0002_x");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        keys(&report["divergence"]),
        BTreeSet::from(["blog".to_string()]),
        "only blog has two leaves: {report:#}"
    );
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["apps_depending_on_ours"]), ["notes.0002_x"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

// ------------------------------------------------ 5. a deleted migration

#[test]
fn a_migration_deleted_upstream_is_not_in_the_merge() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("feature: notes.0002_note_x");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(
        strings(&report["apps"]["blog"]["nodes"]),
        ["0001_initial", "0002_post_body"]
    );
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        ["0002_post_body"]
    );
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
    assert!(
        !report["edges"].to_string().contains("0003_post_published"),
        "{report:#}"
    );
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

/// Deleted on our side, in the work tree only (not committed).
#[test]
fn a_migration_deleted_in_the_work_tree_is_not_in_the_merge() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.git(&["checkout", "-q", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("main: notes.0002_note_x");
    r.git(&["checkout", "-q", "feature"]);
    r.remove(&blog("0003_post_published"));

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(
        strings(&report["apps"]["blog"]["nodes"]),
        ["0001_initial", "0002_post_body"]
    );
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
}

/// Upstream deleted the migration ours depends on: the merge cannot be
/// built, as Django's loader would fail on it.
#[test]
fn ours_depending_on_a_migration_deleted_upstream_is_a_graph_error() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let report = run.json();
    assert!(
        report["errors"].to_string().contains("0003_post_published"),
        "{report:#}"
    );
}

/// The same error, named by where it is: neither side has it on its own
/// (0003 is there at the work tree and 0004_post_a is not at main), so the
/// message says it is the merge's.
#[test]
fn an_error_only_the_merge_has_says_so() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let main = format!("main ({})", r.short("main"));
    let feature = format!("feature ({})", r.short("feature"));
    for (args, head) in [
        (
            &["check", "--base", "main"][..],
            "the work tree".to_string(),
        ),
        (&["check", "--base", "main", "--head", "feature"], feature),
    ] {
        let mut json = args.to_vec();
        json.extend(["--format", "json"]);
        let run = r.dj(&json);
        run.expect_code(3);
        let messages = error_messages(&run.json());
        let prefix = format!("in the merge of {head} and {main}: ");
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(&prefix) && m.contains("nonexistent parent node")),
            "no error `{prefix}…` in {messages:#?}"
        );
        assert!(
            messages.iter().all(|m| !m.starts_with("at ")),
            "an error blamed on a side: {messages:#?}"
        );
        let text = r.dj(args);
        text.expect_code(3);
        assert!(text.stderr.contains(&prefix), "{}", text.stderr);
    }
}

/// An error head's own files have (a dependency on a migration that exists
/// nowhere) is named by head, even though main has nothing to do with it.
#[test]
fn an_error_in_heads_own_files_is_named_by_head() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(&blog("0004_post_a"), &blog_migration("0099_missing", "a"));
    r.commit("feature: 0004_post_a after a migration that is nowhere");
    r.git(&["checkout", "-q", "main"]);
    r.write("README.txt", "main\n");
    r.commit("main: readme");
    r.git(&["checkout", "-q", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("at the work tree: ") && m.contains("0099_missing")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().all(|m| !m.starts_with("in the merge")),
        "{messages:#?}"
    );
}

// ------------------------------------------------ 6. a squash upstream

/// Main squashes 0001-0003 (keeping the originals, as `squashmigrations`
/// does); feature adds 0004_post_a after 0003. Django uses the squash for
/// the replaced nodes and 0004_post_a is its child: one leaf.
#[test]
fn a_squash_upstream_does_not_conflict_with_a_child_of_what_it_replaces() {
    let squash = "0001_squashed_0003_post_published";
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog(squash),
        &migration_replacing(
            &[],
            &[
                ("blog", "0001_initial"),
                ("blog", "0002_post_body"),
                ("blog", "0003_post_published"),
            ],
            "",
        ),
    );
    r.commit("main: squash");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(report["conflicts"], json!({}));
    let nodes = strings(&report["apps"]["blog"]["nodes"]);
    assert!(nodes.contains(&squash.to_string()), "{nodes:?}");
    assert!(nodes.contains(&"0004_post_a".to_string()), "{nodes:?}");
    assert_eq!(strings(&report["apps"]["blog"]["leaves"]), ["0004_post_a"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    // Django on the real merge agrees.
    let clone = r.sibling("merged");
    r.git_in(
        &r.home,
        &["clone", "-q", r.path.to_str().unwrap(), "merged"],
    );
    r.git_in(&clone, &["merge", "-q", "--no-edit", "origin/main"]);
    let g = django_graph(&clone);
    assert_eq!(g["error"], Value::Null, "{g:#}");
    assert_eq!(g["conflicts"], json!({}), "{g:#}");
    assert_eq!(strings(&g["leaves"]["blog"]), ["0004_post_a"]);
    let mut ours = nodes.clone();
    ours.sort();
    assert_eq!(django_nodes(&g, "blog"), ours);
}

/// The same with the originals deleted by the squash: 0004_post_a still
/// depends on 0003_post_published, which Django maps onto the squash.
#[test]
fn a_squash_without_originals_upstream_takes_over_their_dependents() {
    let squash = "0001_squashed_0003_post_published";
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog(squash),
        &migration_replacing(
            &[],
            &[
                ("blog", "0001_initial"),
                ("blog", "0002_post_body"),
                ("blog", "0003_post_published"),
            ],
            "",
        ),
    );
    for name in ["0001_initial", "0002_post_body", "0003_post_published"] {
        r.remove(&blog(name));
    }
    r.commit("main: squash, originals removed");
    r.git(&["checkout", "-q", "feature"]);

    let clone = r.sibling("merged");
    r.git_in(
        &r.home,
        &["clone", "-q", r.path.to_str().unwrap(), "merged"],
    );
    r.git_in(&clone, &["merge", "-q", "--no-edit", "origin/main"]);
    let g = django_graph(&clone);
    assert_eq!(g["error"], Value::Null, "{g:#}");

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["conflicts"], json!({}));
    let mut nodes = strings(&report["apps"]["blog"]["nodes"]);
    nodes.sort();
    assert_eq!(nodes, django_nodes(&g, "blog"));
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        strings(&g["leaves"]["blog"])
    );
    fs::remove_dir_all(&clone).expect("remove clone");
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

// ------------------------------------------------ 7. merge in progress
