//! The project's database, for real: `fixtures/linear` on the throwaway
//! PostgreSQL server of `pg.rs`, migrated by the test Django, and djmig's
//! questions to that database (`djmig::testing::Django`) answered there,
//! checked with psql.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use djmig::testing::MigrationKey;
use djmig::testing::{DataAtRisk, Django};
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

/// djmig's handle on the project's Django.
fn django(project: &Path) -> Django {
    Django {
        python: django_python(),
        manage_py: project.join("manage.py"),
        root: project.to_path_buf(),
    }
}

fn key(name: &str) -> MigrationKey {
    MigrationKey::new("blog", name)
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

#[test]
fn the_database_is_named_without_its_password() {
    let (project, dbname) = linear_on_postgres("info");
    let settings = project.path().join("mysite/settings.py");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str("DATABASES['default']['PASSWORD'] = 'hunter2'\n");
    fs::write(&settings, text).unwrap();
    let pg = postgres();
    let db = django(project.path()).database().unwrap();
    assert_eq!(db.vendor, "postgresql");
    assert_eq!(db.name, dbname);
    assert_eq!(db.host, pg.socket_dir().to_str().unwrap());
    assert_eq!(db.port, pg.port().to_string());
    assert_eq!(db.sqlite_path, None);
    assert_eq!(
        db.display,
        format!(
            "PostgreSQL database \"{dbname}\" on {}, port {}",
            pg.socket_dir().display(),
            pg.port()
        )
    );
    assert!(!db.display.contains("hunter2"), "{db:?}");
}

/// blog.0004_subtitle_tag: a nullable column with a `db_column` of its own,
/// and a model with a `db_table` of its own and a many-to-many field.
const SUBTITLE_TAG: &str = "from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0003_post_published'),
    ]

    operations = [
        migrations.AddField(
            model_name='post',
            name='subtitle',
            field=models.CharField(max_length=100, null=True, db_column='sub_title'),
        ),
        migrations.CreateModel(
            name='Tag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(max_length=50)),
                ('posts', models.ManyToManyField(to='blog.post')),
            ],
            options={'db_table': 'custom_tags'},
        ),
    ]
";

/// blog.0004_post_rating: the other side of a fork, not applied.
const RATING: &str = "from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('blog', '0003_post_published'),
    ]

    operations = [
        migrations.AddField(
            model_name='post',
            name='rating',
            field=models.IntegerField(default=0),
        ),
    ]
";

#[test]
fn data_at_risk_is_counted_where_django_put_it() {
    let (project, dbname) = linear_on_postgres("risk");
    let migrations = project.path().join("blog/migrations");
    fs::write(migrations.join("0004_subtitle_tag.py"), SUBTITLE_TAG).unwrap();
    manage(project.path(), &["migrate", "--noinput"]);
    // Then upstream's migration arrives: blog has two leaves.
    fs::write(migrations.join("0004_post_rating.py"), RATING).unwrap();
    let pg = postgres();
    pg.psql(
        &dbname,
        "INSERT INTO blog_post (title, body, published, sub_title) VALUES \
         ('a', '', true, 'one'), ('b', '', false, NULL), ('c', '', false, 'three');\
         INSERT INTO custom_tags (label) VALUES ('news');\
         INSERT INTO custom_tags_posts (tag_id, post_id) \
         SELECT t.id, p.id FROM custom_tags t, blog_post p WHERE p.title IN ('a', 'b')",
    );

    let dj = django(project.path());
    let keys = [
        key("0004_post_rating"),
        key("0004_subtitle_tag"),
        key("0003_post_published"),
    ];
    let found = dj.data_at_risk(&keys).unwrap();
    let at = |name: &str, operation: &str, table: &str, column: Option<&str>, rows| DataAtRisk {
        migration: key(name),
        operation: operation.to_string(),
        table: table.to_string(),
        column: column.map(str::to_string),
        rows,
    };
    assert_eq!(
        found,
        [
            // 0004_post_rating is not applied: no column, nothing at risk.
            at(
                "0004_subtitle_tag",
                "AddField blog.post.subtitle",
                "blog_post",
                Some("sub_title"),
                2
            ),
            at(
                "0004_subtitle_tag",
                "CreateModel blog.Tag",
                "custom_tags",
                None,
                1
            ),
            at(
                "0004_subtitle_tag",
                "CreateModel blog.Tag",
                "custom_tags_posts",
                None,
                2
            ),
            at(
                "0003_post_published",
                "AddField blog.post.published",
                "blog_post",
                Some("published"),
                3
            ),
        ]
    );
    // Nothing was dropped or changed by counting.
    assert_eq!(
        pg.psql(&dbname, "SELECT count(*) FROM custom_tags_posts"),
        "2"
    );
}

#[test]
fn applied_migrations_are_renamed_in_one_transaction() {
    let (project, dbname) = linear_on_postgres("rename");
    manage(project.path(), &["migrate", "--noinput"]);
    let pg = postgres();
    let applied = || {
        pg.psql(
            &dbname,
            "SELECT string_agg(name, ' ' ORDER BY id) FROM django_migrations WHERE app = 'blog'",
        )
    };
    assert_eq!(applied(), "0001_initial 0002_post_body 0003_post_published");

    let dj = django(project.path());
    dj.rename_applied(&[(key("0003_post_published"), "0004_post_published".into())])
        .unwrap();
    assert_eq!(applied(), "0001_initial 0002_post_body 0004_post_published");

    // One name already applied: nothing changes.
    let e = dj
        .rename_applied(&[
            (key("0004_post_published"), "0003_post_published".into()),
            (key("0002_post_body"), "0001_initial".into()),
        ])
        .unwrap_err();
    assert!(
        e.causes
            .iter()
            .any(|c| c == "blog.0001_initial is already recorded as applied"),
        "{e:?}"
    );
    assert_eq!(applied(), "0001_initial 0002_post_body 0004_post_published");

    dj.rename_applied(&[(key("0004_post_published"), "0003_post_published".into())])
        .unwrap();
    assert_eq!(applied(), "0001_initial 0002_post_body 0003_post_published");
}
