//! Questions to the project's database, asked through the project's own
//! Django: which database `default` is, what stored data unapplying some
//! migrations would drop, and renaming rows of `django_migrations`; and,
//! within a time limit, which migrations it records as applied.
//!
//! Each is a script beside this file, run with `manage.py shell --command`
//! (no system checks: `shell` runs none). Input goes in as JSON in
//! `DJMIG_INPUT`, as stdin is closed; the answer comes back as one line,
//! `DJMIG-RESULT {"result": …}` or `{"refused": [reasons]}`, so whatever the
//! settings or the apps print besides does not matter. The scripts use
//! Django's own state and introspection for table and column names, so a
//! custom `db_table` or `db_column` is where Django put it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{failure_with, show_argv, tail, Django, Output};
use crate::adapters::process::{Cmd, Timed};
use crate::core::keys::MigrationKey;
use crate::error::{Error, Result};

const DATABASE_INFO_PY: &str = include_str!("database_info.py");
const DATA_AT_RISK_PY: &str = include_str!("data_at_risk.py");
const RENAME_APPLIED_PY: &str = include_str!("rename_applied.py");

/// The Python run by `manage.py shell -c`: the migrations recorded as
/// applied in the default database, as `DJMIG-APPLIED [[app, name], …]`.
/// One expression, no local names: older Djangos run `-c` code where a
/// comprehension cannot see the code's own variables.
const APPLIED_PY: &str = "print('DJMIG-APPLIED ' + __import__('json').dumps(sorted(map(list, \
    __import__('django.db.migrations.recorder', fromlist=['MigrationRecorder']).MigrationRecorder(\
    __import__('django.db', fromlist=['connections']).connections['default']).applied_migrations()))))";

/// The environment variable a script reads its input from.
const INPUT_VAR: &str = "DJMIG_INPUT";
/// The start of a script's answer line.
const MARK: &str = "DJMIG-RESULT ";

/// The project's `default` database, as its settings name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseInfo {
    /// Django's vendor: `sqlite`, `postgresql`, `mysql`, `oracle`, or a
    /// third-party backend's.
    pub vendor: String,
    /// `NAME` from the settings (empty when unset).
    pub name: String,
    /// `HOST` from the settings (empty when unset).
    pub host: String,
    /// `PORT` from the settings (empty when unset).
    pub port: String,
    /// SQLite's database file, absolute; `None` for other vendors, an
    /// in-memory database or a `file:` URI.
    pub sqlite_path: Option<PathBuf>,
    /// For messages, never with a password: `SQLite database
    /// /srv/app/db.sqlite3`, `PostgreSQL database "shop" on db.internal,
    /// port 5432`.
    pub display: String,
}

/// Stored data that unapplying a migration would drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataAtRisk {
    pub migration: MigrationKey,
    /// The operation whose reversal drops it, summarised as djmig
    /// summarises operations: `AddField blog.post.views`,
    /// `CreateModel blog.Note`.
    pub operation: String,
    /// The table, as Django named it.
    pub table: String,
    /// The column AddField added; `None` when the whole table goes
    /// (CreateModel, or a many-to-many field's table).
    pub column: Option<String>,
    /// Rows holding data there: those where the column is not NULL, or all
    /// of the table's rows.
    pub rows: u64,
}

/// What a script printed on its answer line.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reply<T> {
    Result(T),
    /// The script changed nothing, for these reasons.
    Refused(Vec<String>),
}

/// `database_info.py`'s answer.
#[derive(Debug, Deserialize)]
struct Settings {
    vendor: String,
    display_name: String,
    name: String,
    host: String,
    port: String,
    sqlite_path: Option<PathBuf>,
}

impl Django {
    /// The migrations recorded as applied in the project's database.
    ///
    /// Not `showmigrations`: it lists the migrations of the files checked out,
    /// and the ones this check looks for are exactly those that are not.
    /// `limit` is how long it may take (the run's
    /// `DJMIG_DATABASE_CHECK_TIMEOUT`).
    pub fn applied_migrations(&self, limit: Duration) -> Result<Vec<MigrationKey>> {
        let argv = self.manage_argv(&["shell", "--verbosity", "0", "--command", APPLIED_PY]);
        let mut cmd = Cmd::new(&argv[0])
            .args(&argv[1..])
            .env("PYTHONDONTWRITEBYTECODE", "1");
        if let Some(dir) = self
            .manage_py
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            cmd = cmd.dir(dir);
        }
        let Timed {
            success,
            stdout,
            stderr,
        } = cmd
            .output_within(limit)
            .map_err(|e| Error::failed(format!("cannot run {}", self.python.display())).cause(e))?;
        let Some(ok) = success else {
            return Err(Error::failed(format!(
                "the database check took over {} s and was stopped",
                limit.as_secs()
            )));
        };
        if let Some(line) = stdout
            .lines()
            .find_map(|l| l.strip_prefix("DJMIG-APPLIED "))
        {
            let pairs: Vec<(String, String)> = serde_json::from_str(line.trim())
                .map_err(|e| Error::failed("cannot read the applied migrations").cause(e))?;
            return Ok(pairs
                .into_iter()
                .map(|(a, n)| MigrationKey::new(a, n))
                .collect());
        }
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(if ok { "no output" } else { "it failed" })
            .trim()
            .to_string();
        Err(Error::failed(format!(
            "cannot read the applied migrations with manage.py shell: {last}"
        )))
    }

    /// Which database the project's settings name as `default`. Read from
    /// the settings: nothing connects to the database.
    pub fn database(&self) -> Result<DatabaseInfo> {
        let what = "read the project's database settings";
        let s: Settings = match self.ask(what, DATABASE_INFO_PY, &())? {
            Reply::Result(s) => s,
            Reply::Refused(reasons) => return Err(refusal(what, reasons)),
        };
        let display = describe(
            &s.display_name,
            &s.name,
            &s.host,
            &s.port,
            s.sqlite_path.as_deref(),
        );
        Ok(DatabaseInfo {
            vendor: s.vendor,
            name: s.name,
            host: s.host,
            port: s.port,
            sqlite_path: s.sqlite_path,
            display,
        })
    }

    /// The stored data that unapplying `keys` (in the order they would be
    /// unapplied, children first) would drop, in that order: for each
    /// AddField the column's rows that are not NULL, for each CreateModel
    /// the table's rows (and its many-to-many tables'). A table or column
    /// the database does not have is left out. Works while an app has two
    /// leaf migrations. A key the project does not have is an error.
    pub fn data_at_risk(&self, keys: &[MigrationKey]) -> Result<Vec<DataAtRisk>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let what = "tell what unapplying would drop from the database";
        let input: Vec<[&str; 2]> = keys.iter().map(|k| [&*k.app, &*k.name]).collect();
        match self.ask(what, DATA_AT_RISK_PY, &input)? {
            Reply::Result(found) => Ok(found),
            Reply::Refused(reasons) => Err(refusal(what, reasons)),
        }
    }

    /// Rename rows of `django_migrations` from `(app, old)` to
    /// `(app, new)`, in one transaction: an applied migration gets another
    /// name without being unapplied. Refuses, changing nothing, when an old
    /// name is not recorded as applied or a new one already is; a request
    /// that renames a key twice, gives two the same new name or chains
    /// renames is refused before anything runs.
    pub fn rename_applied(&self, renames: &[(MigrationKey, String)]) -> Result<()> {
        if renames.is_empty() {
            return Ok(());
        }
        check_renames(renames)?;
        let what = "rename applied migrations in django_migrations";
        let input: Vec<[&str; 3]> = renames
            .iter()
            .map(|(k, new)| [&*k.app, &*k.name, new.as_str()])
            .collect();
        match self.ask(what, RENAME_APPLIED_PY, &input)? {
            Reply::Result(()) => Ok(()),
            Reply::Refused(reasons) => Err(refusal(what, reasons)
                .cause("nothing was changed")
                .hint("`python manage.py showmigrations` lists what is applied")),
        }
    }

    /// Run `script` with `manage.py shell --command`, `input` as JSON in
    /// `DJMIG_INPUT`; its answer line.
    fn ask<T: DeserializeOwned>(
        &self,
        what: &str,
        script: &str,
        input: &impl Serialize,
    ) -> Result<Reply<T>> {
        let input = serde_json::to_string(input)
            .map_err(|e| Error::failed(format!("cannot {what}")).cause(e))?;
        let argv = self.manage_argv(&["shell", "--verbosity", "0", "--command", script]);
        // For messages: the script is long, and djmig's own.
        let shown: Vec<OsString> = self.manage_argv(&["shell"]);
        let cmd = self.manage_command(&argv).env(INPUT_VAR, input);
        let out = self.run_argv(cmd, &shown)?;
        let shown = show_argv(&shown);
        let answer = out.stdout.lines().rev().find_map(|l| l.strip_prefix(MARK));
        match (out.status_ok, answer) {
            (true, Some(line)) => serde_json::from_str(line.trim()).map_err(|e| {
                Error::failed(format!(
                    "cannot {what}: `{shown}` printed an answer djmig cannot read"
                ))
                .cause(e)
                .cause(tail(line))
            }),
            (true, None) => Err(failure_with(
                format!("cannot {what}: `{shown}` printed no answer"),
                &out,
            )),
            (false, _) => Err(database_hint(
                failure_with(format!("cannot {what}: `{shown}` failed"), &out),
                &out,
            )),
        }
    }
}

/// A script's refusal as an error.
fn refusal(what: &str, reasons: Vec<String>) -> Error {
    reasons
        .into_iter()
        .fold(Error::failed(format!("cannot {what}")), Error::cause)
}

/// A hint when Django could not reach the database.
fn database_hint(err: Error, out: &Output) -> Error {
    if out.stderr.contains("OperationalError") {
        err.hint("djmig asks the database the project's settings name as `default` (DATABASES): is it reachable?")
    } else {
        err
    }
}

/// [`DatabaseInfo::display`]: from the settings, without the password.
fn describe(
    display_name: &str,
    name: &str,
    host: &str,
    port: &str,
    sqlite_path: Option<&Path>,
) -> String {
    if let Some(path) = sqlite_path {
        return format!("{display_name} database {}", path.display());
    }
    let mut s = format!("{display_name} database {name:?}");
    match (host.is_empty(), port.is_empty()) {
        (false, false) => s.push_str(&format!(" on {host}, port {port}")),
        (false, true) => s.push_str(&format!(" on {host}")),
        (true, false) => s.push_str(&format!(" on port {port}")),
        (true, true) => {}
    }
    s
}

/// Refuse a rename request that cannot be right whatever the database
/// holds: an empty or non-module new name, a rename to the same name, a
/// key renamed twice, two renamed to one name, or one rename's new name
/// another's old one (a chain or a swap: rename one at a time).
fn check_renames(renames: &[(MigrationKey, String)]) -> Result<()> {
    let bad = |why: String| Err(Error::failed(format!("cannot rename {why}")));
    let olds: BTreeSet<&MigrationKey> = renames.iter().map(|(k, _)| k).collect();
    let mut seen_old = BTreeSet::new();
    let mut seen_new = BTreeSet::new();
    for (old, new) in renames {
        let new_key = MigrationKey::new(old.app.clone(), new.clone());
        if !is_module_name(new) {
            return bad(format!("{old} to {new:?}: not a migration module name"));
        }
        if *new == old.name {
            return bad(format!("{old} to its own name"));
        }
        if !seen_old.insert(old) {
            return bad(format!("{old} twice"));
        }
        if !seen_new.insert(new_key.clone()) {
            return bad(format!("two migrations to {new_key}"));
        }
        if olds.contains(&new_key) {
            return bad(format!(
                "{old} to {new_key}, which is renamed too: rename one at a time"
            ));
        }
    }
    Ok(())
}

/// Letters, digits and `_`: what Django's loader imports as a migration.
fn is_module_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::django::tests::{fixture_project, linear_project, test_python};

    fn key(app: &str, name: &str) -> MigrationKey {
        MigrationKey::new(app, name)
    }

    /// Run `code` with `manage.py shell`; what it printed.
    #[track_caller]
    fn shell(dj: &Django, code: &str) -> String {
        let out = dj
            .manage(&["shell", "--verbosity", "0", "--command", code])
            .unwrap();
        assert!(out.status_ok, "{code}\n{}\n{}", out.stdout, out.stderr);
        out.stdout
    }

    fn append_settings(dj: &Django, text: &str) {
        let path = dj.root.join("mysite/settings.py");
        let mut settings = std::fs::read_to_string(&path).unwrap();
        settings.push_str(text);
        std::fs::write(&path, settings).unwrap();
    }

    /// The migrations recorded as applied, as `app.name`, sorted.
    fn applied(dj: &Django) -> Vec<String> {
        let code = "from django.db import connection\n\
                    from django.db.migrations.recorder import MigrationRecorder\n\
                    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):\n    \
                        print(app + '.' + name)";
        shell(dj, code).lines().map(str::to_string).collect()
    }

    #[test]
    fn describes_a_database_without_its_password() {
        let sqlite = Path::new("/srv/app/db.sqlite3");
        assert_eq!(
            describe("SQLite", "db.sqlite3", "", "", Some(sqlite)),
            "SQLite database /srv/app/db.sqlite3"
        );
        assert_eq!(
            describe("SQLite", ":memory:", "", "", None),
            "SQLite database \":memory:\""
        );
        assert_eq!(
            describe("PostgreSQL", "shop", "db.internal", "5432", None),
            "PostgreSQL database \"shop\" on db.internal, port 5432"
        );
        assert_eq!(
            describe("PostgreSQL", "shop", "/run/pg", "", None),
            "PostgreSQL database \"shop\" on /run/pg"
        );
        assert_eq!(
            describe("MySQL", "shop", "", "3307", None),
            "MySQL database \"shop\" on port 3307"
        );
        assert_eq!(
            describe("PostgreSQL", "shop", "", "", None),
            "PostgreSQL database \"shop\""
        );
    }

    #[test]
    fn refuses_renames_that_cannot_be_right_before_running_anything() {
        // An interpreter that does not exist: each refusal comes before any
        // attempt to run it.
        let dj = Django {
            python: PathBuf::from("/nonexistent/python"),
            manage_py: PathBuf::from("/nonexistent/manage.py"),
            root: PathBuf::from("/nonexistent"),
        };
        let a = key("blog", "0002_a");
        let b = key("blog", "0002_b");
        let cases: Vec<(Vec<(MigrationKey, String)>, &str)> = vec![
            (
                vec![(a.clone(), "0002 a".into())],
                "not a migration module name",
            ),
            (
                vec![(a.clone(), String::new())],
                "not a migration module name",
            ),
            (vec![(a.clone(), "0002_a".into())], "to its own name"),
            (
                vec![(a.clone(), "0003_x".into()), (a.clone(), "0003_y".into())],
                "blog.0002_a twice",
            ),
            (
                vec![(a.clone(), "0003_x".into()), (b.clone(), "0003_x".into())],
                "two migrations to blog.0003_x",
            ),
            (
                vec![(a.clone(), "0002_b".into()), (b.clone(), "0002_a".into())],
                "rename one at a time",
            ),
        ];
        for (renames, expected) in cases {
            let e = dj.rename_applied(&renames).unwrap_err();
            assert!(e.message.contains(expected), "{renames:?}: {e:?}");
            assert!(!e.message.contains("/nonexistent"), "{e:?}");
        }
        // Nothing to do runs nothing.
        dj.rename_applied(&[]).unwrap();
        assert_eq!(dj.data_at_risk(&[]).unwrap(), []);
        // One rename in another app to the same name is fine until Django
        // is asked.
        let e = dj
            .rename_applied(&[
                (a.clone(), "0003_x".into()),
                (key("shop", "0002_a"), "0003_x".into()),
            ])
            .unwrap_err();
        assert!(e.message.contains("/nonexistent/python"), "{e:?}");
    }

    #[test]
    fn reads_the_sqlite_database_from_the_settings() {
        let Some(py) = test_python() else { return };
        let (dir, dj) = linear_project(&py);
        let root = dir.path().canonicalize().unwrap();
        let db = dj.database().unwrap();
        assert_eq!(db.vendor, "sqlite");
        let path = db.sqlite_path.clone().expect("a database file");
        // Python's working directory is the real path of manage.py's.
        assert_eq!(path, root.join("db.sqlite3"));
        assert!(!path.exists(), "reading the settings created {path:?}");
        assert_eq!(db.display, format!("SQLite database {}", path.display()));

        // A relative NAME is relative to manage.py's directory, as Django
        // opens it.
        append_settings(
            &dj,
            "\nDATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', \
             'NAME': 'data/local.db', 'PASSWORD': 'hunter2'}}\n",
        );
        let db = dj.database().unwrap();
        let path = db.sqlite_path.clone().unwrap();
        assert!(path.ends_with("data/local.db"), "{db:?}");
        assert_eq!(
            path.parent()
                .unwrap()
                .parent()
                .unwrap()
                .canonicalize()
                .unwrap(),
            root
        );
        assert!(!db.display.contains("hunter2"), "{db:?}");

        for name in [":memory:", "file:memdb1?mode=memory&cache=shared"] {
            append_settings(
                &dj,
                &format!(
                    "\nDATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', \
                     'NAME': {name:?}}}}}\n"
                ),
            );
            let db = dj.database().unwrap();
            assert_eq!(db.vendor, "sqlite");
            assert_eq!(db.name, name);
            assert_eq!(db.sqlite_path, None, "{db:?}");
            assert_eq!(db.display, format!("SQLite database {name:?}"));
        }

        // Settings that do not load: Django's error, not a guess.
        append_settings(&dj, "\nDATABASES = {'default': undefined_name}\n");
        let e = dj.database().unwrap_err();
        assert!(
            e.message.contains("read the project's database settings"),
            "{e:?}"
        );
        assert!(e.message.contains("manage.py shell"), "{e:?}");
        assert!(
            e.causes.iter().any(|c| c.contains("undefined_name")),
            "{e:?}"
        );
    }

    /// `fixtures/two_leaves` (blog forked after 0001_initial into
    /// 0002_post_body and 0002_post_summary) with 0001_initial and
    /// 0002_post_body applied and three posts.
    ///
    /// Django's migrate refuses an app with two leaves, so it runs with
    /// 0002_post_summary set aside. The other branch is not applied too:
    /// on SQLite, adding a NOT NULL column rebuilds the table from Django's
    /// state, which would then lack the first branch's column and drop it.
    fn forked_with_one_branch_applied(py: &Path) -> (tempfile::TempDir, Django) {
        let (dir, dj) = fixture_project(py, "two_leaves");
        let summary = dir.path().join("blog/migrations/0002_post_summary.py");
        let aside = dir.path().join("aside.py");
        std::fs::rename(&summary, &aside).unwrap();
        dj.migrate_all().unwrap();
        std::fs::rename(&aside, &summary).unwrap();
        shell(
            &dj,
            "from django.db import connection\n\
             connection.cursor().execute(\"INSERT INTO blog_post (title, body) \
             VALUES ('a', 'x'), ('b', 'y'), ('c', '')\")",
        );
        (dir, dj)
    }

    #[test]
    fn counts_the_data_unapplying_would_drop_on_a_forked_history() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = forked_with_one_branch_applied(&py);
        assert_eq!(applied(&dj), ["blog.0001_initial", "blog.0002_post_body"]);
        assert!(dj.migrate_all().is_err(), "blog has two leaves");
        let keys = [
            key("blog", "0002_post_summary"),
            key("blog", "0002_post_body"),
            key("blog", "0001_initial"),
        ];
        let found = dj.data_at_risk(&keys).unwrap();
        let at = |k: &MigrationKey, op: &str, column: Option<&str>| DataAtRisk {
            migration: k.clone(),
            operation: op.to_string(),
            table: "blog_post".to_string(),
            column: column.map(str::to_string),
            rows: 3,
        };
        // 0002_post_summary's column is not in the database: left out.
        assert_eq!(
            found,
            [
                at(&keys[1], "AddField blog.post.body", Some("body")),
                at(&keys[2], "CreateModel blog.Post", None),
            ]
        );
        // Counting changed nothing.
        assert_eq!(dj.data_at_risk(&keys[1..2]).unwrap(), found[..1]);

        // A migration the project does not have: an error naming it.
        let e = dj
            .data_at_risk(&[key("blog", "0002_post_body"), key("blog", "0009_nope")])
            .unwrap_err();
        assert!(
            e.causes
                .iter()
                .any(|c| c == "the project has no migration blog.0009_nope"),
            "{e:?}"
        );
    }

    #[test]
    fn what_the_database_lacks_is_not_at_risk() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = linear_project(&py);
        // No table at all yet.
        assert_eq!(dj.data_at_risk(&[key("blog", "0001_initial")]).unwrap(), []);
        dj.migrate("blog", "0001_initial").unwrap();
        shell(
            &dj,
            "from django.db import connection\n\
                    connection.cursor().execute(\"INSERT INTO blog_post (title) VALUES ('x')\")",
        );
        // The table, but not the columns of the migrations not applied.
        let keys = [
            key("blog", "0003_post_published"),
            key("blog", "0002_post_body"),
            key("blog", "0001_initial"),
        ];
        let found = dj.data_at_risk(&keys).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].table, "blog_post");
        assert_eq!(found[0].column, None);
        assert_eq!(found[0].rows, 1);
    }

    #[test]
    fn renames_applied_migrations_all_or_nothing() {
        let Some(py) = test_python() else { return };
        let (_dir, dj) = linear_project(&py);
        // No django_migrations table yet.
        let e = dj
            .rename_applied(&[(key("blog", "0001_initial"), "0001_x".into())])
            .unwrap_err();
        assert!(
            e.causes
                .iter()
                .any(|c| c.contains("no django_migrations table")),
            "{e:?}"
        );
        dj.migrate_all().unwrap();
        let before = applied(&dj);
        assert_eq!(
            before,
            [
                "blog.0001_initial",
                "blog.0002_post_body",
                "blog.0003_post_published"
            ]
        );

        dj.rename_applied(&[
            (key("blog", "0003_post_published"), "0003_renamed".into()),
            (key("blog", "0002_post_body"), "0002_renamed".into()),
        ])
        .unwrap();
        assert_eq!(
            applied(&dj),
            [
                "blog.0001_initial",
                "blog.0002_renamed",
                "blog.0003_renamed"
            ]
        );
        // Django sees the files' names as not applied now.
        let m = dj.showmigrations(&["blog"]).unwrap();
        assert_eq!(m["blog"].iter().filter(|(_, a)| *a).count(), 1, "{m:?}");

        // One bad rename stops all of them.
        let e = dj
            .rename_applied(&[
                (key("blog", "0003_renamed"), "0003_post_published".into()),
                (key("blog", "0002_post_body"), "0002_again".into()),
                (key("blog", "0002_renamed"), "0001_initial".into()),
            ])
            .unwrap_err();
        assert!(
            e.causes
                .iter()
                .any(|c| c == "blog.0002_post_body is not recorded as applied"),
            "{e:?}"
        );
        assert!(
            e.causes
                .iter()
                .any(|c| c == "blog.0001_initial is already recorded as applied"),
            "{e:?}"
        );
        assert!(e.causes.iter().any(|c| c == "nothing was changed"), "{e:?}");
        assert_eq!(
            applied(&dj),
            [
                "blog.0001_initial",
                "blog.0002_renamed",
                "blog.0003_renamed"
            ]
        );

        // And back.
        dj.rename_applied(&[
            (key("blog", "0003_renamed"), "0003_post_published".into()),
            (key("blog", "0002_renamed"), "0002_post_body".into()),
        ])
        .unwrap();
        assert_eq!(applied(&dj), before);
        assert!(dj.showmigrations(&["blog"]).unwrap()["blog"]
            .iter()
            .all(|(_, a)| *a));
    }
}
