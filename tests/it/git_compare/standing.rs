//! Where the user stands: a merge or rebase in progress, a merge commit, a cherry-pick, a detached HEAD, a linked worktree.

use super::*;

#[test]
fn a_merge_stopped_on_a_conflict() {
    let r = diverged(true);
    r.git_fails(&["merge", "main"]);
    assert!(r.path.join(".git/MERGE_HEAD").exists());
    let main = r.short("main");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("A merge is in progress"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&main), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py").contains("(upstream"),
        "{}",
        run.stdout
    );
    let json = r.dj(&["check", "--format", "json"]);
    json.expect_code(1);
    assert_eq!(
        json.json()["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(
        text.stdout.contains("A merge is in progress"),
        "{}",
        text.stdout
    );
}

/// During a merge the work tree already has upstream's migration; it is
/// still upstream's, not "only on head".
#[test]
fn a_merge_in_progress_keeps_upstreams_migration_upstream() {
    let r = diverged(true);
    r.git_fails(&["merge", "main"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"], "{d:#}");
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"], "{d:#}");

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(line.contains("0004_post_a (yours"), "{line}");
    assert!(line.contains("0004_post_b (upstream"), "{line}");
}

/// `ours` is "only on head": a migration both sides added (a cherry-pick)
/// is not ours alone.
#[test]
fn a_cherry_picked_migration_is_not_ours_alone() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "main"]);
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_b", "c"));
    r.commit("main: 0005_post_c");
    r.git(&["checkout", "-q", "feature"]);
    r.git(&["cherry-pick", "main~1"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    let ours = strings(&d["ours"]);
    let theirs = strings(&d["theirs"]);
    assert!(
        ours.iter().all(|o| !theirs.contains(o)),
        "ours {ours:?} and theirs {theirs:?} overlap"
    );
    assert_eq!(ours, ["0004_post_a"], "{d:#}");
    assert_eq!(theirs, ["0004_post_b", "0005_post_c"], "{d:#}");
    assert_eq!(
        run.json()["conflicts"],
        json!({"blog": ["0004_post_a", "0005_post_c"]})
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(!line.contains("0004_post_b (yours"), "{line}");
    assert!(line.contains("0004_post_a (yours"), "{line}");
    assert!(line.contains("0005_post_c (upstream"), "{line}");
}

// ------------------------------------------------ 8. rebase

#[test]
fn a_rebase_stopped_then_finished() {
    let r = diverged(true);
    r.git_fails(&["rebase", "main"]);
    assert!(r.path.join(".git/rebase-merge").is_dir());
    let main = r.short("main");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("rebase"), "{}", run.stdout);
    assert!(run.stdout.contains("\"yours\""), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py")
            .contains(&format!("(upstream, in {main})")),
        "{}",
        run.stdout
    );

    // Comparing with main during the rebase: HEAD is main's tip.
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(text.stdout.contains("rebase"), "{}", text.stdout);

    // Finish it.
    r.write("README.txt", "both\n");
    r.git(&["add", "README.txt"]);
    r.git(&["rebase", "--continue"]);
    assert!(!r.path.join(".git/rebase-merge").exists());
    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("rebased"), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py").contains("(upstream"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("djmig resolve blog"), "{}", run.stdout);
}

// ------------------------------------------------ 9. merge commit

#[test]
fn a_merge_commit_after_a_pull() {
    let r = diverged(false);
    r.git(&["merge", "-q", "--no-edit", "main"]);
    let parents = r.git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(parents.split(' ').count(), 3, "a merge commit: {parents}");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("merge commit"), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py")
            .contains(&format!("(upstream, in {})", r.short("main"))),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("djmig resolve blog"), "{}", run.stdout);
}

// ------------------------------------------------ 10. detached HEAD

#[test]
fn a_detached_head() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "--detach", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(text.stdout.contains("detached"), "{}", text.stdout);
    assert!(text.line_with("blog:").contains("0004_post_a"));
}

// ------------------------------------------------ 11. linked worktree

#[test]
fn a_linked_worktree() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "main"]);
    let wt = r.sibling("wt");
    r.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "feature"]);

    let run = r.dj_at(&wt, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["head"], json!(r.rev("feature")));
    assert_eq!(report["head_source"], json!("worktree"));
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);

    let run = r.dj_at(&wt, &["graph", "--ref", "main", "--format", "json"]);
    run.expect_code(0);
    let at_main = run.json();
    assert_eq!(strings(&at_main["apps"]["blog"]["leaves"]), ["0004_post_b"]);
    // The same as main's checkout reads.
    let checkout = r.dj(&["graph", "--format", "json"]);
    checkout.expect_code(0);
    assert_eq!(at_main, checkout.json());

    // The cache is shared: in the common git directory, not the worktree's.
    assert!(r.path.join(".git/djmig").is_dir());
    assert!(!r.path.join(".git/worktrees/wt/djmig").exists());
    assert!(!wt.join("djmig").exists());
}

// ------------------------------------------------ 12. shallow clone
