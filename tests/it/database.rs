//! The project's database, for real: `fixtures/linear` on the throwaway
//! PostgreSQL server of `pg.rs`, migrated by the test Django, and djmig's
//! questions to that database (`djmig::django::Django`) answered there.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::pg::postgres;
use crate::support::{copy_fixture, django_python};

/// `fixtures/linear` in a temporary directory, its settings pointing at a
/// new database of its own on the test server; the database's name.
fn linear_on_postgres(prefix: &str) -> (TempDir, String) {
    let project = copy_fixture("linear");
    let pg = postgres();
    let dbname = pg.create_database(prefix);
    let settings = project.path().join("mysite/settings.py");
    let mut text = fs::read_to_string(&settings).expect("read settings.py");
    text.push_str(&pg.django_settings(&dbname));
    fs::write(&settings, text).expect("write settings.py");
    (project, dbname)
}

/// `python manage.py ARGS` in `project` with the test Django; stdout.
#[track_caller]
fn manage(project: &Path, args: &[&str]) -> String {
    let out = Command::new(django_python())
        .current_dir(project)
        .arg("manage.py")
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .output()
        .expect("run python manage.py");
    assert!(
        out.status.success(),
        "manage.py {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tables of the project's database, as Django's introspection lists
/// them, with the vendor first: `postgresql blog_post django_migrations`.
fn tables(project: &Path) -> Vec<String> {
    let code = "from django.db import connection\n\
                print(connection.vendor, *sorted(connection.introspection.table_names()))";
    manage(project, &["shell", "--verbosity", "0", "--command", code])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn migrate_creates_the_tables_in_a_database_of_its_own() {
    let (project, dbname) = linear_on_postgres("migrate");
    assert_eq!(tables(project.path()), ["postgresql"]);
    manage(project.path(), &["migrate", "--noinput"]);
    assert_eq!(
        tables(project.path()),
        ["postgresql", "blog_post", "django_migrations"]
    );
    // The server agrees, without Django.
    let columns = postgres().psql(
        &dbname,
        "SELECT string_agg(column_name, ' ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name = 'blog_post'",
    );
    assert_eq!(columns, "id title body published");
}

#[test]
fn parallel_tests_each_get_a_database_of_their_own() {
    // Two projects migrated at the same time, to different points.
    let run = |target: &'static str| {
        std::thread::spawn(move || {
            let (project, dbname) = linear_on_postgres("parallel");
            manage(project.path(), &["migrate", "--noinput", "blog", target]);
            (project, dbname)
        })
    };
    let first = run("0001_initial");
    let second = run("0003_post_published");
    let (_p1, db1) = first.join().unwrap();
    let (_p2, db2) = second.join().unwrap();
    assert_ne!(db1, db2);
    let pg = postgres();
    let applied = "SELECT string_agg(name, ' ' ORDER BY name) FROM django_migrations";
    assert_eq!(pg.psql(&db1, applied), "0001_initial");
    assert_eq!(
        pg.psql(&db2, applied),
        "0001_initial 0002_post_body 0003_post_published"
    );
    let columns = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'blog_post'";
    assert_eq!(pg.psql(&db1, columns), "2");
    assert_eq!(pg.psql(&db2, columns), "4");
}
