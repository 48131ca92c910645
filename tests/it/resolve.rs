//! `djmig resolve` and `djmig undo` end to end: real git repositories with a
//! bare `origin`, migrations written and applied by the real Django
//! (`makemigrations`, `migrate`), and Django itself asked afterwards whether
//! the history is sound (`makemigrations --check --dry-run`, `migrate`,
//! `showmigrations`).
//!
//! The basic scenario (like a developer's day): `fixtures/linear` committed on
//! `main` and pushed; on `feature` the developer adds `Post.views`
//! (`0004_post_views`, applied to the local database); meanwhile `main` gains
//! `Post.rating` (`0004_post_rating`, pushed); then `main` is merged into
//! `feature` (models.py conflicts as text and is resolved by hand). Now
//! `blog` has two leaves.
//!
//! git, Django and djmig run hermetically: no system or global git
//! configuration, a `HOME` in the temporary directory, fixed identity and
//! dates, no bytecode files.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::scenario::*;
use crate::support::Run;

// ---------------------------------------------------------------- 1. regenerate

/// `resolve --yes` on the basic scenario regenerates: yours is deleted,
/// unapplied first, written again by makemigrations on top of upstream's,
/// and applied again; Django agrees.
#[test]
fn regenerate_with_yes_leaves_django_happy() {
    let s = Scenario::basic();
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0)
        .stdout_has("Plan for blog (regenerate)")
        .stdout_has("Done: one leaf per app");

    assert!(
        !s.exists(&format!("{MIG}/0004_post_views.py")),
        "0004_post_views.py is still there:\n{}",
        run.stdout
    );
    assert_eq!(
        s.migrations(MIG),
        [
            "0001_initial",
            "0002_post_body",
            "0003_post_published",
            "0004_post_rating",
            "0005_post_views"
        ]
    );
    let new = s.read(&format!("{MIG}/0005_post_views.py"));
    assert!(
        new.contains("('blog', '0004_post_rating')"),
        "0005_post_views does not follow 0004_post_rating: {}",
        dependencies_of(&new)
    );
    assert!(new.contains("name='views'"), "{new}");

    // The local database has everything applied, before anything else runs.
    let shown = s.showmigrations();
    assert!(!shown.contains("[ ]"), "not all applied:\n{shown}");
    for name in ["0004_post_rating", "0005_post_views"] {
        assert!(shown.contains(&format!("[X] {name}")), "{name}:\n{shown}");
    }
    assert!(!shown.contains("0004_post_views"), "{shown}");
    s.assert_django_happy();
}

// ---------------------------------------------------------------- 2. reparent

/// A chain with a hand-written RunPython step and another app depending on
/// it: resolve recommends reparent, renames both files to follow upstream's
/// leaf and rewrites the other app's dependency, changing nothing else.
#[test]
fn reparent_recommended_for_hand_written_chain_with_dependent() {
    let s = Scenario::hand_written();
    let views = format!("{MIG}/0004_post_views.py");
    let fill = format!("{MIG}/0005_fill_views.py");
    let notes = "notes/migrations/0001_initial.py";
    let (views_before, fill_before, notes_before) = (s.read(&views), s.read(&fill), s.read(notes));

    let plan = s.dj(&["resolve", "--dry-run", "--format", "json"]);
    let j = plan.expect_code(1).json();
    assert_eq!(j["situations"][0]["recommended"], "reparent", "{j:#}");
    assert_eq!(j["plans"][0]["strategy"], "reparent", "{j:#}");
    let hand = j["situations"][0]["ours"][1]["hand_written"]
        .as_str()
        .unwrap_or_default();
    assert!(hand.contains("0005_fill_views"), "{j:#}");
    assert_eq!(
        j["situations"][0]["dependents"][0]["name"], "notes.0001_initial",
        "{j:#}"
    );

    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0)
        .stdout_has("recommended: reparent")
        .stdout_has("Plan for blog (reparent)")
        .stdout_has("Done: one leaf per app");

    assert_eq!(
        s.migrations(MIG),
        [
            "0001_initial",
            "0002_post_body",
            "0003_post_published",
            "0004_post_rating",
            "0005_post_views",
            "0006_fill_views"
        ],
        "{}",
        run.stdout
    );
    assert_eq!(s.migrations("notes/migrations"), ["0001_initial"]);
    // Only the names changed, byte for byte.
    assert_eq!(
        s.read(&format!("{MIG}/0005_post_views.py")),
        views_before.replace("'0003_post_published'", "'0004_post_rating'"),
        "0005_post_views.py"
    );
    assert_ne!(views_before.matches("'0003_post_published'").count(), 0);
    assert_eq!(
        s.read(&format!("{MIG}/0006_fill_views.py")),
        fill_before.replace("'0004_post_views'", "'0005_post_views'"),
        "0006_fill_views.py"
    );
    assert_eq!(
        s.read(notes),
        notes_before.replace("'0005_fill_views'", "'0006_fill_views'"),
        "notes/migrations/0001_initial.py"
    );
    assert_ne!(s.read(notes), notes_before);

    // Reapplied: the RunPython ran backwards (noop) and forwards again.
    let shown = s.showmigrations();
    assert!(!shown.contains("[ ]"), "not all applied:\n{shown}");
    for name in ["0005_post_views", "0006_fill_views"] {
        assert!(shown.contains(&format!("[X] {name}")), "{name}:\n{shown}");
    }
    s.assert_django_happy();
}

// ---------------------------------------------------------------- 3. merge

/// `--strategy merge --yes`: Django's own merge migration; Django agrees.
#[test]
fn merge_strategy_adds_djangos_merge_migration() {
    let s = Scenario::basic();
    let run = s.dj(&["resolve", "--strategy", "merge", "--yes"]);
    run.expect_code(0)
        .stdout_has("Plan for blog (merge)")
        .stdout_has("last resort");
    let merge = format!("{MIG}/0005_merge_0004_post_rating_0004_post_views.py");
    assert!(
        s.exists(&merge),
        "no merge migration: {:?}\n{}",
        s.migrations(MIG),
        run.stdout
    );
    let text = s.read(&merge);
    assert!(
        text.contains("('blog', '0004_post_rating')")
            && text.contains("('blog', '0004_post_views')"),
        "{text}"
    );
    // Both of the old ones stay.
    assert!(s.exists(&format!("{MIG}/0004_post_views.py")));
    assert!(s.exists(&format!("{MIG}/0004_post_rating.py")));
    s.assert_django_happy();
}

// ---------------------------------------------------------------- 4. undo

/// Resolve with `args`, then undo: every file as it was, byte for byte; a
/// second undo has nothing to do.
fn undo_restores_after(s: &Scenario, args: &[&str]) {
    let before = s.files();
    let db_before = s.showmigrations();
    let db_bytes = fs::read(s.path("db.sqlite3")).expect("read db.sqlite3");
    let mut full = vec!["resolve"];
    full.extend_from_slice(args);
    s.dj(&full).expect_code(0);
    assert_ne!(before, s.files(), "resolve {args:?} changed nothing");
    let undo = s.dj(&["undo", "--yes"]);
    undo.expect_code(0).stdout_has("Undone.");
    assert_same_files(&before, &s.files(), &format!("undo after resolve {args:?}"));
    s.assert_nothing_to_undo();
    assert_same_files(&before, &s.files(), "a second undo");
    // The files have two leaves again, and the database is as it was.
    s.dj(&["check"]).expect_code(1);
    assert_eq!(s.showmigrations(), db_before, "undo after resolve {args:?}");
    assert_eq!(
        fs::read(s.path("db.sqlite3")).expect("read db.sqlite3"),
        db_bytes,
        "the SQLite file after undo"
    );
}

#[test]
fn undo_after_regenerate_restores_every_byte() {
    let s = Scenario::basic();
    undo_restores_after(&s, &["--yes"]);
}

#[test]
fn undo_after_reparent_restores_every_byte() {
    let s = Scenario::hand_written();
    undo_restores_after(&s, &["--yes", "--strategy", "reparent"]);
}

#[test]
fn undo_after_merge_restores_every_byte() {
    let s = Scenario::basic();
    undo_restores_after(&s, &["--yes", "--strategy", "merge"]);
}

// ---------------------------------------------------------------- 5. published

/// Once feature is pushed, its migration is published: rewriting it is
/// refused (nothing changed, no journal) and merge is recommended.
#[test]
fn published_migration_is_not_rewritten() {
    let s = Scenario::basic();
    s.git(&["push", "-q", "origin", "feature"]);
    let before = s.files();
    let db_before = s.showmigrations();

    for strategy in ["regenerate", "reparent"] {
        let run = s.dj(&["resolve", "--yes", "--strategy", strategy]);
        run.expect_code(2)
            .stderr_has("published")
            .stderr_has("merge");
        assert_same_files(&before, &s.files(), &format!("refused {strategy}"));
        assert_eq!(s.showmigrations(), db_before, "refused {strategy}");
    }
    s.assert_nothing_to_undo();

    let j = s
        .dj(&["resolve", "--yes", "--dry-run", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(j["plans"][0]["strategy"], "merge", "{j:#}");
    assert_eq!(j["situations"][0]["recommended"], "merge", "{j:#}");
    assert_eq!(j["situations"][0]["ours"][0]["published"], true, "{j:#}");
    assert_same_files(&before, &s.files(), "dry run");

    // Without a terminal the hint names the flag, without contradicting
    // itself ("last resort (recommended)").
    let run = s.dj(&["resolve"]);
    run.expect_code(2)
        .stderr_has("pass --strategy merge (the recommended one)");
    assert!(!run.stderr.contains("last resort"), "{}", run.stderr);

    // And `--yes` does what it recommends.
    s.dj(&["resolve", "--yes"])
        .expect_code(0)
        .stdout_has("recommended: merge")
        .stdout_has("Plan for blog (merge)");
    assert!(s.exists(&format!(
        "{MIG}/0005_merge_0004_post_rating_0004_post_views.py"
    )));
    assert!(s.exists(&format!("{MIG}/0004_post_views.py")));
    s.assert_django_happy();
}

// ---------------------------------------------------------------- 6. dry run

#[test]
fn dry_run_changes_nothing_and_describes_the_situation() {
    let s = Scenario::basic();
    let files = s.files();
    let db = s.showmigrations();
    let db_bytes = fs::read(s.path("db.sqlite3")).expect("read db.sqlite3");
    let head = s.git(&["rev-parse", "HEAD"]);
    let status = s.git(&["status", "--porcelain"]);

    // A dry run runs no project code: the database is not asked, and the
    // plan says so.
    let text = s.dj(&["resolve", "--dry-run"]);
    text.expect_code(1)
        .stdout_has("blog: two leaf migrations after 0003_post_published")
        .stdout_has("    0004_post_views\n")
        .stdout_has("Plan for blog (regenerate)")
        .stdout_has("delete blog/migrations/0004_post_views.py")
        .stdout_has("the local database was not asked")
        .stdout_has("Dry run: nothing was changed.");
    assert!(!text.stdout.contains("applied locally"), "{}", text.stdout);

    let json = s.dj(&["resolve", "--dry-run", "--format", "json"]);
    let j = json.expect_code(1).json();
    assert_eq!(j["dry_run"], true);
    assert_eq!(j["database"]["state"], "not_asked", "{j:#}");
    let sit = &j["situations"][0];
    assert_eq!(sit["app"], "blog", "{j:#}");
    assert_eq!(sit["ours"][0]["name"], "0004_post_views", "{j:#}");
    assert_eq!(sit["ours"][0]["applied"], Value::Null, "{j:#}");
    assert_eq!(sit["ours"][0]["published"], false, "{j:#}");
    assert_eq!(sit["theirs"][0]["name"], "0004_post_rating", "{j:#}");
    assert_eq!(sit["common_ancestor"], "0003_post_published", "{j:#}");
    assert_eq!(sit["recommended"], "regenerate", "{j:#}");
    assert_eq!(j["plans"][0]["strategy"], "regenerate", "{j:#}");
    assert_eq!(
        step_kinds(&j),
        ["delete", "makemigrations", "verify"],
        "{j:#}"
    );

    // The other strategies' plans, also without changing anything.
    let j = s
        .dj(&[
            "resolve",
            "--dry-run",
            "--format",
            "json",
            "--strategy",
            "reparent",
        ])
        .expect_code(1)
        .json();
    assert_eq!(step_kinds(&j), ["write", "verify"], "{j:#}");
    assert_eq!(j["steps"][0]["file"], "blog/migrations/0005_post_views.py");
    let j = s
        .dj(&[
            "resolve",
            "--dry-run",
            "--format",
            "json",
            "--strategy",
            "merge",
        ])
        .expect_code(1)
        .json();
    assert_eq!(step_kinds(&j), ["makemigrations_merge", "verify"], "{j:#}");

    // With the database asked (a real run, declined), the plan has the
    // database steps: regenerate unapplies yours first.
    let asked = s.dj(&["resolve", "--strategy", "regenerate"]);
    asked
        .expect_code(2)
        .stdout_has("0004_post_views  [applied locally]")
        .stdout_has("manage.py migrate blog 0003_post_published: unapplies blog.0004_post_views")
        .stderr_has("--yes");
    assert_same_files(&files, &s.files(), "dry run");
    assert_eq!(s.showmigrations(), db, "dry run changed the database");
    assert_eq!(
        fs::read(s.path("db.sqlite3")).expect("read db.sqlite3"),
        db_bytes,
        "dry run changed db.sqlite3"
    );
    assert_eq!(s.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(s.git(&["status", "--porcelain"]), status);
    s.assert_nothing_to_undo();
    s.assert_conflicted();
}

// ---------------------------------------------------------------- 7. no terminal

#[test]
fn without_terminal_or_flags_it_asks_for_them() {
    let s = Scenario::basic();
    let files = s.files();
    let db = s.showmigrations();

    let run = s.dj(&["resolve"]);
    run.expect_code(2)
        .stderr_has("no terminal")
        .stderr_has("--strategy")
        .stderr_has("--yes");

    // A strategy alone still needs a yes to go ahead.
    s.dj(&["resolve", "--strategy", "regenerate"])
        .expect_code(2)
        .stderr_has("--yes");

    assert_same_files(&files, &s.files(), "no terminal");
    assert_eq!(s.showmigrations(), db);
    s.assert_nothing_to_undo();
}

// ---------------------------------------------------------------- 8. dirty

#[test]
fn uncommitted_changes_stop_it_unless_allowed() {
    let s = Scenario::basic();
    let views = format!("{MIG}/0004_post_views.py");
    s.append(&views, "# a local note\n");
    let files = s.files();
    let db = s.showmigrations();

    s.dj(&["resolve", "--yes"])
        .expect_code(2)
        .stderr_has("uncommitted")
        .stderr_has(&views)
        .stderr_has("--allow-dirty");
    assert_same_files(&files, &s.files(), "refused for uncommitted changes");
    assert_eq!(s.showmigrations(), db);
    s.assert_nothing_to_undo();

    s.dj(&["resolve", "--yes", "--allow-dirty"])
        .expect_code(0)
        .stdout_has("Done: one leaf per app");
    assert!(!s.exists(&views));
    assert!(s.exists(&format!("{MIG}/0005_post_views.py")));
    s.assert_django_happy();

    // The edited version is what undo brings back.
    s.dj(&["undo", "--yes"]).expect_code(0);
    assert_same_files(&files, &s.files(), "undo after --allow-dirty");
    assert!(s.read(&views).ends_with("# a local note\n"));
}

// ---------------------------------------------------------------- 9. killed

/// A djmig started with a fake Python: every call goes to the real one,
/// except makemigrations, which writes its pid to `marker` and sleeps.
/// Returns the files before, and leaves djmig killed (SIGKILL) while
/// makemigrations "runs": upstream's file put back, 0004_post_views deleted.
fn kill_during_makemigrations(s: &Scenario) -> Files {
    let marker = s.home.join("makemigrations.pid");
    let fake = s.home.join("fake-python.sh");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do\n\
             \x20 if [ \"$a\" = makemigrations ]; then\n\
             \x20   echo $$ > '{m}.tmp' && mv '{m}.tmp' '{m}'\n\
             \x20   exec sleep 30\n\
             \x20 fi\n\
             done\n\
             exec '{py}' \"$@\"\n",
            m = marker.display(),
            py = s.python.display()
        ),
    )
    .expect("write the fake python");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    s.write(".djmig.yml", &format!("python: {}\n", fake.display()));
    let before = s.files();

    let mut child = s
        .djmig_std()
        .args(["resolve", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn djmig");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let out = child.wait_with_output().expect("djmig output");
            panic!(
                "djmig ended ({status}) before makemigrations:\n--- stdout\n{}\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            Instant::now() < deadline,
            "makemigrations not reached in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("kill djmig"); // SIGKILL
    let out = child.wait_with_output().expect("reap djmig");
    let pid: i32 = fs::read_to_string(&marker)
        .expect("read marker")
        .trim()
        .parse()
        .expect("pid in marker");
    // SAFETY: kill(2) on the pid of the sleep this test's script started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !s.exists(&format!("{MIG}/0004_post_views.py")),
        "killed before deleting:\n{stdout}"
    );
    assert!(
        s.exists(&format!("{MIG}/0004_post_rating.py")),
        "upstream's file not put back after the unapply:\n{stdout}"
    );
    before
}

#[test]
fn interrupted_resolve_is_undone_byte_for_byte() {
    let s = Scenario::basic();
    let before = kill_during_makemigrations(&s);
    s.dj(&["undo", "--yes"])
        .expect_code(0)
        .stdout_has("interrupted before it finished");
    assert_same_files(&before, &s.files(), "undo after a kill");
    s.assert_nothing_to_undo();
    s.assert_conflicted();
    // The database was unapplied before the kill; undo applies it again.
    let shown = s.showmigrations();
    assert!(shown.contains("[X] 0004_post_views"), "{shown}");
}

/// A resolve after an interrupted one must not read the half-changed tree:
/// it points to `djmig undo`.
#[test]
fn resolve_after_an_interrupted_one_points_to_undo() {
    let s = Scenario::basic();
    let before = kill_during_makemigrations(&s);
    let run = s.dj(&["resolve", "--yes"]);
    assert_ne!(
        run.code, 0,
        "resolve went ahead after an interrupted one:\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
    run.stderr_has("did not finish").stderr_has("djmig undo");
    s.dj(&["undo", "--yes"]).expect_code(0);
    assert_same_files(&before, &s.files(), "undo after a kill");
}

/// After `kill -9` mid-resolve upstream's file may still be set aside:
/// `check` must not say "No conflicts" — a user could commit the deletion.
#[test]
fn check_after_a_killed_resolve_fails_and_names_undo() {
    let s = Scenario::basic();
    kill_during_makemigrations(&s);
    let run = s.dj(&["check"]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.stderr_has("djmig undo");
    s.dj(&["undo", "--yes"]).expect_code(0);
    s.dj(&["check"]).expect_code(1);
}

// ---------------------------------------------------------------- 10. upstream

#[test]
fn branch_without_upstream_taken_in_is_told_to_rebase() {
    let s = Scenario::init();
    s.feature_views();
    s.main_rating();
    let files = s.files();
    s.dj(&["check"]).expect_code(0);

    s.dj(&["resolve", "--dry-run"])
        .expect_code(1)
        .stdout_has("has not taken in main")
        .stdout_has("blog will have two leaf migrations")
        .stdout_has("git rebase ")
        .stdout_has("take in main");
    assert_same_files(&files, &s.files(), "dry run before the rebase");
    assert_eq!(s.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "feature");
}

// ---------------------------------------------------------------- 11. terminal

mod pty {
    use super::*;
    use rexpect::process::WaitStatus;
    use rexpect::session::{spawn_with_options, Options, PtySession};

    const TIMEOUT_MS: u64 = 60_000;

    /// A djmig session in a pseudo-terminal, with everything read kept for
    /// messages.
    struct Tty {
        p: PtySession,
        seen: String,
    }

    impl Tty {
        fn spawn(s: &Scenario, args: &[&str]) -> Tty {
            let mut cmd = s.djmig_std();
            cmd.args(args).env("TERM", "xterm");
            let p = spawn_with_options(
                cmd,
                Options::new()
                    .timeout_ms(Some(TIMEOUT_MS))
                    .strip_ansi_escape_codes(true),
            )
            .expect("spawn djmig in a pty");
            Tty {
                p,
                seen: String::new(),
            }
        }

        /// Read up to `needle`; returns what came before it.
        #[track_caller]
        fn expect(&mut self, needle: &str) -> String {
            match self.p.exp_string(needle) {
                Ok(before) => {
                    self.seen.push_str(&before);
                    self.seen.push_str(needle);
                    before
                }
                Err(e) => panic!(
                    "waiting for {needle:?}: {e}\n--- read so far\n{}",
                    self.seen
                ),
            }
        }

        #[track_caller]
        fn send(&mut self, keys: &str) {
            self.p.send(keys).expect("write to the pty");
            self.p.flush().expect("flush the pty");
        }

        /// Read to the end; the exit code.
        #[track_caller]
        fn finish(&mut self) -> i32 {
            match self.p.exp_eof() {
                Ok(rest) => self.seen.push_str(&rest),
                Err(e) => panic!("waiting for the end: {e}\n--- read so far\n{}", self.seen),
            }
            match self.p.process().wait() {
                Ok(WaitStatus::Exited(_, code)) => code,
                other => panic!("djmig ended with {other:?}\n--- read\n{}", self.seen),
            }
        }
    }

    const DOWN: &str = "\x1b[B";
    const ENTER: &str = "\r";

    #[test]
    fn menus_in_a_real_terminal() {
        let s = Scenario::basic();
        let files = s.files();
        let db = s.showmigrations();

        // Choose merge (the last item), then decline the warning.
        let mut t = Tty::spawn(&s, &["resolve"]);
        t.expect("How should blog be fixed?");
        let menu = t.expect("merge: add a merge migration  (last resort)");
        assert!(
            menu.contains("regenerate: delete yours, run makemigrations again  (recommended)"),
            "the recommended item is not marked:\n{}",
            t.seen
        );
        assert!(
            menu.contains("> regenerate"),
            "the recommended item is not the active one:\n{}",
            t.seen
        );
        assert_eq!(t.seen.matches("(recommended)").count(), 1, "{}", t.seen);
        t.send(DOWN);
        t.expect("> reparent");
        t.send(DOWN);
        t.expect("> merge");
        t.send(ENTER);
        t.expect("A merge migration is the last resort");
        t.expect("Add a merge migration anyway?");
        t.send(ENTER);
        let code = t.finish();
        assert_eq!(code, 5, "declining the merge\n--- read\n{}", t.seen);
        assert!(
            t.seen.contains("declined; nothing was changed"),
            "{}",
            t.seen
        );
        assert_same_files(&files, &s.files(), "declined in the terminal");
        assert_eq!(s.showmigrations(), db);
        s.assert_nothing_to_undo();

        // The default everywhere: regenerate, apply, migrate again.
        let mut t = Tty::spawn(&s, &["resolve"]);
        t.expect("How should blog be fixed?");
        t.expect("merge: add a merge migration  (last resort)");
        t.send(ENTER);
        t.expect("Plan for blog (regenerate)");
        t.expect("Apply this plan?");
        // Typed ahead with its Enter: one answer, to this question only.
        t.send("y\r");
        let code = t.finish();
        assert_eq!(code, 0, "the default answers\n--- read\n{}", t.seen);
        assert!(t.seen.contains("Done: one leaf per app"), "{}", t.seen);
        assert!(!s.exists(&format!("{MIG}/0004_post_views.py")));
        assert!(s.exists(&format!("{MIG}/0005_post_views.py")));
        let shown = s.showmigrations();
        assert!(!shown.contains("[ ]"), "not all applied:\n{shown}");
        s.assert_django_happy();
    }
}

// ------------------------------------------------- merge without Django

/// With no Python that can run Django, `--strategy merge` writes the merge
/// migration itself: the same name and content as Django's own
/// `makemigrations --merge` (all but the header's date and time).
#[test]
fn merge_without_a_runnable_django_writes_djangos_file() {
    let s = Scenario::basic();
    // A "virtualenv" whose python cannot run anything, but whose
    // site-packages has Django's version file, as a broken environment would.
    let venv = s.home.join("broken-venv");
    let real_init = Command::new(&s.python)
        .args([
            "-c",
            "import django, sys; sys.stdout.write(django.__file__)",
        ])
        .output()
        .expect("ask Django where it is");
    let real_init = PathBuf::from(String::from_utf8(real_init.stdout).expect("a path"));
    let site = venv.join("lib/python3.99/site-packages/django");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::copy(&real_init, site.join("__init__.py")).unwrap();
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    let fake = venv.join("bin/python");
    std::fs::write(&fake, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.write(".djmig.yml", &format!("python: {}\n", fake.display()));

    let run = s.dj(&["resolve", "--strategy", "merge", "--yes"]);
    run.expect_code(0).stdout_has("Plan for blog (merge)");
    let name = "0005_merge_0004_post_rating_0004_post_views.py";
    let ours = s.read(&format!("{MIG}/{name}"));

    // What Django writes, from the same files.
    s.dj(&["undo"]).expect_code(0);
    assert!(!s.exists(&format!("{MIG}/{name}")));
    s.manage_ok(&["makemigrations", "--merge", "--noinput", "blog"]);
    let django = s.read(&format!("{MIG}/{name}"));
    let header = |t: &str| {
        t.lines()
            .next()
            .unwrap_or("")
            .split(" on ")
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        header(&ours),
        header(&django),
        "header\n{ours}\n---\n{django}"
    );
    let body = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&ours), body(&django), "\n{ours}\n---\n{django}");
}

// ------------------------------------------- django-linear-migrations

/// `max_migration.txt` with git's conflict markers is a conflict; resolve
/// writes the new leaf into it.
#[test]
fn resolve_keeps_max_migration_txt_up_to_date() {
    let s = Scenario::basic();
    let max = format!("{MIG}/max_migration.txt");
    s.write(
        &max,
        "<<<<<<< HEAD\n0004_post_views\n=======\n0004_post_rating\n>>>>>>> main\n",
    );
    s.commit("max_migration.txt as the merge left it");
    let check = s.dj(&["check", "--format", "json"]);
    check.expect_code(1);
    assert!(
        check.json()["conflicts"]["blog"].is_array(),
        "{}",
        check.stdout
    );

    s.dj(&["resolve", "--yes"]).expect_code(0);
    assert_eq!(s.read(&max), "0005_post_views\n");
    s.dj(&["check"]).expect_code(0);
    s.assert_django_happy();
}

/// Told to go on, resolve runs the user's own `git rebase`; when the rebase
/// stops on a text conflict, djmig stops too, saying what to do.
#[test]
fn a_rebase_that_stops_stops_resolve_with_instructions() {
    let s = Scenario::init();
    s.feature_views();
    s.main_rating();
    // Both branches appended a line to models.py: the rebase conflicts.
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(5)
        .stdout_has("has not taken in main")
        .stderr_has("`git rebase main (")
        .stderr_has("stopped")
        .stderr_has("git rebase --continue")
        .stderr_has("djmig resolve");
    assert!(
        s.path(".git/rebase-merge").is_dir() || s.path(".git/rebase-apply").is_dir(),
        "no rebase in progress"
    );
    s.git(&["rebase", "--abort"]);
    assert_eq!(s.git(&["rev-parse", "--abbrev-ref", "HEAD"]), "feature");
}

// ------------------------------------------------ nothing runs project code

/// `resolve --dry-run`, `check`, `graph`, `scan`, `undo --dry-run` and the
/// hooks start no process: the project's configured Python, a `.venv`
/// committed in the repository and the `python3`/`python`/`git` on `PATH`
/// all leave a marker when run. No database file is created either.
#[test]
fn read_only_commands_and_dry_runs_run_no_project_code() {
    let s = Scenario::basic();
    std::fs::remove_file(s.path("db.sqlite3")).expect("remove db.sqlite3");
    let marker = s.home.join("ran");
    let script = |path: &std::path::Path| {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            path,
            format!(
                "#!/bin/sh\necho \"$0 $*\" >> '{}'\nexit 1\n",
                marker.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    };
    let bin = s.home.join("marker-bin");
    for name in ["python3", "python", "git"] {
        script(&bin.join(name));
    }
    script(&s.path(".venv/bin/python"));
    let configured = s.home.join("configured-python");
    script(&configured);
    s.write(".djmig.yml", &format!("python: {}\n", configured.display()));
    let files = s.files();
    let head = s.git(&["rev-parse", "HEAD"]);

    let run = |args: &[&str]| {
        let mut cmd = s.djmig_std();
        cmd.env("PATH", &bin).arg("-C").arg(&s.root).args(args);
        Run::from_output(cmd.output().expect("run djmig"))
    };
    run(&["resolve", "--dry-run"]).expect_code(1);
    run(&["resolve", "--dry-run", "--format", "json"]).expect_code(1);
    run(&["resolve", "--dry-run", "--strategy", "merge"]).expect_code(1);
    run(&["check"]).expect_code(1);
    run(&["check", "--base", "main"]).expect_code(1);
    run(&["graph", "--format", "json"]).expect_code(0);
    run(&["scan"]);
    run(&["undo", "--dry-run"]).expect_code(2);
    run(&["hook", "run", "post-merge"]).expect_code(0);
    run(&["hook", "run", "post-commit"]).expect_code(0);
    run(&["hook", "run", "post-checkout", &head, &head, "1"]).expect_code(0);

    let ran = fs::read_to_string(&marker).unwrap_or_default();
    assert!(ran.is_empty(), "processes were started:\n{ran}");
    assert!(!s.exists("db.sqlite3"), "a database file was created");
    assert_same_files(&files, &s.files(), "read-only commands");
}

/// A base named like an option (a tag fetched by clone, or `base:` in a
/// committed `.djmig.yml`) cannot make djmig's `git rebase` run a command:
/// the rebase is given the commit id, and goes onto that commit.
#[test]
fn a_base_named_like_an_option_injects_nothing() {
    let s = Scenario::init();
    s.feature_views();
    s.main_rating();
    let main = s.git(&["rev-parse", "main"]);
    s.git(&["update-ref", "refs/tags/--exec=touch${IFS}PWNT", &main]);
    s.write(
        ".djmig.yml",
        &format!(
            "python: {}\nbase: \"--exec=touch${{IFS}}PWNT\"\n",
            s.python.display()
        ),
    );
    s.commit("base: a tag");
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(5).stderr_has("stopped");
    assert!(!s.exists("PWNT"), "a command ran");
    let onto = fs::read_to_string(s.path(".git/rebase-merge/onto")).expect("a rebase stopped");
    assert_eq!(onto.trim(), main, "the rebase went onto another commit");
    s.git(&["rebase", "--abort"]);
}
