//! `djmig resolve` wherever the developer stands when the fork shows: after
//! a local `git merge` (no remote), in the middle of one, after a `git
//! rebase` onto a local branch, after `git pull --rebase`, in the middle of
//! a rebase, in a django-linear-migrations project — on SQLite and on a
//! real PostgreSQL server, each starting with the developer's migration
//! applied, and never with `--base`. Then `djmig undo`, the database
//! included, and the developer's local data.

use crate::scenario::*;

/// `resolve --yes` with no `--base` regenerates or re-parents the
/// developer's side, and Django agrees afterwards.
fn resolve_keeps_upstream(s: &Scenario) -> crate::support::Run {
    let upstream = s.upstream_files();
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0).stdout_has("Done: one leaf per app");
    assert!(
        !run.stdout.contains("(merge)") && !run.stdout.contains("makemigrations --merge"),
        "a merge migration was planned:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(regenerate)") || run.stdout.contains("(reparent)"),
        "{}",
        run.stdout
    );
    s.assert_resolved_on_top_of_upstream(&upstream, &run);
    run
}

// ------------------------------------------------------ a local merge

fn after_a_local_merge(db: Db) {
    let s = Scenario::after_local_merge(db);
    let run = resolve_keeps_upstream(&s);
    run.stdout_has("HEAD is a merge commit")
        .stdout_has("upstream-work");
}

#[test]
fn after_a_local_merge_sqlite() {
    after_a_local_merge(Db::Sqlite);
}

#[test]
fn after_a_local_merge_postgres() {
    after_a_local_merge(Db::Postgres);
}

// ------------------------------------------------------ mid-merge

fn in_the_middle_of_a_merge(db: Db, dlm: bool) {
    let s = Scenario::mid_merge(db, dlm);
    s.assert_conflicted();
    let run = resolve_keeps_upstream(&s);
    run.stdout_has("being merged")
        .stdout_has("conclude the merge");
    if dlm {
        let leaf = s.migrations(MIG).into_iter().max().expect("migrations");
        assert_eq!(
            s.read(&format!("{MIG}/max_migration.txt")),
            format!("{leaf}\n")
        );
        s.manage_ok(&["check"]);
    }
    // The developer concludes the merge; the history is sound.
    s.git(&["add", "-A"]);
    s.git(&["commit", "-q", "--no-edit"]);
    s.dj(&["check"]).expect_code(0);
}

#[test]
fn in_the_middle_of_a_merge_sqlite() {
    in_the_middle_of_a_merge(Db::Sqlite, false);
}

#[test]
fn in_the_middle_of_a_merge_postgres() {
    in_the_middle_of_a_merge(Db::Postgres, false);
}

/// django-linear-migrations: max_migration.txt conflicts on every such
/// merge, and the project's system checks (dlm.E005) fail until it is
/// settled; djmig settles it as a step of the plan.
#[test]
fn django_linear_migrations_mid_merge_sqlite() {
    in_the_middle_of_a_merge(Db::Sqlite, true);
}

#[test]
fn django_linear_migrations_mid_merge_postgres() {
    in_the_middle_of_a_merge(Db::Postgres, true);
}

// ------------------------------------------------------ rebases

fn after_a_rebase(db: Db) {
    let s = Scenario::after_rebase(db);
    resolve_keeps_upstream(&s).stdout_has("you just rebased onto it");
}

#[test]
fn after_a_rebase_onto_a_local_branch_sqlite() {
    after_a_rebase(Db::Sqlite);
}

#[test]
fn after_a_rebase_onto_a_local_branch_postgres() {
    after_a_rebase(Db::Postgres);
}

fn after_a_pull_rebase(db: Db) {
    let s = Scenario::after_pull_rebase(db);
    resolve_keeps_upstream(&s).stdout_has("you just rebased onto it");
}

#[test]
fn after_git_pull_rebase_sqlite() {
    after_a_pull_rebase(Db::Sqlite);
}

#[test]
fn after_git_pull_rebase_postgres() {
    after_a_pull_rebase(Db::Postgres);
}

/// Stopped on a text conflict, models.py settled and `git add`ed: the
/// files git staged for the rebase are not "uncommitted changes".
#[test]
fn in_the_middle_of_a_rebase_without_allow_dirty() {
    let s = Scenario::init_with(Setup {
        remote: false,
        ..Setup::default()
    });
    s.feature_views();
    s.upstream_rating("upstream-work");
    s.rebase_stopped("upstream-work");
    s.assert_conflicted();
    let run = resolve_keeps_upstream(&s);
    run.stdout_has("rebase in progress")
        .stdout_has("git rebase --continue");
    s.git(&["add", "-A"]);
    s.rebase_continue();
    s.dj(&["check"]).expect_code(0);
}

// ------------------------------------------------------ undo

/// `undo` after a resolution: every file byte for byte, and the
/// `django_migrations` rows and the table columns as before `resolve`.
fn undo_gives_back_files_and_database(db: Db) {
    let s = Scenario::after_local_merge(db);
    let files = s.files();
    let state = s.database_state();
    resolve_keeps_upstream(&s);
    assert_ne!(
        s.database_state(),
        state,
        "resolve changed nothing in the database"
    );
    s.dj(&["undo", "--yes"])
        .expect_code(0)
        .stdout_has("Undone.");
    assert_same_files(&files, &s.files(), "undo");
    assert_eq!(s.database_state(), state, "the database after undo");
    s.assert_nothing_to_undo();
}

#[test]
fn undo_gives_back_files_and_database_sqlite() {
    undo_gives_back_files_and_database(Db::Sqlite);
}

#[test]
fn undo_gives_back_files_and_database_postgres() {
    undo_gives_back_files_and_database(Db::Postgres);
}

// ------------------------------------------------------ unknown database

/// The local database cannot be asked (here: its file is a directory):
/// no migration is deleted or renamed; exit 5 naming the cause.
/// `--no-database` says it does not matter.
#[test]
fn unknown_database_state_deletes_nothing() {
    let s = Scenario::after_local_merge(Db::Sqlite);
    std::fs::remove_file(s.path("db.sqlite3")).expect("remove db.sqlite3");
    std::fs::create_dir(s.path("db.sqlite3")).expect("db.sqlite3 as a directory");
    let files = s.files();
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(5)
        .stderr_has("cannot tell which of blog's migrations are applied")
        .stderr_has("--no-database");
    assert_same_files(&files, &s.files(), "refused for an unknown database");
    s.assert_nothing_to_undo();

    s.dj(&["resolve", "--yes", "--no-database"])
        .expect_code(0)
        .stdout_has("Done: one leaf per app");
    assert!(!s.exists(&format!("{MIG}/0004_post_views.py")));
}

// ------------------------------------------------------ local data

/// SQLite: regenerate drops the developer's column (said before, with the
/// number of rows), and `undo` gives the database back byte for byte.
#[test]
fn local_data_survives_resolve_and_undo_on_sqlite() {
    let s = Scenario::init_with(Setup {
        remote: false,
        ..Setup::default()
    });
    s.feature_views();
    s.insert_post_with_views();
    s.upstream_rating("upstream-work");
    s.merge_stopped("upstream-work");
    s.git(&["commit", "-q", "--no-edit"]);
    let db = std::fs::read(s.path("db.sqlite3")).expect("db");
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0)
        .stdout_has("blog_post.views, which holds values in 1 row(s)")
        .stdout_has("copied into the journal");
    s.dj(&["undo", "--yes"]).expect_code(0);
    assert_eq!(s.views(), [7], "the value after undo");
    assert_eq!(std::fs::read(s.path("db.sqlite3")).expect("db"), db);
}

/// PostgreSQL, both sides adding a column to one table: re-parenting the
/// applied migration keeps its column and values — no unapply — by
/// applying upstream's beneath it and renaming its django_migrations row;
/// undo reverses that too.
#[test]
fn reparent_keeps_applied_data_without_unapplying_postgres() {
    let s = Scenario::init_with(Setup {
        db: Db::Postgres,
        remote: false,
        ..Setup::default()
    });
    s.feature_views();
    s.insert_post_with_views();
    s.upstream_rating("upstream-work");
    s.merge_stopped("upstream-work");
    s.git(&["commit", "-q", "--no-edit"]);
    let files = s.files();
    let state = s.database_state();
    let upstream = s.upstream_files();
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0)
        .stdout_has("recommended: reparent")
        .stdout_has("hold data in 1 row(s)")
        .stdout_has("rename in django_migrations");
    assert!(!run.stdout.contains("unapplies"), "{}", run.stdout);
    assert_eq!(s.views(), [7], "the value after resolve");
    s.assert_resolved_on_top_of_upstream(&upstream, &run);
    assert_eq!(s.views(), [7], "the value after migrate");

    s.dj(&["undo", "--yes"]).expect_code(0);
    assert_same_files(&files, &s.files(), "undo");
    assert_eq!(s.database_state(), state, "the database after undo");
    assert_eq!(s.views(), [7], "the value after undo");
}

/// SQLite rebuilds a table to change it, so re-parenting keeps the rows
/// there when upstream changed another table (a new model).
#[test]
fn reparent_keeps_applied_data_on_sqlite_when_upstream_changes_another_table() {
    let s = Scenario::init_with(Setup {
        remote: false,
        ..Setup::default()
    });
    s.feature_views();
    s.insert_post_with_views();
    s.git(&["checkout", "-q", "-b", "upstream-work", "main"]);
    s.append("blog/models.py", TAG_MODEL);
    s.manage_ok(&["makemigrations", "blog", "-n", "tag"]);
    s.commit("tag");
    s.git(&["checkout", "-q", "feature"]);
    let out = s.try_git(&["merge", "-q", "--no-edit", "upstream-work"]);
    if !out.status.success() {
        s.write(
            "blog/models.py",
            &format!("{}{VIEWS}{TAG_MODEL}", LINEAR_MODELS),
        );
        s.git(&["add", "-A"]);
        s.git(&["commit", "-q", "--no-edit"]);
    }
    s.assert_conflicted();
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0)
        .stdout_has("recommended: reparent")
        .stdout_has("rename in django_migrations");
    assert!(!run.stdout.contains("unapplies"), "{}", run.stdout);
    assert_eq!(s.views(), [7]);
    s.assert_django_happy();
    assert_eq!(s.views(), [7]);
}

// ------------------------------------------------------ smaller things

/// With `--format json`, stdout is one JSON document and nothing else.
#[test]
fn json_output_is_one_document() {
    let s = Scenario::after_local_merge(Db::Sqlite);
    let run = s.dj(&["resolve", "--yes", "--format", "json"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["outcome"]["status"], "done", "{j:#}");
    assert_eq!(j["upstream_how"], "merge_commit", "{j:#}");
    assert_eq!(j["situations"][0]["ours"][0]["name"], "0004_post_views");
    assert_eq!(j["situations"][0]["theirs"][0]["name"], "0004_post_rating");
    run.stderr_has("Upstream is");
}

/// models.py still holding git's conflict markers: nothing runs.
#[test]
fn conflict_markers_left_in_models_stop_it() {
    let s = Scenario::init_with(Setup {
        remote: false,
        ..Setup::default()
    });
    s.feature_views();
    s.upstream_rating("upstream-work");
    let out = s.try_git(&["merge", "-q", "--no-edit", "upstream-work"]);
    assert!(!out.status.success());
    assert!(s.read("blog/models.py").contains("<<<<<<<"));
    let files = s.files();
    s.dj(&["resolve", "--yes"])
        .expect_code(2)
        .stderr_has("conflict markers: blog/models.py")
        .stderr_has("git add");
    assert_same_files(&files, &s.files(), "refused for conflict markers");
    s.assert_nothing_to_undo();
}

/// A stale max_migration.txt in an app with one leaf (upstream squashed
/// its migrations): `check` fails on it, and `resolve` settles it.
#[test]
fn a_stale_max_migration_txt_is_settled() {
    let s = Scenario::init_with(Setup {
        remote: false,
        dlm: true,
        ..Setup::default()
    });
    s.write(
        &format!("{MIG}/0001_squashed_0003_post_published.py"),
        SQUASH_0001_0003,
    );
    s.commit("squash");
    s.dj(&["check"]).expect_code(1);
    let run = s.dj(&["resolve", "--yes"]);
    run.expect_code(0).stdout_has("settle max_migration.txt");
    assert_eq!(
        s.read(&format!("{MIG}/max_migration.txt")),
        "0001_squashed_0003_post_published\n"
    );
    s.dj(&["check"]).expect_code(0);
    s.manage_ok(&["check"]);
}

/// `feature` tracks its own remote copy (`git push -u origin feature`):
/// that copy is neither upstream nor a publication; `main` is upstream and
/// regenerating is possible.
#[test]
fn a_branch_tracking_its_own_remote_copy() {
    let s = Scenario::init();
    s.feature_views();
    s.git(&["push", "-q", "-u", "origin", "feature"]);
    s.main_rating();
    s.merge_main();
    s.assert_conflicted();
    let run = resolve_keeps_upstream(&s);
    assert!(!run.stdout.contains(", published]"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("Upstream is origin/feature"),
        "{}",
        run.stdout
    );
}
