//! Git problems (shallow clone, unknown ref, unrelated histories, no commits, a bare repository) and the fix for a checkout.

use super::*;

#[test]
fn a_shallow_clone_without_the_merge_base() {
    let r = diverged(false);
    let url = format!("file://{}", r.path.display());
    r.git_in(
        &r.home,
        &[
            "clone", "-q", "--depth", "1", "-b", "feature", &url, "shallow",
        ],
    );
    let shallow = r.sibling("shallow");
    r.git_in(
        &shallow,
        &["fetch", "-q", "--depth", "1", "origin", "main:main"],
    );
    assert_eq!(
        r.git_in(&shallow, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--format", "json"],
        &["check", "--base", "main", "--head", "feature"],
    ] {
        let run = r.dj_at(&shallow, args);
        run.expect_code(4);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        for needle in ["shallow", "fetch-depth: 0", "--unshallow"] {
            assert!(
                run.stderr.contains(needle),
                "{args:?}: {needle:?} not in\n{}",
                run.stderr
            );
        }
    }

    // With the history, the same comparison works.
    r.git_in(&shallow, &["fetch", "-q", "--unshallow", "origin"]);
    let run = r.dj_at(&shallow, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ 13. unknown ref

#[test]
fn an_unknown_ref() {
    let r = diverged(false);
    for args in [
        &["check", "--base", "nope"][..],
        &["check", "--base", "nope", "--format", "json"],
        &["check", "--base", "main", "--head", "nope"],
        &["graph", "--ref", "nope"],
        &["graph", "--ref", "nope", "--format", "json"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(run.stderr.contains("nope"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

// ------------------------------------------------ 14. unrelated histories

#[test]
fn unrelated_histories() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "--orphan", "other"]);
    r.commit("an unrelated root");
    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--head", "other"],
        &["check", "--base", "other", "--head", "feature"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(run.stderr.contains("unrelated"), "{args:?}: {}", run.stderr);
    }
}

// ------------------------------------------------ 15. no commits

#[test]
fn a_repository_with_no_commits() {
    let r = Repo::init_with("linear", "");
    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--format", "json"],
        &["graph", "--ref", "HEAD"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(
            run.stderr.contains("no commits"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{args:?}: {}", run.stderr);
    }
    let run = r.dj(&["check"]);
    run.expect_code(0);
    assert!(run.stdout.contains("No conflicts"), "{}", run.stdout);
    let run = r.dj(&["graph", "--format", "json"]);
    run.expect_code(0);
}

/// A bare repository has no work tree to be the head side; commits it has.
#[test]
fn a_bare_repository() {
    let r = diverged(false);
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--bare",
            r.path.to_str().unwrap(),
            "bare.git",
        ],
    );
    let bare = r.sibling("bare.git");
    let run = r.dj_at(&bare, &["check", "--base", "main"]);
    run.expect_code(4);
    assert!(run.stderr.contains("bare"), "{}", run.stderr);

    let run = r.dj_at(
        &bare,
        &[
            "check", "--base", "main", "--head", "feature", "--format", "json",
        ],
    );
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);
}

/// `resolve` works on a checkout of head: after `check --head feature`,
/// the fix is `djmig resolve` as it is when feature is checked out, checks
/// feature out first when it is not, and in a bare repository makes a
/// worktree for it — and what it says to paste works.
#[test]
fn the_fix_makes_the_checkout_resolve_needs() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--head", "feature"];
    let fix = |run: &Run| {
        run.line_with("blog:")
            .split_once("Fix: ")
            .unwrap()
            .1
            .to_string()
    };
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(fix(&run), "djmig resolve blog --base main");

    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(
        fix(&run),
        "git checkout feature && djmig resolve blog --base main"
    );
    let mut gh = args.to_vec();
    gh.extend(["--format", "github"]);
    let run = r.dj(&gh);
    assert!(
        run.stdout
            .contains("Fix: git checkout feature && djmig resolve blog --base main"),
        "{}",
        run.stdout
    );

    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--bare",
            r.path.to_str().unwrap(),
            "bare.git",
        ],
    );
    let bare = r.sibling("bare.git");
    let run = r.dj_at(&bare, &args);
    run.expect_code(1);
    let checkout = r.sibling("bare-feature");
    let want = format!(
        "git -C {} worktree add {} feature && cd {} && djmig resolve blog --base main",
        bare.display(),
        checkout.display(),
        checkout.display()
    );
    assert_eq!(fix(&run), want);
    assert!(!run.stdout.contains("Fix: djmig resolve"), "{}", run.stdout);
    // Pasted up to resolve, it makes the checkout resolve needs there.
    let (make, _) = want.rsplit_once(" && djmig").unwrap();
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(make)
        .env("HOME", &r.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        sh.status.success(),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
    let there = r.dj_at(&checkout, &["check", "--base", "main"]);
    there.expect_code(1);
    assert!(
        there
            .line_with("blog:")
            .ends_with("Fix: djmig resolve blog --base main"),
        "{}",
        there.stdout
    );
    let plan = r.dj_at(
        &checkout,
        &["resolve", "blog", "--base", "main", "--dry-run"],
    );
    assert!(plan.stdout.contains("0004_post_a"), "{}", plan.stdout);
}

// ------------------------------------------------ 16. a side that does not parse
