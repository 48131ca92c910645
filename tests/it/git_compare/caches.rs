//! The parse cache and the result cache.

use super::*;

#[test]
fn a_corrupt_cache_is_ignored() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--format", "json"];
    let first = r.dj(&args);
    first.expect_code(1);
    let cache_dir = r.path.join(".git/djmig");
    let files: Vec<PathBuf> = fs::read_dir(&cache_dir)
        .unwrap_or_else(|e| panic!("no cache directory {}: {e}", cache_dir.display()))
        .map(|e| e.expect("cache dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !files.is_empty(),
        "no cache file in {}",
        cache_dir.display()
    );

    // A warm run gives the same.
    let warm = r.dj(&args);
    warm.expect_code(1);
    assert_eq!(warm.json(), first.json());

    // Garbage, a truncated file, an empty file.
    let original = fs::read(&files[0]).expect("read cache file");
    let corruptions: Vec<Vec<u8>> = vec![
        b"garbage, not a cache".repeat(100),
        original[..original.len() / 2].to_vec(),
        Vec::new(),
        {
            let mut flipped = original.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0xff;
            flipped
        },
    ];
    for (i, bytes) in corruptions.into_iter().enumerate() {
        for f in &files {
            fs::write(f, &bytes).expect("corrupt the cache");
        }
        let run = r.dj(&args);
        run.expect_code(1);
        assert_eq!(run.json(), first.json(), "corruption {i}");
        let graph = r.dj(&["graph", "--ref", "main", "--format", "json"]);
        graph.expect_code(0);
        assert_eq!(
            strings(&graph.json()["apps"]["blog"]["leaves"]),
            ["0004_post_b"],
            "corruption {i}"
        );
    }
}

/// A cache directory that cannot be used (a file in its place) costs the
/// cache, not the answer.
#[test]
fn an_unusable_cache_directory_is_not_an_error() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--format", "json"];
    let first = r.dj(&args);
    first.expect_code(1);
    let cache_dir = r.path.join(".git/djmig");
    fs::remove_dir_all(&cache_dir).expect("remove the cache");
    fs::write(&cache_dir, "not a directory").expect("block the cache dir");
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(run.json(), first.json());
    assert_eq!(
        fs::read_to_string(&cache_dir).expect("still a file"),
        "not a directory"
    );
}

// ------------------------------------------------ 20. the result cache

const TRACE: &str = "DJMIG_TRACE_CACHE";

impl Repo {
    /// [`Repo::dj`] with the result cache saying what it did on stderr.
    fn dj_traced(&self, args: &[&str]) -> Run {
        let before = self.snapshot(&self.path);
        let mut cmd = self.djmig_command(&self.path, args);
        cmd.env(TRACE, "1");
        let run = Run::of(cmd);
        assert_eq!(
            before,
            self.snapshot(&self.path),
            "djmig {args:?} changed the repository"
        );
        run
    }
}

/// What the result cache said it did.
fn cache_said(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("djmig: result cache: "))
        .collect()
}

/// stderr without the cache's own lines.
fn stderr_proper(run: &Run) -> String {
    run.stderr
        .lines()
        .filter(|l| !l.starts_with("djmig: result cache: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Let files just written age past the window in which their stat data
/// cannot vouch for them (the run's own time, plus a clock tick).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// Runs `args` twice: stored, then answered from the cache with the same
/// output and exit code. Returns the second run.
#[track_caller]
fn stored_then_hit(r: &Repo, args: &[&str]) -> Run {
    let first = r.dj_traced(args);
    assert_eq!(
        cache_said(&first).last(),
        Some(&"stored"),
        "{}",
        first.stderr
    );
    let second = r.dj_traced(args);
    assert_eq!(cache_said(&second), ["hit"], "{}", second.stderr);
    assert_eq!(second.code, first.code);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(stderr_proper(&second), stderr_proper(&first));
    second
}

#[test]
fn an_unchanged_work_tree_is_answered_from_the_result_cache() {
    let r = diverged(false);
    settle();
    let results = r.path.join(".git/djmig/results-v1");
    for format in ["json", "text", "github"] {
        let _ = fs::remove_dir_all(&results);
        stored_then_hit(&r, &["check", "--format", format]).expect_code(0);
    }
    // The format is not part of what is stored.
    assert_eq!(
        cache_said(&r.dj_traced(&["check", "--format", "json"])),
        ["hit"]
    );
    let run = stored_then_hit(&r, &["check", "blog", "--format", "json"]);
    assert_eq!(
        keys(&run.json()["apps"]),
        BTreeSet::from(["blog".to_string()])
    );
    assert!(results.is_dir());
}

#[test]
fn a_cached_error_keeps_its_line_and_column() {
    let r = diverged(false);
    r.write(&blog("0005_broken"), "class Migration(:\n");
    settle();
    let run = stored_then_hit(&r, &["check"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("blog/migrations/0005_broken.py:1:"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_change_to_what_was_read_is_seen() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    r.dj_traced(&args).expect_code(0);

    // A new file in a migrations directory: a second leaf.
    let b = r.path.join(blog("0004_post_b"));
    let b_text = blog_migration("0003_post_published", "b");
    r.write(&blog("0004_post_b"), &b_text);
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(1);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["conflicts"]["blog"]),
        ["0004_post_a", "0004_post_b"]
    );
    assert_eq!(cache_said(&r.dj_traced(&args)), ["hit"]);

    // The same size and modification time, other bytes: 0004_post_b now
    // follows 0004_post_a. Only the change time (and what git would hash)
    // tells.
    let before = fs::metadata(&b).expect("stat 0004_post_b");
    let mut text = blog_migration("0004_post_a", "b");
    assert!(text.len() < b_text.len());
    text.push_str(&"#".repeat(b_text.len() - text.len() - 1));
    text.push('\n');
    fs::write(&b, &text).expect("rewrite 0004_post_b");
    fs::File::options()
        .write(true)
        .open(&b)
        .and_then(|f| f.set_modified(before.modified()?))
        .expect("restore the mtime");
    let after = fs::metadata(&b).expect("stat 0004_post_b");
    assert_eq!(after.len(), before.len());
    assert_eq!(after.modified().ok(), before.modified().ok());
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(0);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["apps"]["blog"]["leaves"]),
        ["0004_post_b"]
    );

    // A removed file.
    r.remove(&blog("0004_post_a"));
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(3);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");

    // The settings alone: MIGRATION_MODULES turns blog's migrations off.
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    settle();
    r.dj_traced(&args).expect_code(0);
    let settings = r.path.join("mysite/settings.py");
    let mut text = fs::read_to_string(&settings).expect("read settings");
    text.push_str("\nMIGRATION_MODULES = {'blog': None}\n");
    write(&settings, &text);
    settle();
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert!(run.json()["apps"].get("blog").is_none(), "{}", run.stdout);
}

#[test]
fn another_configuration_is_another_result() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    r.dj_traced(&args).expect_code(0);
    r.write(".djmig.yml", "exclude:\n  - blog\n");
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run)[0], "miss (nothing stored)");
    let run = r.dj_traced(&["--strict", "check", "--format", "json"]);
    assert_eq!(cache_said(&run)[0], "miss (nothing stored)");
}

#[test]
fn a_corrupt_result_file_is_ignored() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    let first = r.dj_traced(&args);
    let dir = r.path.join(".git/djmig/results-v1");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("results directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let original = fs::read(&files[0]).expect("read the result file");
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    for (bytes, said) in [
        (flipped, "miss (bad checksum)"),
        (
            original[..original.len() - 9].to_vec(),
            "miss (bad checksum)",
        ),
        (b"not a result".to_vec(), "miss (not a result file)"),
        (Vec::new(), "miss (not a result file)"),
    ] {
        fs::write(&files[0], &bytes).expect("corrupt the result file");
        let run = r.dj_traced(&args);
        run.expect_code(0);
        assert_eq!(cache_said(&run)[0], said);
        assert_eq!(run.stdout, first.stdout);
    }
}

#[test]
fn what_stat_data_cannot_vouch_for_is_not_stored() {
    let r = diverged(false);
    // A file stamped in the future: within any run's window.
    let a = r.path.join(blog("0004_post_a"));
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&a)
        .and_then(|f| f.set_modified(later))
        .expect("set the mtime");
    let args = ["check", "--format", "json"];
    for _ in 0..2 {
        let run = r.dj_traced(&args);
        run.expect_code(0);
        let said = cache_said(&run);
        assert_eq!(said[0], "miss (nothing stored)");
        assert!(
            said[1].starts_with("not stored: ") && said[1].contains("racy"),
            "{said:?}"
        );
    }

    // A migration that is a symbolic link: its target may change.
    let r = diverged(false);
    #[cfg(unix)]
    {
        r.write(
            "elsewhere/0005_post_c.py",
            &blog_migration("0004_post_a", "c"),
        );
        std::os::unix::fs::symlink(
            r.path.join("elsewhere/0005_post_c.py"),
            r.path.join(blog("0005_post_c")),
        )
        .expect("symlink");
        settle();
        let run = r.dj_traced(&args);
        run.expect_code(0);
        assert_eq!(
            cache_said(&run)[1],
            "not stored: a symbolic link or special file was read"
        );
        assert_eq!(
            strings(&run.json()["apps"]["blog"]["leaves"]),
            ["0005_post_c"]
        );

        // A link to a directory is never walked, whatever it points to: it
        // does not stand in the way.
        let r = diverged(false);
        fs::create_dir_all(r.sibling("docs")).expect("docs dir");
        std::os::unix::fs::symlink(r.sibling("docs"), r.path.join("docs")).expect("symlink");
        r.git(&["add", "docs"]);
        r.commit("docs link");
        settle();
        stored_then_hit(&r, &args).expect_code(0);
    }
}

#[test]
fn check_base_is_answered_from_the_result_cache_with_what_the_refs_say_now() {
    let r = diverged(false);
    settle();
    let results = r.path.join(".git/djmig/results-v1");
    for args in [
        &["check", "--base", "main", "--format", "json"][..],
        &["check", "--base", "main", "--format", "text"],
        &[
            "check", "--head", "feature", "--base", "main", "--format", "json",
        ],
        &[
            "check", "--head", "feature", "--base", "main", "--format", "github",
        ],
    ] {
        let _ = fs::remove_dir_all(&results);
        stored_then_hit(&r, args).expect_code(1);
    }
    // Published is read from the refs on every run, stored or not.
    let args = [
        "check", "--head", "feature", "--base", "main", "--format", "json",
    ];
    r.git(&["tag", "v1", "feature"]);
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run), ["hit"]);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["published"]),
        ["0004_post_a"]
    );
    // So is where the user is.
    r.git(&["checkout", "-q", "--detach"]);
    let text = r.dj_traced(&["check", "--head", "feature", "--base", "main"]);
    assert_eq!(cache_said(&text), ["hit"]);
    text.stdout_has("HEAD is detached");

    // Another base commit is another result.
    r.git(&["checkout", "-q", "main"]);
    r.write("README.txt", "moved on\n");
    r.commit("main: readme");
    r.git(&["checkout", "-q", "feature"]);
    let run = r.dj_traced(&args);
    assert_ne!(cache_said(&run)[0], "hit");
    run.expect_code(1);
}

#[test]
fn check_base_sees_a_changed_work_tree() {
    let r = diverged(false);
    settle();
    let args = ["check", "--base", "main", "--format", "json"];
    r.dj_traced(&args).expect_code(1);
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_a", "c"));
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(1);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["ours"]),
        ["0004_post_a", "0005_post_c"]
    );
}

// ---------------------------------------------------------------------------
// djmig check after an interrupted resolution

/// What `djmig resolve` killed half-way leaves: a journal still in
/// progress, and upstream's migration set aside (deleted from the work
/// tree).
fn interrupt_a_resolution(r: &Repo, set_aside: &str) {
    let file = r.path.join(set_aside);
    let journal =
        djmig::testing::Journal::begin(&r.path, "resolve blog", std::slice::from_ref(&file))
            .expect("begin a journal");
    fs::remove_file(&file).expect("set the file aside");
    drop(journal); // never finished
}

#[test]
fn check_after_an_interrupted_resolution_exits_5_and_says_to_undo() {
    let r = diverged(false);
    r.git(&["merge", "-q", "--no-edit", "main"]);
    // An answer stored before: it must not be taken.
    settle();
    r.dj(&["check"]).expect_code(1);
    r.dj(&["check", "--base", "main"]).expect_code(1);

    interrupt_a_resolution(&r, &blog("0004_post_b"));
    for args in [
        &["check"][..],
        &["check", "--format", "json"],
        &["check", "--base", "main"],
        &["check", "--base", "main", "--format", "github"],
    ] {
        let run = r.dj(args);
        run.expect_code(5);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        run.stderr_has("error: the last resolution did not finish: resolve blog (started ")
            .stderr_has("hint: run `djmig undo`");
    }
    // Two commits: the work tree is not read, the answer stands.
    r.dj(&["check", "--head", "HEAD", "--base", "main"])
        .expect_code(1);

    // undo changes the work tree: run it without dj's "nothing changed".
    Run::of(r.djmig_command(&r.path, &["undo"])).expect_code(0);
    r.dj(&["check"])
        .expect_code(1)
        .stdout_has("2 leaf migrations");
}

// ---------------------------------------------------------------------------
// djmig scan
