//! The situation of a conflicted app and the plans it allows, on projects
//! built by hand in memory: which strategy is recommended and why, what is
//! refused, and which [`PlanError`] a plan that cannot be made gives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::super::config::Config;
use super::super::graph::{build_graph, BuiltGraph};
use super::super::keys::MigrationKey;
use super::super::load::{load_project, LoadOptions, PlainReader, Project};
use super::super::pyparse::{self, ParsedMigration};
use super::super::tree::{MemTree, SourceTree};
use super::*;

const INITIAL: &str = "from django.db import migrations, models\n\n\
class Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    \
operations = [\n        migrations.CreateModel(name='Post', fields=[('id', models.AutoField(primary_key=True))]),\n    ]\n";

/// A migration of `deps` (`app.name`) whose operations are `ops`.
fn migration(deps: &[&str], ops: &str) -> String {
    let deps: Vec<String> = deps
        .iter()
        .map(|d| {
            let (a, n) = d.split_once('.').unwrap();
            format!("('{a}', '{n}')")
        })
        .collect();
    format!(
        "from django.db import migrations, models\n\n\
         class Migration(migrations.Migration):\n    dependencies = [{}]\n    operations = [\n        {ops}\n    ]\n",
        deps.join(", ")
    )
}

fn add_field(model: &str, field: &str) -> String {
    format!("migrations.AddField(model_name='{model}', name='{field}', field=models.IntegerField(default=0)),")
}

const RUN_PYTHON: &str = "migrations.RunPython(migrations.RunPython.noop),";

/// A project in memory, its graph, and what the caller knows of it.
struct World {
    tree: MemTree,
    project: Project,
    built: BuiltGraph,
    /// Upstream's files.
    base: BTreeSet<String>,
    published: BTreeSet<String>,
    database: Database,
    django_runs: bool,
    rows_at_risk: u64,
    rebuilds_tables: bool,
}

/// Upstream: blog 0001_initial and 0002_theirs (a `rating` field). Ours:
/// blog 0002_ours (a `views` field). Changes are applied to the files
/// before the project is read.
fn world(change: impl Fn(&mut MemTree, &mut BTreeSet<String>)) -> World {
    let mut tree = MemTree::new();
    let mut base = BTreeSet::new();
    let mut up = |t: &mut MemTree, path: &str, text: String| {
        t.add(path, text);
        base.insert(path.to_string());
    };
    up(&mut tree, "blog/__init__.py", String::new());
    up(&mut tree, "blog/migrations/__init__.py", String::new());
    up(&mut tree, "blog/migrations/0001_initial.py", INITIAL.into());
    up(
        &mut tree,
        "blog/migrations/0002_theirs.py",
        migration(&["blog.0001_initial"], &add_field("post", "rating")),
    );
    tree.add(
        "blog/migrations/0002_ours.py",
        migration(&["blog.0001_initial"], &add_field("post", "views")),
    );
    change(&mut tree, &mut base);
    let config = Config::default();
    let project = load_project(
        &tree,
        &LoadOptions {
            config: &config,
            root_name: "",
            env: None,
            reader: &PlainReader,
        },
    );
    let built = build_graph(&project, false);
    assert!(built.errors.is_empty(), "{:?}", built.errors);
    World {
        tree,
        project,
        built,
        base,
        published: BTreeSet::new(),
        database: Database::Known(BTreeSet::new()),
        django_runs: true,
        rows_at_risk: 0,
        rebuilds_tables: false,
    }
}

fn applied(keys: &[&str]) -> Database {
    Database::Known(
        keys.iter()
            .map(|k| {
                let (a, n) = k.split_once('.').unwrap();
                MigrationKey::new(a, n)
            })
            .collect(),
    )
}

impl World {
    fn full(&self, k: &MigrationKey) -> Option<Arc<ParsedMigration>> {
        let m = self.project.migrations.get(k)?;
        let src = self.tree.read(&m.file).ok()?;
        Some(Arc::new(pyparse::parse_migration(&src)))
    }

    fn situation(&self, app: &str) -> Result<Situation, PlanError> {
        let in_base = |f: &str| self.base.contains(f);
        let published = |f: &str| self.published.contains(f);
        let full = |k: &MigrationKey| self.full(k);
        let rows = self.rows_at_risk;
        let data_at_risk = |keys: &[MigrationKey]| -> Vec<DataLoss> {
            keys.iter()
                .map(|k| DataLoss {
                    migration: k.to_string(),
                    operation: "AddField".into(),
                    table: "blog_post".into(),
                    column: Some("views".into()),
                    rows,
                })
                .collect()
        };
        let facts = Facts {
            in_base: &in_base,
            published: &published,
            database: &self.database,
            full: &full,
            django_runs: self.django_runs,
            data_at_risk: &data_at_risk,
            rebuilds_tables: self.rebuilds_tables,
        };
        situation(&self.project, &self.built.graph, app, &facts)
    }

    fn plan(
        &self,
        s: &Situation,
        strategy: Strategy,
        unreadable: Option<&str>,
        dlm: bool,
    ) -> Result<Plan, PlanError> {
        let sources = |f: &str| -> Result<Vec<u8>, String> {
            if Some(f) == unreadable {
                return Err("Permission denied (os error 13)".into());
            }
            self.tree.read(f).map_err(|e| e.to_string())
        };
        let full = |k: &MigrationKey| self.full(k);
        let max_migration = |app: &str| dlm.then(|| format!("{app}/migrations/max_migration.txt"));
        let ctx = PlanContext {
            project: &self.project,
            sources: &sources,
            full: &full,
            merge_file: None,
            database: &self.database,
            max_migration: &max_migration,
        };
        plan(s, strategy, &ctx)
    }
}

fn kinds(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|s| {
            serde_json::to_value(s).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A shop app whose 0002 depends on blog's 0002_ours.
fn shop_depends_on_ours(t: &mut MemTree, base: &mut BTreeSet<String>, ops: &str) {
    for (p, text) in [
        ("shop/__init__.py", String::new()),
        ("shop/migrations/__init__.py", String::new()),
        (
            "shop/migrations/0001_initial.py",
            INITIAL.replace("'Post'", "'Item'"),
        ),
    ] {
        t.add(p, text);
        base.insert(p.to_string());
    }
    t.add(
        "shop/migrations/0002_uses_blog.py",
        migration(&["shop.0001_initial", "blog.0002_ours"], ops),
    );
}

/// One row per situation: what the world is, the recommendation, what is
/// refused, and a word the reason must hold.
#[test]
fn situation_table() {
    let cases: Vec<(&str, World, Strategy, &[Strategy], &str)> = vec![
        (
            "the usual fork",
            world(|_, _| {}),
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "ours published",
            {
                let mut w = world(|_, _| {});
                w.published.insert("blog/migrations/0002_ours.py".into());
                w
            },
            Strategy::Merge,
            &[Strategy::Regenerate, Strategy::Reparent],
            "0002_ours already published",
        ),
        (
            "ours hand-written",
            world(|t, _| {
                t.add(
                    "blog/migrations/0002_ours.py",
                    migration(&["blog.0001_initial"], RUN_PYTHON),
                );
            }),
            Strategy::Reparent,
            &[Strategy::Regenerate],
            "0002_ours has RunPython",
        ),
        (
            "another app's migration depends on ours, written by makemigrations",
            world(|t, b| shop_depends_on_ours(t, b, &add_field("item", "size"))),
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "another app's migration depends on ours and is hand-written",
            world(|t, b| shop_depends_on_ours(t, b, RUN_PYTHON)),
            Strategy::Reparent,
            &[Strategy::Regenerate],
            "0002_uses_blog has RunPython",
        ),
        (
            "ours applied, holding data: re-parenting keeps it",
            {
                let mut w = world(|_, _| {});
                w.database = applied(&["blog.0001_initial", "blog.0002_ours"]);
                w.rows_at_risk = 4;
                w
            },
            Strategy::Reparent,
            &[],
            "4 row(s)",
        ),
        (
            "ours applied, no data: regenerate",
            {
                let mut w = world(|_, _| {});
                w.database = applied(&["blog.0001_initial", "blog.0002_ours"]);
                w
            },
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "ours applied with data, both sides change one field: re-parenting cannot keep it",
            {
                let mut w = world(|t, _| {
                    t.add(
                        "blog/migrations/0002_ours.py",
                        migration(&["blog.0001_initial"], &add_field("post", "rating")),
                    );
                });
                w.database = applied(&["blog.0001_initial", "blog.0002_ours"]);
                w.rows_at_risk = 4;
                w
            },
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "ours applied with data, SQLite rebuilds a table both sides change",
            {
                let mut w = world(|_, _| {});
                w.database = applied(&["blog.0001_initial", "blog.0002_ours"]);
                w.rows_at_risk = 4;
                w.rebuilds_tables = true;
                w
            },
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "ours applied with data, database not asked: the files decide",
            {
                let mut w = world(|_, _| {});
                w.database = Database::NotAsked;
                w.rows_at_risk = 4;
                w
            },
            Strategy::Regenerate,
            &[],
            "makemigrations",
        ),
        (
            "no Python environment runs Django",
            {
                let mut w = world(|_, _| {});
                w.django_runs = false;
                w
            },
            Strategy::Reparent,
            &[Strategy::Regenerate],
            "manage.py",
        ),
        (
            "both leaves came from upstream",
            world(|_, b| {
                b.insert("blog/migrations/0002_ours.py".into());
            }),
            Strategy::Merge,
            &[Strategy::Regenerate, Strategy::Reparent],
            "upstream itself",
        ),
        (
            "no leaf is upstream's: two local lines met",
            world(|_, b| {
                b.remove("blog/migrations/0002_theirs.py");
            }),
            Strategy::Merge,
            &[Strategy::Regenerate, Strategy::Reparent],
            "two local lines",
        ),
    ];
    for (what, w, recommended, refused, word) in cases {
        let s = w
            .situation("blog")
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(s.recommended, recommended, "{what}: {}", s.reason);
        assert_eq!(
            s.refused.keys().copied().collect::<Vec<_>>(),
            refused.to_vec(),
            "{what}: {:?}",
            s.refused
        );
        assert!(s.reason.contains(word), "{what}: {:?}", s.reason);
        // The refused strategies cannot be planned, and say so as a
        // strategy that is not possible.
        for st in refused {
            let e = w.plan(&s, *st, None, false).unwrap_err();
            assert!(
                matches!(&e, PlanError::StrategyNotPossible { strategy, .. } if strategy == st),
                "{what}: {e:?}"
            );
            assert!(e.strategy_not_possible(), "{what}");
        }
        // The recommended one can.
        w.plan(&s, recommended, None, false)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn the_situation_names_ours_theirs_and_dependents() {
    let w = world(|t, b| shop_depends_on_ours(t, b, &add_field("item", "size")));
    let s = w.situation("blog").unwrap();
    let names = |v: &[MigInfo]| v.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    assert_eq!(s.common_ancestor.as_deref(), Some("0001_initial"));
    assert_eq!(names(&s.theirs), ["0002_theirs"]);
    assert_eq!(names(&s.ours), ["0002_ours"]);
    assert_eq!(names(&s.dependents), ["shop.0002_uses_blog"]);
    assert!(
        s.overlaps.contains(&"blog.post".to_string()),
        "{:?}",
        s.overlaps
    );
}

#[test]
fn one_leaf_is_nothing_to_resolve() {
    let w = world(|_, _| {});
    assert_eq!(
        w.situation("shop").unwrap_err(),
        PlanError::NothingToResolve { app: "shop".into() }
    );
}

/// What each strategy plans on the usual fork, with and without
/// django-linear-migrations, and the errors of a plan that cannot be made.
#[test]
fn plan_table() {
    let w = world(|_, _| {});
    let s = w.situation("blog").unwrap();
    let cases: &[(Strategy, bool, &[&str])] = &[
        (
            Strategy::Regenerate,
            false,
            &["delete", "makemigrations", "verify"],
        ),
        (
            Strategy::Regenerate,
            true,
            &[
                "delete",
                "write_max_migration",
                "makemigrations",
                "write_max_migration",
                "check",
                "verify",
            ],
        ),
        (Strategy::Reparent, false, &["write", "verify"]),
        (
            Strategy::Reparent,
            true,
            &["write", "write_max_migration", "check", "verify"],
        ),
        (Strategy::Merge, false, &["makemigrations_merge", "verify"]),
        (
            Strategy::Merge,
            true,
            &[
                "makemigrations_merge",
                "write_max_migration",
                "check",
                "verify",
            ],
        ),
    ];
    for (strategy, dlm, want) in cases {
        let p = w.plan(&s, *strategy, None, *dlm).unwrap();
        assert_eq!(
            kinds(&assemble(&[p], None)),
            *want,
            "{strategy:?} dlm={dlm}"
        );
    }

    // A file that cannot be read is an I/O error, not a strategy refused.
    let e = w
        .plan(
            &s,
            Strategy::Reparent,
            Some("blog/migrations/0002_ours.py"),
            false,
        )
        .unwrap_err();
    assert_eq!(
        e,
        PlanError::Io {
            file: "blog/migrations/0002_ours.py".into(),
            why: "Permission denied (os error 13)".into()
        }
    );
    assert!(!e.strategy_not_possible());

    // A dependency djmig cannot rewrite statically.
    let w2 = world(|t, _| {
        t.add(
            "blog/migrations/0002_ours.py",
            "from django.db import migrations\n\nPARENT = ('blog', '0001_initial')\n\n\
             class Migration(migrations.Migration):\n    dependencies = [PARENT]\n    operations = []\n",
        );
    });
    let s2 = w2.situation("blog").unwrap();
    let e = w2.plan(&s2, Strategy::Reparent, None, false).unwrap_err();
    assert!(
        matches!(&e, PlanError::Rewrite { file, .. } if file == "blog/migrations/0002_ours.py"),
        "{e:?}"
    );

    // Upstream with no leaf to follow, and a new name that is taken.
    let mut lone = s.clone();
    lone.theirs.clear();
    assert_eq!(
        w.plan(&lone, Strategy::Reparent, None, false).unwrap_err(),
        PlanError::NoUpstreamLeaf { app: "blog".into() }
    );
    let w3 = world(|t, _| {
        t.add(
            "blog/migrations/0003_ours.py",
            migration(&["blog.0002_theirs"], &add_field("post", "likes")),
        );
    });
    let mut taken = s.clone();
    taken.refused = BTreeMap::new();
    assert_eq!(
        w3.plan(&taken, Strategy::Reparent, None, false)
            .unwrap_err(),
        PlanError::NameTaken {
            from: "0002_ours".into(),
            to: "0003_ours".into()
        }
    );

    // Deleting or renaming with the database unknown.
    let mut w4 = world(|_, _| {});
    w4.database = Database::Unknown("no Django".into());
    let e = w4.plan(&s, Strategy::Regenerate, None, false).unwrap_err();
    assert!(matches!(e, PlanError::DatabaseUnknown { .. }), "{e:?}");
}
