use super::*;
use crate::core::discover::{LabelSource, PackageKind};
use crate::core::load::{App, Migration, OddEntry, Origin};
use crate::core::pyparse::PyValue;
use std::sync::Arc;

fn k(s: &str) -> MigrationKey {
    let (a, n) = s.split_once('.').unwrap();
    MigrationKey::new(a, n)
}

/// `("orders.0002", &["orders.0001"], &[replaces], &[run_before])`
type Spec<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);

fn project(specs: &[Spec]) -> Project {
    let mut p = Project::default();
    for (key, deps, reps, rb) in specs {
        let key = k(key);
        p.apps.entry(key.app.clone()).or_insert(App {
            label: key.app.clone(),
            path: format!("{}/migrations", key.app),
            origin: Origin::Project,
            kind: PackageKind::Package,
            label_from: LabelSource::DirName,
        });
        let keys = |v: &[&str]| v.iter().map(|s| k(s)).collect::<Vec<_>>();
        p.migrations.insert(
            key.clone(),
            Migration {
                file: format!("{}/migrations/{}.py", key.app, key.name),
                key,
                origin: Origin::Project,
                parsed: Arc::new(Default::default()),
                dependencies: keys(deps),
                replaces: keys(reps),
                run_before: keys(rb),
                odd: Vec::new(),
            },
        );
    }
    p
}

fn names(v: Vec<MigrationKey>) -> Vec<String> {
    v.into_iter().map(|k| k.to_string()).collect()
}

#[test]
fn two_leaves_conflict() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002_x", &["a.0001"], &[], &[]),
        ("a.0002_y", &["a.0001"], &[], &[]),
        ("b.0001", &[], &[], &[]),
        ("b.0002", &["b.0001"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty());
    assert_eq!(names(b.graph.leaves("a")), vec!["a.0002_x", "a.0002_y"]);
    assert_eq!(detect_conflicts(&b.graph, ["a".to_string()]).len(), 1);
    assert_eq!(
        b.graph.conflicted_apps().into_iter().collect::<Vec<_>>(),
        vec!["a".to_string()]
    );
}

#[test]
fn squash_replaces_present_originals_and_repoints() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002", &["a.0001"], &[], &[]),
        ("a.0001_squashed_0002", &[], &["a.0001", "a.0002"], &[]),
        ("a.0003", &["a.0002"], &[], &[]),
        ("b.0001", &["a.0001"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(
        names(b.graph.app_nodes("a")),
        vec!["a.0001_squashed_0002", "a.0003"]
    );
    assert_eq!(
        names(b.graph.parents(&k("a.0003"))),
        vec!["a.0001_squashed_0002"]
    );
    assert_eq!(
        names(b.graph.parents(&k("b.0001"))),
        vec!["a.0001_squashed_0002"]
    );
    assert_eq!(names(b.graph.leaves("a")), vec!["a.0003"]);
}

/// Django 5.2 loads a squash that lists itself in `replaces`: it drops
/// the squash from `graph.nodes`, but the migrations around it keep
/// their edges to it (so 0003 is no root and 0001 no leaf).
#[test]
fn self_replacing_squash_leaves_the_graph_like_django() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002_b", &["a.0001"], &[], &[]),
        ("a.0001_sq", &[], &["a.0001_sq", "a.0002_b"], &[]),
        ("a.0003", &["a.0002_b"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    let s = &b.graph.app_summaries()["a"];
    assert_eq!(s.nodes, vec!["0001", "0003"]);
    assert_eq!(s.leaves, vec!["0003"]);
    assert_eq!(s.roots, vec!["0001"]);
    assert_eq!(
        b.graph
            .edges()
            .iter()
            .map(|(c, p)| format!("{c}->{p}"))
            .collect::<Vec<_>>(),
        vec!["a.0003->a.0001_sq"]
    );
    assert!(!b.graph.contains(&k("a.0001_sq")));
}

/// Django's cycle check walks `graph.nodes` only: a loop through a
/// squash that replaced itself is none, and 0003 is no leaf (the ghost
/// is its child).
#[test]
fn loop_through_self_replacing_squash_is_no_cycle() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0001_sq", &["a.0003"], &["a.0001_sq"], &[]),
        ("a.0003", &["a.0001_sq"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(names(b.graph.leaves("a")), vec!["a.0001"]);
}

/// A squash that depends on a migration it replaces ends up depending
/// on itself: Django's CircularDependencyError.
#[test]
fn squash_depending_on_what_it_replaces_is_a_cycle() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002", &["a.0001"], &[], &[]),
        ("a.0001_sq", &["a.0002"], &["a.0001", "a.0002"], &[]),
    ]);
    let b = build_graph(&p, false);
    assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
    assert_eq!(b.errors[0].kind, DiagKind::CircularDependency);
    assert!(b.errors[0].message.ends_with("a.0001_sq"), "{:?}", b.errors);
}

/// Django handles squashes in the order of a set, different on each
/// run: when it takes the outer squash first, the inner one is gone and
/// `remove_replaced_nodes` raises NodeNotFoundError. An error whatever
/// the names; the graph shown is the one of the orders that succeed.
#[test]
fn squash_replacing_a_replacing_squash_is_an_error_in_any_name_order() {
    for (inner, outer) in [
        ("a.0001_sq_b", "a.0001_sq_a"),
        ("a.0001_sq_a", "a.0001_sq_b"),
    ] {
        let p = project(&[
            ("a.0001", &[], &[], &[]),
            ("a.0002", &["a.0001"], &[], &[]),
            ("a.0003", &["a.0002"], &[], &[]),
            (inner, &[], &["a.0001", "a.0002"], &[]),
            (outer, &[], &[inner, "a.0003"], &[]),
            ("a.0004", &["a.0003"], &[], &[]),
        ]);
        let b = build_graph(&p, false);
        let errs: Vec<_> = b
            .errors
            .iter()
            .map(|e| (e.kind, e.message.as_str()))
            .collect();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, DiagKind::NodeNotFound);
        assert!(
            errs[0]
                .1
                .contains(&format!("Migration {outer} replaces {inner}")),
            "{errs:?}"
        );
        assert!(
            errs[0].1.contains("Unable to find replacement node"),
            "{errs:?}"
        );
        assert_eq!(
            b.errors[0].file.as_deref(),
            Some(format!("a/migrations/{}.py", &outer[2..]).as_str())
        );
        assert_eq!(
            names(b.graph.app_nodes("a")),
            vec![outer.to_string(), "a.0004".into()]
        );
        assert_eq!(names(b.graph.parents(&k("a.0004"))), vec![outer]);
    }
}

/// Two squashes replacing one migration that is in the graph: its
/// dependents go to whichever squash Django happens to handle first, so
/// Django's leaves change from run to run.
#[test]
fn two_squashes_replacing_one_present_migration_are_ambiguous() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002", &["a.0001"], &[], &[]),
        ("a.0001_sq_x", &[], &["a.0001", "a.0002"], &[]),
        ("a.0001_sq_y", &[], &["a.0002"], &[]),
        ("a.0003", &["a.0002"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    let errs: Vec<_> = b
        .errors
        .iter()
        .map(|e| (e.kind, e.message.as_str()))
        .collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, DiagKind::AmbiguousReplacement);
    assert!(
        errs[0]
            .1
            .starts_with("a.0002 is replaced by both a.0001_sq_x and a.0001_sq_y"),
        "{errs:?}"
    );
    // Replacing the same migrations when they are not in the graph
    // (files gone, nothing depends on them) is harmless.
    let p = project(&[
        ("a.0001_sq_x", &[], &["a.0001", "a.0002"], &[]),
        ("a.0001_sq_y", &[], &["a.0002"], &[]),
    ]);
    assert!(build_graph(&p, false).errors.is_empty());
}

fn odd(p: &mut Project, key: &str, attr: DepAttr, value: PyValue, line: u32) {
    let m = p.migrations.get_mut(&k(key)).unwrap();
    m.odd.push(OddEntry { attr, value, line });
}

fn s(v: &str) -> PyValue {
    PyValue::Str(v.to_owned())
}

/// `('a' '0001')` is one string: Django keys a node by it, and it is
/// missing.
#[test]
fn dependency_that_is_one_string_is_a_missing_node() {
    let mut p = project(&[("a.0001", &[], &[], &[]), ("a.0002", &[], &[], &[])]);
    odd(&mut p, "a.0002", DepAttr::Dependencies, s("a0001"), 7);
    let b = build_graph(&p, true);
    assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
    let e = &b.errors[0];
    assert_eq!(e.kind, DiagKind::NodeNotFound);
    assert!(
        e.message.starts_with(
            "Migration a.0002 dependencies reference nonexistent parent node 'a0001' (one string"
        ),
        "{}",
        e.message
    );
    assert_eq!(
        (e.file.as_deref(), e.line),
        (Some("a/migrations/0002.py"), Some(7))
    );
    // No second leaf: the graph is not trusted, and not a conflict.
    assert_eq!(names(b.graph.leaves("a")), vec!["a.0001", "a.0002"]);
}

/// Entries Django cannot index or hash make it raise while building.
#[test]
fn dependency_entries_django_cannot_index_or_hash_are_invalid() {
    let mut p = project(&[("a.0001", &[], &[], &[])]);
    let t = PyValue::Tuple;
    for (i, v) in [
        t(vec![s("a")]),
        PyValue::None,
        PyValue::List(vec![s("b"), s("0001")]),
        PyValue::Dict(vec![(s("a"), s("b"))]),
    ]
    .into_iter()
    .enumerate()
    {
        odd(&mut p, "a.0001", DepAttr::Dependencies, v, i as u32 + 10);
    }
    odd(
        &mut p,
        "a.0001",
        DepAttr::RunBefore,
        t(vec![s("b"), s("0001"), PyValue::List(vec![])]),
        20,
    );
    let b = build_graph(&p, false);
    let got: Vec<(DiagKind, Option<u32>, &str)> = b
        .errors
        .iter()
        .map(|e| {
            (
                e.kind,
                e.line,
                e.message.split(": Django raises ").nth(1).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (DiagKind::InvalidValue, Some(10), "IndexError: tuple index out of range on it while building the graph; an entry is an (app_label, migration_name) pair of strings"),
            (DiagKind::InvalidValue, Some(11), "TypeError: 'NoneType' object is not subscriptable on it while building the graph; an entry is an (app_label, migration_name) pair of strings"),
            (DiagKind::InvalidValue, Some(12), "TypeError: unhashable type: 'list' on it while building the graph; an entry is an (app_label, migration_name) pair of strings"),
            (DiagKind::InvalidValue, Some(13), "KeyError: 0 on it while building the graph; an entry is an (app_label, migration_name) pair of strings"),
            (DiagKind::InvalidValue, Some(20), "TypeError: unhashable type: 'list' on it while building the graph; an entry is an (app_label, migration_name) pair of strings"),
        ]
    );
}

/// What Django happens to accept: `['a', '__first__']` in app a is
/// skipped before anything hashes it; `('b', '__first__', 'x')` is
/// resolved like `('b', '__first__')`.
#[test]
fn odd_entries_django_accepts_resolve_like_django() {
    let mut p = project(&[
        ("a.0001", &[], &[], &[]),
        ("b.0001", &[], &[], &[]),
        ("b.0002", &["b.0001"], &[], &[]),
    ]);
    odd(
        &mut p,
        "a.0001",
        DepAttr::Dependencies,
        PyValue::List(vec![s("a"), s("__first__")]),
        3,
    );
    let three = PyValue::Tuple(vec![s("b"), s("__latest__"), PyValue::Int("1".into())]);
    odd(&mut p, "a.0001", DepAttr::Dependencies, three, 4);
    let b = build_graph(&p, true);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(names(b.graph.parents(&k("a.0001"))), vec!["b.0002"]);
}

/// A squash may list the same odd value: the missing node is replaced
/// and its dependents point at the squash, as Django re-points them.
#[test]
fn odd_dependency_replaced_by_a_squash_listing_it_goes_to_the_squash() {
    let mut p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0001_sq", &[], &["a.0001"], &[]),
        ("a.0002", &[], &[], &[]),
    ]);
    let v = || PyValue::Tuple(vec![s("a"), s("0001"), PyValue::Bool(true)]);
    odd(&mut p, "a.0002", DepAttr::Dependencies, v(), 5);
    let v1 = PyValue::Tuple(vec![s("a"), s("0001"), PyValue::Int("1".into())]);
    odd(&mut p, "a.0001_sq", DepAttr::Replaces, v1, 6);
    let b = build_graph(&p, true);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(names(b.graph.parents(&k("a.0002"))), vec!["a.0001_sq"]);
    assert_eq!(names(b.graph.leaves("a")), vec!["a.0002"]);
}

#[test]
fn dependency_on_removed_original_goes_to_squash() {
    // The originals' files are gone; a later migration still names one.
    let p = project(&[
        ("a.0001_squashed_0002", &[], &["a.0001", "a.0002"], &[]),
        ("a.0003", &["a.0002"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(
        names(b.graph.parents(&k("a.0003"))),
        vec!["a.0001_squashed_0002"]
    );
}

#[test]
fn first_and_latest_resolve_like_check_key() {
    let p = project(&[
        ("a.0001", &[], &[], &[]),
        ("a.0002", &["a.0001"], &[], &[]),
        ("b.0001", &["a.__first__"], &[], &[]),
        (
            "b.0002",
            &["b.0001", "a.__latest__", "b.__first__"],
            &[],
            &[],
        ),
    ]);
    let b = build_graph(&p, false);
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(names(b.graph.parents(&k("b.0001"))), vec!["a.0001"]);
    assert_eq!(
        names(b.graph.parents(&k("b.0002"))),
        vec!["a.0002", "b.0001"]
    );
}

#[test]
fn run_before_adds_reverse_edge_across_apps() {
    let p = project(&[("a.0001", &[], &[], &[]), ("b.0001", &[], &[], &["a.0001"])]);
    let b = build_graph(&p, false);
    assert_eq!(names(b.graph.parents(&k("a.0001"))), vec!["b.0001"]);
}

#[test]
fn missing_parent_is_reported_with_djangos_wording() {
    let p = project(&[
        ("a.0001", &["a.0000_gone", "b.0001"], &[], &[]),
        ("b.0002", &[], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    let msgs: Vec<&str> = b.errors.iter().map(|e| e.message.as_str()).collect();
    assert!(
        msgs.contains(
            &"Migration a.0001 dependencies reference nonexistent parent node ('a', '0000_gone')"
        ),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(
            &"Migration a.0001 dependencies reference nonexistent parent node ('b', '0001')"
        ),
        "{msgs:?}"
    );
    assert!(b.errors.iter().all(|e| e.kind == DiagKind::NodeNotFound));
}

#[test]
fn cycles_are_all_reported() {
    let p = project(&[
        ("a.0001", &["a.0002"], &[], &[]),
        ("a.0002", &["a.0001"], &[], &[]),
        ("c.0001", &["c.0001"], &[], &[]),
    ]);
    let b = build_graph(&p, false);
    let cyc: Vec<&str> = b
        .errors
        .iter()
        .filter(|e| e.kind == DiagKind::CircularDependency)
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(cyc.len(), 2, "{cyc:?}");
    assert!(cyc[0].contains("a.0001, a.0002"), "{cyc:?}");
    assert!(cyc[1].contains("c.0001"), "{cyc:?}");
}

#[test]
fn external_stub_or_strict_error() {
    let mut p = project(&[("a.0001", &["ext.0001_initial"], &[], &[])]);
    p.external.insert(
        "ext".into(),
        ["0001_initial".to_string()].into_iter().collect(),
    );
    let lenient = build_graph(&p, false);
    assert!(lenient.errors.is_empty());
    assert!(lenient.graph.is_external(&k("ext.0001_initial")));
    let strict = build_graph(&p, true);
    assert_eq!(strict.errors.len(), 1);
    assert_eq!(strict.errors[0].kind, DiagKind::NodeNotFound);
}

#[test]
fn unknown_app_first_is_an_error_and_unmigrated_is_ignored() {
    let mut p = project(&[("a.0001", &["nope.__first__", "plain.__first__"], &[], &[])]);
    p.unmigrated.insert("plain".into());
    let b = build_graph(&p, true);
    assert_eq!(b.errors.len(), 1, "{:?}", b.errors);
    assert!(b.errors[0]
        .message
        .contains("Dependency on unknown app: nope"));
}

mod props {
    use super::super::arbitrary::{check, project_from_bytes};
    use super::build_graph;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the project -- squashes of themselves or of squashes,
        /// cycles, missing nodes, odd entries -- building its graph
        /// finishes, gives a consistent graph, and the same one twice.
        #[test]
        fn any_project_builds_a_consistent_graph(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            strict in any::<bool>(),
        ) {
            let p = project_from_bytes(&bytes);
            let b = build_graph(&p, strict);
            if let Err(why) = check(&p, &b, strict) {
                prop_assert!(false, "{why}\nproject: {:#?}\nerrors: {:#?}", p.migrations, b.errors);
            }
        }
    }
}
