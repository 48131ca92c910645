//! A Django project in a real git repository, for the end-to-end tests of
//! `resolve` and `undo`: migrations written and applied by the real Django
//! (`makemigrations`, `migrate`), on SQLite or on the tests' PostgreSQL
//! server, and Django itself asked afterwards whether the history is sound.
//!
//! The basic story (a developer's day): `fixtures/linear` committed on
//! `main`; on `feature` the developer adds `Post.views` (`0004_post_views`,
//! applied to the local database); meanwhile upstream gains `Post.rating`
//! (`0004_post_rating`); then upstream is taken in — by a merge, a rebase,
//! a pull — and `blog` has two leaves.
//!
//! git, Django and djmig run hermetically: no system or global git
//! configuration, a `HOME` in the temporary directory, fixed identity and
//! dates, no bytecode files.

#![allow(dead_code)] // each test module uses its own subset

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{
    copy_tree, django_python, djmig_std, fixture, git_command, hermetic_git, temp_home, Run,
};

// ---------------------------------------------------------------- helpers

/// The environment of every process a test starts (git, Python, djmig):
/// hermetic git configuration, identity and dates, no bytecode, none of the
/// caller's virtualenv or Django settings.
pub fn hermetic(cmd: &mut Command, home: &Path) {
    hermetic_git(cmd, home);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DJMIG_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("GITHUB_ACTIONS");
}

/// Every file of the project (relative path → bytes), except `.git`, the
/// local database and bytecode caches.
pub type Files = BTreeMap<String, Vec<u8>>;

pub fn collect(dir: &Path, rel: &str, out: &mut Files) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("read dir entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if rel.is_empty() && (name == ".git" || name == "db.sqlite3") || name == "__pycache__" {
            continue;
        }
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ty = entry.file_type().expect("file type");
        if ty.is_dir() {
            collect(&entry.path(), &path, out);
        } else {
            out.insert(path, fs::read(entry.path()).expect("read file"));
        }
    }
}

/// Two snapshots are equal, byte for byte; otherwise a list of what differs.
#[track_caller]
pub fn assert_same_files(before: &Files, after: &Files, what: &str) {
    if before == after {
        return;
    }
    let mut diff = Vec::new();
    for (p, b) in before {
        match after.get(p) {
            None => diff.push(format!("  missing now: {p}")),
            Some(a) if a != b => diff.push(format!(
                "  changed: {p}\n--- before\n{}\n--- after\n{}",
                String::from_utf8_lossy(b),
                String::from_utf8_lossy(a)
            )),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diff.push(format!("  new: {p}"));
    }
    panic!("{what}: the files differ:\n{}", diff.join("\n"));
}

pub const VIEWS: &str = "    views = models.IntegerField(default=0)\n";
pub const RATING: &str = "    rating = models.IntegerField(default=0)\n";

/// models.py once both sides are in: what a developer writes to resolve
/// the text conflict.
pub const MERGED_MODELS: &str = "from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default='')
    published = models.BooleanField(default=False)
    views = models.IntegerField(default=0)
    rating = models.IntegerField(default=0)
";

/// A hand-written data migration: makemigrations cannot write it again.
pub const FILL_VIEWS: &str = "from django.db import migrations


def fill(apps, schema_editor):
    Post = apps.get_model('blog', 'Post')
    Post.objects.filter(views=0).update(views=1)


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0004_post_views'),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
";

/// `notes/migrations/0001_initial.py`: depends on blog's hand-written one.
pub const NOTES_INITIAL: &str = "from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('blog', '0005_fill_views'),
    ]

    operations = [
        migrations.CreateModel(
            name='Note',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
            ],
        ),
    ]
";

pub const MIG: &str = "blog/migrations";

/// The `django_migrations` rows and the columns of every project table.
pub type DatabaseState = (BTreeSet<(String, String)>, BTreeMap<String, Vec<String>>);

/// The database the project runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// `db.sqlite3` in the project, as the fixture has it.
    Sqlite,
    /// A database of its own on the tests' PostgreSQL server.
    Postgres,
}

/// How the project starts.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub db: Db,
    /// A bare `origin` beside it, `main` pushed and tracked.
    pub remote: bool,
    /// django-linear-migrations installed, with `max_migration.txt`.
    pub dlm: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            db: Db::Sqlite,
            remote: true,
            dlm: false,
        }
    }
}

/// A Django project in a git repository (with a bare `origin` beside it
/// unless asked otherwise).
pub struct Scenario {
    _tmp: TempDir,
    /// The temporary directory: also `HOME`.
    pub home: PathBuf,
    /// The repository and Django project root (where manage.py is).
    pub root: PathBuf,
    /// The test Django's Python.
    pub python: PathBuf,
    pub setup: Setup,
}

impl Scenario {
    /// `fixtures/linear` with `.djmig.yml` naming the test Python and a
    /// `.gitignore` for the database, committed on `main` as "init" and
    /// pushed to `origin` (`main` tracks `origin/main`).
    pub fn init() -> Scenario {
        Scenario::init_with(Setup::default())
    }

    /// [`Scenario::init`] with a choice of database, remote and
    /// django-linear-migrations.
    pub fn init_with(setup: Setup) -> Scenario {
        let (tmp, home) = temp_home("djmig-resolve-");
        let root = home.join("project");
        let python = django_python();
        copy_tree(&fixture("linear"), &root);
        let s = Scenario {
            _tmp: tmp,
            home,
            root,
            python,
            setup,
        };
        s.write(".djmig.yml", &format!("python: {}\n", s.python.display()));
        s.write(".gitignore", "db.sqlite3\n__pycache__/\n");
        if setup.db == Db::Postgres {
            let pg = crate::pg::postgres();
            let name = pg.create_database("resolve");
            s.append(
                "mysite/settings.py",
                &format!("\n{}\n", pg.django_settings(&name)),
            );
        }
        if setup.dlm {
            let settings = s.read("mysite/settings.py");
            let patched = settings.replacen(
                "    'blog',\n]",
                "    'blog',\n    'django_linear_migrations',\n]",
                1,
            );
            assert_ne!(settings, patched, "INSTALLED_APPS not found in settings.py");
            s.write("mysite/settings.py", &patched);
            s.write(&format!("{MIG}/max_migration.txt"), "0003_post_published\n");
        }
        s.git(&["init", "-q"]);
        s.git(&["checkout", "-q", "-B", "main"]);
        s.commit("init");
        if setup.remote {
            let origin = s.home.join("origin.git");
            s.git(&["init", "-q", "--bare", origin.to_str().unwrap()]);
            s.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
            s.git(&["push", "-q", "origin", "main"]);
            s.git(&["branch", "-q", "--set-upstream-to", "origin/main"]);
        }
        s
    }

    /// `branch` (from main, or main itself) adds `Post.rating`
    /// (`0004_post_rating`) as upstream would; then `feature` is checked
    /// out again. Nothing is applied to the local database.
    pub fn upstream_rating(&self, branch: &str) {
        if branch == "main" {
            self.git(&["checkout", "-q", "main"]);
        } else {
            self.git(&["checkout", "-q", "-b", branch, "main"]);
        }
        self.append("blog/models.py", RATING);
        self.manage_ok(&["makemigrations", "blog", "-n", "post_rating"]);
        self.commit("rating");
        self.git(&["checkout", "-q", "feature"]);
    }

    /// models.py once both sides are in, as the developer writes it to
    /// settle git's text conflict; `git add`ed.
    pub fn settle_models_by_hand(&self) {
        self.write("blog/models.py", MERGED_MODELS);
        self.git(&["add", "blog/models.py"]);
    }

    /// `git merge <branch>` into feature, stopped on the models.py text
    /// conflict, which the developer settles and adds; the merge is not
    /// concluded (`MERGE_HEAD`). With django-linear-migrations,
    /// max_migration.txt is left as git left it, with conflict markers.
    pub fn merge_stopped(&self, branch: &str) {
        let out = self.try_git(&["merge", "-q", "--no-edit", branch]);
        assert!(
            !out.status.success(),
            "the merge did not stop on a conflict"
        );
        self.settle_models_by_hand();
        assert!(self.path(".git/MERGE_HEAD").is_file());
    }

    /// `git rebase <branch>`, stopped on the models.py conflict, settled
    /// and added by hand; not continued.
    pub fn rebase_stopped(&self, branch: &str) {
        let out = self.try_git(&["rebase", branch]);
        assert!(
            !out.status.success(),
            "the rebase did not stop on a conflict"
        );
        self.settle_models_by_hand();
        if self.setup.dlm {
            self.write(&format!("{MIG}/max_migration.txt"), "0004_post_views\n");
            self.git(&["add", &format!("{MIG}/max_migration.txt")]);
        }
    }

    /// The stopped rebase continued to its end.
    pub fn rebase_continue(&self) {
        self.git(&["rebase", "--continue"]);
        assert!(!self.path(".git/rebase-merge").exists());
    }

    /// The four project states where developers meet the fork.
    pub fn after_local_merge(db: Db) -> Scenario {
        let s = Scenario::init_with(Setup {
            db,
            remote: false,
            dlm: false,
        });
        s.feature_views();
        s.upstream_rating("upstream-work");
        s.merge_stopped("upstream-work");
        s.git(&["commit", "-q", "--no-edit"]);
        s.assert_conflicted();
        s
    }

    pub fn mid_merge(db: Db, dlm: bool) -> Scenario {
        let s = Scenario::init_with(Setup {
            db,
            remote: false,
            dlm,
        });
        s.feature_views();
        s.upstream_rating("upstream-work");
        s.merge_stopped("upstream-work");
        s
    }

    pub fn after_rebase(db: Db) -> Scenario {
        let s = Scenario::init_with(Setup {
            db,
            remote: false,
            dlm: false,
        });
        s.feature_views();
        s.upstream_rating("upstream-work");
        s.rebase_stopped("upstream-work");
        s.rebase_continue();
        s.assert_conflicted();
        s
    }

    /// `feature` tracks `origin/main`; a teammate pushed `0004_post_rating`
    /// there; `git pull --rebase` stops on models.py, settled by hand, and
    /// is continued.
    pub fn after_pull_rebase(db: Db) -> Scenario {
        let s = Scenario::init_with(Setup {
            db,
            remote: true,
            dlm: false,
        });
        s.feature_views();
        s.git(&["branch", "-q", "--set-upstream-to", "origin/main"]);
        s.upstream_rating("teammate");
        s.git(&["push", "-q", "origin", "teammate:main"]);
        s.git(&["branch", "-q", "-D", "teammate"]);
        let out = s.try_git(&["pull", "-q", "--rebase"]);
        assert!(!out.status.success(), "the pull did not stop on a conflict");
        s.settle_models_by_hand();
        s.rebase_continue();
        s.assert_conflicted();
        s
    }

    // -------------------------------------------------------- database

    /// `python manage.py shell --command CODE`; its stdout.
    #[track_caller]
    pub fn shell(&self, code: &str) -> String {
        self.manage_ok(&["shell", "--verbosity", "0", "--command", code])
    }

    /// `(app, name)` of every `django_migrations` row of the project's
    /// apps.
    pub fn applied_rows(&self) -> BTreeSet<(String, String)> {
        let out = self.shell(
            "import json\n\
             from django.db import connection\n\
             from django.db.migrations.recorder import MigrationRecorder\n\
             print(json.dumps(sorted(MigrationRecorder(connection).applied_migrations())))",
        );
        let rows: Vec<(String, String)> =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        rows.into_iter()
            .filter(|(a, _)| a == "blog" || a == "notes")
            .collect()
    }

    /// The project's tables and their columns.
    pub fn columns(&self) -> BTreeMap<String, Vec<String>> {
        let out = self.shell(
            "import json\n\
             from django.db import connection as c\n\
             cur = c.cursor()\n\
             print(json.dumps({t: sorted(d.name for d in c.introspection.get_table_description(cur, t)) \
             for t in c.introspection.table_names(cur) if t.startswith(('blog_', 'notes_'))}))",
        );
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// What the database holds of the migrations: rows and columns.
    pub fn database_state(&self) -> DatabaseState {
        (self.applied_rows(), self.columns())
    }

    /// A post with `views = 7`, written with SQL (the models may be ahead
    /// of the database).
    pub fn insert_post_with_views(&self) {
        self.shell(
            "from django.db import connection\n\
             connection.cursor().execute(\"INSERT INTO blog_post (title, body, published, views) \
             VALUES (%s, %s, %s, %s)\", ['kept', '', False, 7])",
        );
    }

    /// The `views` of every post.
    pub fn views(&self) -> Vec<i64> {
        let out = self.shell(
            "import json\n\
             from django.db import connection\n\
             cur = connection.cursor()\n\
             cur.execute('SELECT views FROM blog_post ORDER BY id')\n\
             print(json.dumps([r[0] for r in cur.fetchall()]))",
        );
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// Django's verdict after a resolution that kept upstream's side:
    /// upstream's files as they were, no merge migration, the models match
    /// the migrations, migrate runs, the `django_migrations` rows of the
    /// project's apps are exactly its migration files, and the developer's
    /// field is a column.
    #[track_caller]
    pub fn assert_resolved_on_top_of_upstream(&self, upstream: &Files, run: &Run) {
        for (path, bytes) in upstream {
            assert_eq!(
                &fs::read(self.path(path)).unwrap_or_default(),
                bytes,
                "upstream's {path} changed\n{}",
                run.stdout
            );
        }
        let names = self.migrations(MIG);
        assert!(
            !names.iter().any(|n| n.contains("merge")),
            "a merge migration was written: {names:?}\n{}",
            run.stdout
        );
        self.assert_django_happy();
        let rows: BTreeSet<String> = self
            .applied_rows()
            .into_iter()
            .filter(|(a, _)| a == "blog")
            .map(|(_, n)| n)
            .collect();
        let files: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(rows, files, "django_migrations rows against the files");
        let cols = self.columns();
        assert!(
            cols.get("blog_post")
                .is_some_and(|c| c.contains(&"views".to_string())),
            "no views column: {cols:?}"
        );
    }

    /// Upstream's migration files, to compare after a resolution.
    pub fn upstream_files(&self) -> Files {
        let mut out = Files::new();
        let p = format!("{MIG}/0004_post_rating.py");
        out.insert(p.clone(), fs::read(self.path(&p)).expect("upstream's file"));
        out
    }

    /// `feature` (from main) adds `Post.views`: `0004_post_views` by
    /// makemigrations, committed, then applied with migrate.
    pub fn feature_views(&self) {
        self.git(&["checkout", "-q", "-b", "feature"]);
        self.append("blog/models.py", VIEWS);
        self.manage_ok(&["makemigrations", "blog", "-n", "post_views"]);
        self.commit("views");
        self.manage_ok(&["migrate"]);
    }

    /// `main` adds `Post.rating` (`0004_post_rating`) and pushes it; then
    /// `feature` is checked out again.
    pub fn main_rating(&self) {
        self.upstream_rating("main");
        if self.setup.remote {
            self.git(&["push", "-q", "origin", "main"]);
        }
    }

    /// `git merge main` into feature, resolving models.py by hand.
    pub fn merge_main(&self) {
        let out = self.try_git(&["merge", "-q", "--no-edit", "main"]);
        if !out.status.success() {
            self.write("blog/models.py", MERGED_MODELS);
            self.git(&["add", "-A"]);
            self.git(&["commit", "-q", "--no-edit"]);
        }
        assert_eq!(self.read("blog/models.py"), MERGED_MODELS);
    }

    /// The basic scenario: feature (with 0004_post_views applied) has
    /// merged main (0004_post_rating); blog has two leaves.
    pub fn basic() -> Scenario {
        let s = Scenario::init();
        s.feature_views();
        s.main_rating();
        s.merge_main();
        s.assert_conflicted();
        s
    }

    /// Like [`Scenario::basic`], but feature's chain is 0004_post_views
    /// (makemigrations) + 0005_fill_views (hand-written, RunPython), and a
    /// new app `notes` depends on 0005_fill_views; all applied.
    pub fn hand_written() -> Scenario {
        let s = Scenario::init();
        s.git(&["checkout", "-q", "-b", "feature"]);
        s.append("blog/models.py", VIEWS);
        s.manage_ok(&["makemigrations", "blog", "-n", "post_views"]);
        s.write(&format!("{MIG}/0005_fill_views.py"), FILL_VIEWS);
        s.add_notes_app();
        s.commit("views, filled; notes");
        s.manage_ok(&["migrate"]);
        s.main_rating();
        s.merge_main();
        s.assert_conflicted();
        s
    }

    pub fn add_notes_app(&self) {
        let settings = self.read("mysite/settings.py");
        let patched = settings.replacen("    'blog',\n]", "    'blog',\n    'notes',\n]", 1);
        assert_ne!(settings, patched, "INSTALLED_APPS not found in settings.py");
        self.write("mysite/settings.py", &patched);
        self.write("notes/__init__.py", "");
        self.write(
            "notes/apps.py",
            "from django.apps import AppConfig\n\n\n\
             class NotesConfig(AppConfig):\n    \
             default_auto_field = 'django.db.models.BigAutoField'\n    name = 'notes'\n",
        );
        self.write(
            "notes/models.py",
            "from django.db import models\n\n\nclass Note(models.Model):\n    \
             text = models.TextField()\n",
        );
        self.write("notes/migrations/__init__.py", "");
        self.write("notes/migrations/0001_initial.py", NOTES_INITIAL);
    }

    // -------------------------------------------------------- files

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).expect("create parent dir");
        fs::write(&p, content).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    pub fn append(&self, rel: &str, content: &str) {
        let text = self.read(rel);
        self.write(rel, &format!("{text}{content}"));
    }

    #[track_caller]
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    /// The names (without `.py`) of blog's migration files.
    pub fn migrations(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(self.path(dir))
            .expect("read migrations dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter_map(|n| n.strip_suffix(".py").map(str::to_string))
            .filter(|n| n != "__init__")
            .collect();
        v.sort();
        v
    }

    pub fn files(&self) -> Files {
        let mut out = Files::new();
        collect(&self.root, "", &mut out);
        out
    }

    // -------------------------------------------------------- git

    pub fn git_command(&self) -> Command {
        git_command(&self.root, &self.home)
    }

    pub fn try_git(&self, args: &[&str]) -> Output {
        self.git_command().args(args).output().expect("run git")
    }

    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.try_git(args);
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    // -------------------------------------------------------- Django

    /// `python manage.py ARGS` with the test Django.
    pub fn manage(&self, args: &[&str]) -> Output {
        let mut c = Command::new(&self.python);
        c.current_dir(&self.root);
        hermetic(&mut c, &self.home);
        c.arg("manage.py")
            .args(args)
            .arg("--no-color")
            .stdin(Stdio::null())
            .output()
            .expect("run python manage.py")
    }

    #[track_caller]
    pub fn manage_ok(&self, args: &[&str]) -> String {
        let out = self.manage(args);
        assert!(
            out.status.success(),
            "manage.py {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the local database has applied, as Django lists it.
    pub fn showmigrations(&self) -> String {
        self.manage_ok(&["showmigrations", "--list"])
    }

    /// Django agrees that the history is sound: the models match the
    /// migrations, migrate runs, and djmig sees one leaf per app.
    #[track_caller]
    pub fn assert_django_happy(&self) {
        let out = self.manage(&["makemigrations", "--check", "--dry-run"]);
        assert!(
            out.status.success(),
            "makemigrations --check --dry-run exited {}:\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.manage_ok(&["migrate", "--noinput"]);
        self.dj(&["check"]).expect_code(0);
        let shown = self.showmigrations();
        assert!(
            !shown.contains("[ ]"),
            "after migrate something is still unapplied:\n{shown}"
        );
    }

    /// Two leaves in blog, as djmig and Django see them.
    #[track_caller]
    pub fn assert_conflicted(&self) {
        self.dj(&["check"]).expect_code(1);
        let out = self.manage(&["makemigrations", "--check", "--dry-run"]);
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("Conflicting migrations"),
            "Django does not see the conflict:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // -------------------------------------------------------- djmig

    /// The djmig binary as `std::process::Command`, environment as for
    /// [`djmig`] plus the hermetic git settings, in the project root.
    pub fn djmig_std(&self) -> Command {
        let mut c = djmig_std();
        hermetic(&mut c, &self.home);
        c.current_dir(&self.root);
        c
    }

    /// `djmig -C root ARGS` (stdin not a terminal).
    pub fn dj(&self, args: &[&str]) -> Run {
        let mut cmd = self.djmig_std();
        cmd.arg("-C").arg(&self.root).args(args);
        Run::from_output(cmd.output().expect("run djmig"))
    }

    /// A second `undo` has nothing left to undo.
    #[track_caller]
    pub fn assert_nothing_to_undo(&self) {
        self.dj(&["undo"])
            .expect_code(2)
            .stderr_has("nothing to undo");
    }
}

/// The `step` kinds of a JSON resolution, in the order they run.
pub fn step_kinds(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .expect("steps is an array")
        .iter()
        .map(|s| s["step"].as_str().expect("step kind").to_string())
        .collect()
}

/// The `dependencies` line of a migration, for messages.
pub fn dependencies_of(text: &str) -> String {
    let start = text.find("dependencies").expect("a dependencies list");
    let end = text[start..]
        .find(']')
        .map_or(text.len(), |e| start + e + 1);
    text[start..end].to_string()
}

/// `fixtures/linear`'s models.py.
pub const LINEAR_MODELS: &str = "from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default='')
    published = models.BooleanField(default=False)
";

/// A new model upstream adds (another table than the developer's).
pub const TAG_MODEL: &str = "

class Tag(models.Model):
    name = models.CharField(max_length=50)
";

/// blog's three migrations squashed into one.
pub const SQUASH_0001_0003: &str = "from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('blog', '0001_initial'), ('blog', '0002_post_body'), ('blog', '0003_post_published')]

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='Post',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200)),
                ('body', models.TextField(blank=True, default='')),
                ('published', models.BooleanField(default=False)),
            ],
        ),
    ]
";
