//! djmig must build exactly the graph Django's own `MigrationLoader` builds.
//!
//! Every folder under `fixtures/` is a small, importable Django project. For
//! each, `tests/django_graph.py` asks a real Django 5.2 for its graph and
//! `djmig graph --format json` reads it statically; the two must agree on
//! everything djmig reports. A new fixture is covered without touching this
//! file. A second test pins down what Django says about each known fixture,
//! so a fixture cannot silently stop testing what it was made for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::support::{self, Django};

type Names = Vec<String>;

/// What `tests/django_graph.py` prints.
#[derive(Debug, Deserialize)]
struct DjangoGraph {
    nodes: Vec<String>,
    edges: Vec<(String, String)>,
    leaves: BTreeMap<String, Names>,
    conflicts: BTreeMap<String, Names>,
    apps: BTreeMap<String, DjangoApp>,
    error: Option<DjangoError>,
    /// With `--all-orders`: the distinct results of every order of the
    /// squashes.
    #[serde(default)]
    outcomes: Vec<Outcome>,
}

/// One result of building the graph (`--all-orders`).
#[derive(Debug, Deserialize)]
struct Outcome {
    error: Option<DjangoError>,
}

#[derive(Debug, Deserialize)]
struct DjangoApp {
    path: Option<String>,
    /// The migrations package lives inside the project.
    project: bool,
    migrated: bool,
}

#[derive(Debug, Deserialize)]
struct DjangoError {
    kind: String,
    message: String,
}

impl DjangoGraph {
    /// Names of the nodes of `app`, sorted.
    fn nodes_of(&self, app: &str) -> Names {
        let mut names: Names = self
            .nodes
            .iter()
            .filter_map(|key| key.split_once('.'))
            .filter(|(label, _)| *label == app)
            .map(|(_, name)| name.to_owned())
            .collect();
        names.sort();
        names
    }

    /// Parents of node `child` ("app.name"), sorted.
    fn parents_of(&self, child: &str) -> Names {
        let mut parents: Names = self
            .edges
            .iter()
            .filter(|(c, _)| c == child)
            .map(|(_, p)| p.clone())
            .collect();
        parents.sort();
        parents
    }

    /// Apps whose migrations package is inside the project and has nodes.
    fn project_apps(&self) -> BTreeSet<String> {
        self.apps
            .iter()
            .filter(|(label, app)| app.project && app.migrated && !self.nodes_of(label).is_empty())
            .map(|(label, _)| label.clone())
            .collect()
    }
}

/// What `djmig graph --format json` prints (schema_version 1).
#[derive(Debug, Deserialize)]
struct DjmigGraph {
    schema_version: u32,
    apps: BTreeMap<String, DjmigApp>,
    #[serde(default)]
    edges: Vec<(String, String)>,
    #[serde(default)]
    conflicts: BTreeMap<String, Names>,
    #[serde(default)]
    errors: Vec<DjmigError>,
}

#[derive(Debug, Deserialize)]
struct DjmigApp {
    source: String,
    #[serde(default)]
    nodes: Names,
    #[serde(default)]
    leaves: Names,
}

#[derive(Debug, Deserialize)]
struct DjmigError {
    kind: String,
    #[serde(default)]
    message: String,
}

/// A finished `djmig graph` run.
struct DjmigRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl DjmigRun {
    fn graph(&self) -> Result<DjmigGraph, String> {
        serde_json::from_str(&self.stdout)
            .map_err(|e| format!("djmig printed no valid graph JSON ({e})"))
    }

    fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- djmig stdout\n{}\n--- djmig stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn django_graph(django: &Django, project: &Path) -> DjangoGraph {
    support::django_graph(django, project)
}

fn djmig_graph(django: &Django, project: &Path) -> DjmigRun {
    let out = support::djmig()
        .arg("-C")
        .arg(project)
        .args(["graph", "--format", "json"])
        // djmig reads django.contrib's migrations from this venv's site-packages.
        .env("VIRTUAL_ENV", &django.prefix)
        .output()
        .expect("run djmig");
    DjmigRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Collects mismatches instead of stopping at the first.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, djmig: T, django: T) {
        if djmig != django {
            self.0
                .push(format!("{what}: djmig {djmig:?}, Django {django:?}"));
        }
    }

    fn fail(&mut self, message: String) {
        self.0.push(message);
    }
}

fn app_of(key: &str) -> &str {
    key.split_once('.').map_or(key, |(app, _)| app)
}

/// djmig's result against Django's, for a fixture Django could load.
fn compare_graphs(django: &DjangoGraph, run: &DjmigRun, problems: &mut Problems) {
    let django_project = django.project_apps();
    let conflicts_in = |apps: &BTreeSet<String>| -> BTreeMap<String, Names> {
        django
            .conflicts
            .iter()
            .filter(|(app, _)| apps.contains(*app))
            .map(|(a, n)| (a.clone(), n.clone()))
            .collect()
    };
    // graph only shows: exit 0 with or without conflicts; the conflicts
    // themselves are compared below.
    problems.check("exit code", run.code, Some(0));

    let ours = match run.graph() {
        Ok(graph) => graph,
        Err(e) => return problems.fail(e),
    };
    problems.check("schema_version", ours.schema_version, 1);

    let our_project: BTreeSet<String> = ours
        .apps
        .iter()
        .filter(|(_, app)| app.source == "project")
        .map(|(label, _)| label.clone())
        .collect();
    for missing in django_project.difference(&our_project) {
        problems.fail(format!(
            "app {missing:?} has migrations in the project but djmig does not report it"
        ));
    }
    let project: BTreeSet<String> = our_project.union(&django_project).cloned().collect();
    problems.check("conflicts", &ours.conflicts, &conflicts_in(&project));

    for (label, app) in &ours.apps {
        match app.source.as_str() {
            "project" => {
                problems.check(
                    &format!("nodes of {label}"),
                    &app.nodes,
                    &django.nodes_of(label),
                );
                let leaves = django.leaves.get(label).cloned().unwrap_or_default();
                problems.check(&format!("leaves of {label}"), &app.leaves, &leaves);
            }
            "environment" => {
                problems.check(
                    &format!("nodes of environment app {label}"),
                    &app.nodes,
                    &django.nodes_of(label),
                );
            }
            other => problems.fail(format!("app {label}: unknown source {other:?}")),
        }
    }

    let in_project = |(child, _): &&(String, String)| project.contains(app_of(child));
    let ours_edges: BTreeSet<&(String, String)> = ours.edges.iter().filter(in_project).collect();
    let django_edges: BTreeSet<&(String, String)> =
        django.edges.iter().filter(in_project).collect();
    for edge in django_edges.difference(&ours_edges) {
        problems.fail(format!("edge {} -> {} is missing", edge.0, edge.1));
    }
    for edge in ours_edges.difference(&django_edges) {
        problems.fail(format!(
            "edge {} -> {} is not in Django's graph",
            edge.0, edge.1
        ));
    }
}

/// djmig must refuse to build a graph Django cannot build, for the same reason.
fn compare_error(error: &DjangoError, run: &DjmigRun, problems: &mut Problems) {
    problems.check("exit code", run.code, Some(3));
    if error.kind == "other" {
        return; // Django failed for a reason djmig has no kind for; exit 3 is all we ask.
    }
    match run.graph() {
        Ok(graph) if graph.errors.iter().any(|e| e.kind == error.kind) => {}
        Ok(graph) => problems.fail(format!(
            "Django fails with {} ({}), djmig reports errors {:?}",
            error.kind,
            error.message,
            graph
                .errors
                .iter()
                .map(|e| (&e.kind, &e.message))
                .collect::<Vec<_>>()
        )),
        Err(e) => problems.fail(e),
    }
}

/// Django's result depends on the order it handles squashes in (the order
/// of a set, new on each run): djmig must refuse the graph, with the error
/// kind of the orders that fail, else as ambiguous.
fn compare_order_dependent(django: &DjangoGraph, run: &DjmigRun, problems: &mut Problems) {
    problems.check("exit code", run.code, Some(3));
    let failing: BTreeSet<&str> = django
        .outcomes
        .iter()
        .filter_map(|o| o.error.as_ref())
        .map(|e| e.kind.as_str())
        .collect();
    if failing.contains("other") {
        return; // exit 3 is all we ask
    }
    let wanted: BTreeSet<&str> = if failing.is_empty() {
        BTreeSet::from(["ambiguous_replacement"])
    } else {
        failing
    };
    match run.graph() {
        Ok(graph)
            if graph
                .errors
                .iter()
                .any(|e| wanted.contains(e.kind.as_str())) => {}
        Ok(graph) => problems.fail(format!(
            "Django's graph depends on the order of the squashes ({} outcomes), djmig reports \
             errors {:?}, none of kind {wanted:?}",
            django.outcomes.len(),
            graph
                .errors
                .iter()
                .map(|e| (&e.kind, &e.message))
                .collect::<Vec<_>>()
        )),
        Err(e) => problems.fail(e),
    }
}

/// `py314_except` holds a migration whose RunPython helper uses PEP 758
/// `except ValueError, TypeError:` (no brackets), valid only from Python 3.14.
/// An older Python cannot even import the file, so the Django we test with
/// reports a syntax error -- but a project running on 3.14 has a perfectly good
/// graph, and djmig, which parses rather than imports, must read it. So on an
/// older Python we check djmig against the fixture's files instead.
fn compare_py314_fallback(project: &Path, run: &DjmigRun, problems: &mut Problems) {
    problems.check("exit code", run.code, Some(0));
    let ours = match run.graph() {
        Ok(graph) => graph,
        Err(e) => return problems.fail(e),
    };
    let mut on_disk: Names = std::fs::read_dir(project.join("blog").join("migrations"))
        .expect("read py314_except migrations")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|file| file.strip_suffix(".py").map(str::to_owned))
        .filter(|name| !name.starts_with('_'))
        .collect();
    on_disk.sort();
    problems.check(
        "migration files",
        on_disk.clone(),
        vec!["0001_initial".into(), "0002_parse_legacy_views".into()],
    );
    match ours.apps.get("blog") {
        Some(blog) => {
            problems.check("source of blog", blog.source.as_str(), "project");
            problems.check("nodes of blog", &blog.nodes, &on_disk);
            problems.check(
                "leaves of blog",
                blog.leaves.clone(),
                vec!["0002_parse_legacy_views".to_owned()],
            );
        }
        None => problems.fail("djmig does not report app blog".into()),
    }
    let edge = (
        "blog.0002_parse_legacy_views".to_owned(),
        "blog.0001_initial".to_owned(),
    );
    if !ours.edges.contains(&edge) {
        problems.fail(format!("edge {} -> {} is missing", edge.0, edge.1));
    }
    problems.check("conflicts", &ours.conflicts, &BTreeMap::new());
    if !ours.errors.is_empty() {
        problems.fail(format!("djmig reports errors: {:?}", ours.errors));
    }
}

#[test]
fn djmig_builds_the_graph_django_builds_for_every_fixture() {
    let django = support::django();
    let mut failures = Vec::new();
    for name in support::fixture_names() {
        let project = support::copy_fixture(&name);
        let expected: DjangoGraph =
            support::django_graph_with(django, project.path(), &["--all-orders"]);
        let run = djmig_graph(django, project.path());
        let mut problems = Problems::default();
        match &expected.error {
            _ if expected.outcomes.len() > 1 => {
                compare_order_dependent(&expected, &run, &mut problems)
            }
            Some(error)
                if name == "py314_except"
                    && error.kind == "syntax"
                    && django.python_version < (3, 14) =>
            {
                compare_py314_fallback(project.path(), &run, &mut problems)
            }
            Some(error) => compare_error(error, &run, &mut problems),
            None => compare_graphs(&expected, &run, &mut problems),
        }
        if !problems.0.is_empty() {
            failures.push(format!(
                "fixture {name}:\n  - {}\n{}",
                problems.0.join("\n  - "),
                run.describe()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "djmig disagrees with Django {} in {} fixture(s):\n\n{}",
        django.django_version,
        failures.len(),
        failures.join("\n\n")
    );
}

/// What Django must say about a fixture for it to test what it was made for.
/// Listed apps/nodes are checked exactly; anything unlisted is not checked.
#[derive(Default)]
struct Intent {
    /// Django's error kind, or None for a graph that loads.
    error: Option<&'static str>,
    /// Exact leaves of these apps.
    leaves: &'static [(&'static str, &'static [&'static str])],
    /// Exact `detect_conflicts()` (checked when `error` is None).
    conflicts: &'static [(&'static str, &'static [&'static str])],
    /// Exact nodes of these apps.
    nodes: &'static [(&'static str, &'static [&'static str])],
    /// Exact parents of these nodes.
    parents: &'static [(&'static str, &'static [&'static str])],
    /// Migrations package of these apps, relative to the project.
    paths: &'static [(&'static str, &'static str)],
    /// Apps Django treats as unmigrated.
    unmigrated: &'static [&'static str],
}

fn intent(name: &str, python: (u32, u32)) -> Option<Intent> {
    let intent = match name {
        "example" => Intent {
            conflicts: &[("orders", &["0004_order_note", "0004_order_status"])],
            leaves: &[
                ("inventory", &["0004_warehouse"]),
                ("customers", &["0002_customer_phone"]),
            ],
            nodes: &[(
                "inventory",
                &["0001_squashed_0003_product_stock", "0004_warehouse"],
            )],
            parents: &[
                ("customers.0001_initial", &["accounts.0001_initial"]),
                (
                    "orders.0002_orderline",
                    &[
                        "inventory.0001_squashed_0003_product_stock",
                        "orders.0001_initial",
                    ],
                ),
            ],
            paths: &[
                ("orders", "shop/orders/migrations"),
                ("customers", "shop/customers/migrations"),
            ],
            ..Intent::default()
        },
        "linear" => Intent {
            leaves: &[("blog", &["0003_post_published"])],
            ..Intent::default()
        },
        "two_leaves" => Intent {
            leaves: &[("blog", &["0002_post_body", "0002_post_summary"])],
            conflicts: &[("blog", &["0002_post_body", "0002_post_summary"])],
            ..Intent::default()
        },
        "squashed_with_originals" | "squashed_without_originals" => Intent {
            nodes: &[(
                "blog",
                &["0001_squashed_0003_post_published", "0004_post_slug"],
            )],
            parents: &[
                (
                    "blog.0004_post_slug",
                    &["blog.0001_squashed_0003_post_published"],
                ),
                (
                    "comments.0001_initial",
                    &["blog.0001_squashed_0003_post_published"],
                ),
            ],
            ..Intent::default()
        },
        "squash_of_squash" => Intent {
            nodes: &[(
                "blog",
                &["0001_squashed_0004_post_slug", "0005_post_rating"],
            )],
            parents: &[
                (
                    "blog.0005_post_rating",
                    &["blog.0001_squashed_0004_post_slug"],
                ),
                (
                    "comments.0001_initial",
                    &["blog.0001_squashed_0004_post_slug"],
                ),
            ],
            ..Intent::default()
        },
        "nonliteral_replaces" => Intent {
            nodes: &[("blog", &["0001_squashed_0003_post_published"])],
            ..Intent::default()
        },
        "run_before_in_app" => Intent {
            leaves: &[("blog", &["0002_post_slug"])],
            parents: &[(
                "blog.0002_post_slug",
                &["blog.0001_initial", "blog.0002_strip_titles"],
            )],
            ..Intent::default()
        },
        "run_before_cross_app" => Intent {
            parents: &[
                (
                    "newsletter.0002_subscriber_name",
                    &["blog.0001_initial", "newsletter.0001_initial"],
                ),
                ("blog.0001_initial", &[]),
            ],
            ..Intent::default()
        },
        "first_latest" => Intent {
            parents: &[
                ("reviews.0001_initial", &["library.0001_initial"]),
                (
                    "reviews.0002_review_rating",
                    &["library.0003_book_year", "reviews.0001_initial"],
                ),
            ],
            ..Intent::default()
        },
        "custom_user" => Intent {
            parents: &[
                ("blog.0001_initial", &["accounts.0001_initial"]),
                (
                    "accounts.0001_initial",
                    &["auth.0012_alter_user_first_name_max_length"],
                ),
                ("accounts.0002_profile", &["accounts.0001_initial"]),
            ],
            ..Intent::default()
        },
        "appconfig_label" => Intent {
            nodes: &[("coreapp", &["0001_initial"]), ("core_app", &[])],
            paths: &[("coreapp", "core_app/migrations")],
            parents: &[("blog.0001_initial", &["coreapp.0001_initial"])],
            ..Intent::default()
        },
        "migration_modules" => Intent {
            paths: &[("blog", "blog/db_migrations")],
            nodes: &[("blog", &["0001_initial", "0002_post_body"])],
            parents: &[("comments.0001_initial", &["blog.0002_post_body"])],
            ..Intent::default()
        },
        "unmigrated_app" => Intent {
            unmigrated: &["legacy"],
            nodes: &[("legacy", &[]), ("blog", &["0001_initial"])],
            parents: &[("blog.0001_initial", &[])],
            ..Intent::default()
        },
        "helper_migrations_pkg" => Intent {
            nodes: &[("utils", &[])],
            leaves: &[("blog", &["0003_copy_title_to_headline"])],
            ..Intent::default()
        },
        "missing_dependency" => Intent {
            error: Some("node_not_found"),
            ..Intent::default()
        },
        "cycle" => Intent {
            error: Some("circular_dependency"),
            ..Intent::default()
        },
        "syntax_error" => Intent {
            error: Some("syntax"),
            ..Intent::default()
        },
        "bad_migration" => Intent {
            error: Some("bad_migration"),
            ..Intent::default()
        },
        "py314_except" if python < (3, 14) => Intent {
            error: Some("syntax"),
            ..Intent::default()
        },
        "py314_except" => Intent {
            leaves: &[("blog", &["0002_parse_legacy_views"])],
            ..Intent::default()
        },
        // Hostile projects (see tests/it/hostile.rs). Those whose result
        // depends on the order of the squashes are checked there, in every
        // order.
        "hostile_self_replacing_squash" => Intent {
            leaves: &[("blog", &["0003_post_published"])],
            nodes: &[("blog", &["0001_initial", "0003_post_published"])],
            parents: &[(
                "blog.0003_post_published",
                &["blog.0001_squashed_0002_post_body"],
            )],
            ..Intent::default()
        },
        "hostile_dependency_missing_comma"
        | "hostile_dependency_name_none"
        | "hostile_dependency_three_items" => Intent {
            error: Some("node_not_found"),
            ..Intent::default()
        },
        "hostile_dependency_one_item"
        | "hostile_dependency_list_entry"
        | "hostile_dependencies_none"
        | "hostile_migration_class_without_base" => Intent {
            error: Some("invalid_value"),
            ..Intent::default()
        },
        "hostile_repeated_keyword_argument"
        | "hostile_await_outside_function"
        | "hostile_unknown_encoding"
        | "hostile_invalid_utf8" => Intent {
            error: Some("syntax"),
            ..Intent::default()
        },
        "hostile_directory_named_like_a_module" => Intent {
            error: Some("import_error"),
            ..Intent::default()
        },
        "hostile_app_label_with_spaces" | "hostile_empty_app_label" => Intent {
            error: Some("invalid_app_label"),
            ..Intent::default()
        },
        _ => return None,
    };
    Some(intent)
}

fn owned(names: &[&str]) -> Names {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn check_intent(intent: &Intent, graph: &DjangoGraph, problems: &mut Problems) {
    problems.check(
        "error kind",
        graph.error.as_ref().map(|e| e.kind.as_str()),
        intent.error,
    );
    if intent.error.is_some() {
        return;
    }
    let conflicts: BTreeMap<String, Names> = intent
        .conflicts
        .iter()
        .map(|(app, names)| ((*app).to_owned(), owned(names)))
        .collect();
    problems.check("conflicts", &graph.conflicts, &conflicts);
    for (app, names) in intent.leaves {
        problems.check(
            &format!("leaves of {app}"),
            graph.leaves.get(*app).cloned().unwrap_or_default(),
            owned(names),
        );
    }
    for (app, names) in intent.nodes {
        problems.check(
            &format!("nodes of {app}"),
            graph.nodes_of(app),
            owned(names),
        );
    }
    for (child, parents) in intent.parents {
        problems.check(
            &format!("parents of {child}"),
            graph.parents_of(child),
            owned(parents),
        );
    }
    for (app, path) in intent.paths {
        problems.check(
            &format!("path of {app}"),
            graph.apps.get(*app).and_then(|a| a.path.as_deref()),
            Some(*path),
        );
    }
    for app in intent.unmigrated {
        problems.check(
            &format!("{app} is migrated"),
            graph.apps.get(*app).map(|a| a.migrated),
            Some(false),
        );
    }
}

/// Guards the fixtures themselves: each still shows Django doing the thing
/// it was made to exercise. Fixtures without a recorded intent are skipped.
#[test]
fn each_fixture_shows_django_doing_what_it_is_for() {
    let django = support::django();
    let mut failures = Vec::new();
    for name in support::fixture_names() {
        let Some(intent) = intent(&name, django.python_version) else {
            continue;
        };
        let graph = django_graph(django, &support::fixture(&name));
        let mut problems = Problems::default();
        check_intent(&intent, &graph, &mut problems);
        if !problems.0.is_empty() {
            failures.push(format!(
                "fixture {name}:\n  - {}",
                problems.0.join("\n  - ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every fixture is an importable Django project, as `startproject` writes one.
#[test]
fn every_fixture_is_a_django_project() {
    let names = support::fixture_names();
    assert!(
        names.len() >= 20,
        "expected the fixture set, found {names:?}"
    );
    for name in names {
        let manage = support::fixture(&name).join("manage.py");
        let text = std::fs::read_to_string(&manage)
            .unwrap_or_else(|e| panic!("{}: {e}", manage.display()));
        assert!(
            text.contains("os.environ.setdefault('DJANGO_SETTINGS_MODULE'"),
            "{} does not set DJANGO_SETTINGS_MODULE",
            manage.display()
        );
    }
}
