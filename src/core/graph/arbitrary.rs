//! Random projects for fuzzing and property tests of the graph builder:
//! any bytes decode to a project (apps, migrations, dependencies, squashes,
//! `run_before`, entries that are no pair, apps outside the project), and
//! [`check`] states what every graph built from one must satisfy.
//!
//! Used by the `build_graph` fuzz target (`fuzz/`) and by a proptest.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::core::discover::{LabelSource, PackageKind};
use crate::core::keys::MigrationKey;
use crate::core::load::{App, DepAttr, Migration, OddEntry, Origin, Project};
use crate::core::pyparse::PyValue;

use super::{build_graph, BuiltGraph};

/// Reads bytes as choices; past the end, every choice is 0.
struct Fuel<'a>(std::slice::Iter<'a, u8>);

impl Fuel<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }
    /// True with probability `percent` / 100 (roughly).
    fn chance(&mut self, percent: u32) -> bool {
        u32::from(self.byte()) * 100 < percent * 256
    }
}

const APPS: [&str; 3] = ["a", "b", "c"];

/// Values that are no `(app, name)` pair, as a migration file may hold.
fn odd_value(f: &mut Fuel) -> PyValue {
    let s = |v: &str| PyValue::Str(v.to_owned());
    match f.below(8) {
        0 => s("a0001"),
        1 => PyValue::Tuple(vec![s("a"), PyValue::None]),
        2 => PyValue::Tuple(vec![s("b")]),
        3 => PyValue::List(vec![s("a"), s("0001")]),
        4 => PyValue::Tuple(vec![s("a"), s("0001"), PyValue::Int("1".into())]),
        5 => PyValue::Tuple(vec![s("b"), s("__first__"), PyValue::Bool(true)]),
        6 => PyValue::List(vec![s("a"), s("__first__")]),
        _ => PyValue::Dict(vec![(PyValue::Int("0".into()), s("a"))]),
    }
}

/// A project decoded from `bytes`.
pub fn project_from_bytes(bytes: &[u8]) -> Project {
    let mut f = Fuel(bytes.iter());
    let mut p = Project::default();
    // Which apps are migrated, and their migrations' names.
    let mut names: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for app in APPS {
        if app == "c" && f.chance(50) {
            p.unmigrated.insert(app.to_owned());
            continue;
        }
        let n = f.below(6);
        let list = (1..=n)
            .map(|i| {
                if f.chance(25) {
                    format!("{i:04}_squashed")
                } else {
                    format!("{i:04}_m")
                }
            })
            .collect();
        names.insert(app, list);
    }
    if f.chance(40) {
        let ext: BTreeSet<String> = ["0001_initial", "0002_more"]
            .iter()
            .take(1 + f.below(2))
            .map(|s| (*s).to_owned())
            .collect();
        p.external.insert("x".to_owned(), ext);
    }
    let all: Vec<MigrationKey> = names
        .iter()
        .flat_map(|(app, list)| list.iter().map(|n| MigrationKey::new(*app, n.clone())))
        .collect();
    let reference = |f: &mut Fuel, own: &MigrationKey| -> MigrationKey {
        match f.below(10) {
            0..=5 if !all.is_empty() => all[f.below(all.len())].clone(),
            6 => MigrationKey::new(
                ["a", "b", "c", "x", "zz"][f.below(5)],
                ["__first__", "__latest__"][f.below(2)],
            ),
            7 => MigrationKey::new(own.app.clone(), "0099_missing"),
            8 => MigrationKey::new("x", "0001_initial"),
            _ => own.clone(),
        }
    };
    for (app, list) in &names {
        p.apps.insert(
            (*app).to_owned(),
            App {
                label: (*app).to_owned(),
                path: format!("{app}/migrations"),
                origin: Origin::Project,
                kind: PackageKind::Package,
                label_from: LabelSource::DirName,
            },
        );
        for (i, name) in list.iter().enumerate() {
            let key = MigrationKey::new(*app, name.clone());
            let mut dependencies = Vec::new();
            if i > 0 && f.chance(80) {
                dependencies.push(MigrationKey::new(*app, list[i - 1].clone()));
            }
            for _ in 0..f.below(3) {
                dependencies.push(reference(&mut f, &key));
            }
            let mut replaces = Vec::new();
            if name.ends_with("squashed") {
                for _ in 0..1 + f.below(3) {
                    replaces.push(reference(&mut f, &key));
                }
            }
            let mut run_before = Vec::new();
            if f.chance(15) {
                run_before.push(reference(&mut f, &key));
            }
            let mut odd = Vec::new();
            if f.chance(10) {
                let attr =
                    [DepAttr::Dependencies, DepAttr::Replaces, DepAttr::RunBefore][f.below(3)];
                odd.push(OddEntry {
                    attr,
                    value: odd_value(&mut f),
                    line: 1,
                });
            }
            p.migrations.insert(
                key.clone(),
                Migration {
                    file: format!("{app}/migrations/{name}.py"),
                    key,
                    origin: Origin::Project,
                    parsed: Arc::new(Default::default()),
                    dependencies,
                    replaces,
                    run_before,
                    odd,
                },
            );
        }
    }
    p
}

/// What every graph built from `project` satisfies; the first broken rule.
pub fn check(project: &Project, built: &BuiltGraph, strict: bool) -> Result<(), String> {
    let g = &built.graph;
    let nodes: BTreeSet<MigrationKey> = g.nodes().into_iter().collect();
    let external = |k: &MigrationKey| {
        !strict
            && project
                .external
                .get(&k.app)
                .is_some_and(|names| names.contains(&k.name))
    };
    for n in &nodes {
        if !project.migrations.contains_key(n) && !external(n) {
            return Err(format!(
                "node {n} is neither a migration nor an external stub"
            ));
        }
    }
    let self_replacing = |k: &MigrationKey| {
        project
            .migrations
            .get(k)
            .is_some_and(|m| m.replaces.contains(k))
    };
    for (child, parent) in g.edges() {
        if !nodes.contains(&child) {
            return Err(format!("edge {child} -> {parent}: the child is no node"));
        }
        if !nodes.contains(&parent) && !self_replacing(&parent) {
            return Err(format!(
                "edge {child} -> {parent}: the parent is no node nor a squash that replaced itself"
            ));
        }
    }
    for (app, s) in g.app_summaries() {
        for name in s.leaves.iter().chain(&s.roots) {
            if !s.nodes.contains(name) {
                return Err(format!("{app}.{name} is a leaf or root but no node"));
            }
        }
    }
    if built.errors.iter().all(|e| !e.kind.is_error()) {
        // No error: no cycle among the nodes (Kahn's algorithm).
        let edges: Vec<(MigrationKey, MigrationKey)> = g
            .edges()
            .into_iter()
            .filter(|(_, p)| nodes.contains(p))
            .collect();
        let mut indegree: BTreeMap<&MigrationKey, usize> = nodes.iter().map(|n| (n, 0)).collect();
        for (c, _) in &edges {
            *indegree.entry(c).or_default() += 1;
        }
        let mut ready: Vec<&MigrationKey> = indegree
            .iter()
            .filter(|(_, &d)| d == 0)
            .map(|(k, _)| *k)
            .collect();
        let mut seen = 0;
        while let Some(k) = ready.pop() {
            seen += 1;
            for (c, p) in &edges {
                if p == k {
                    let d = indegree.get_mut(c).expect("a node");
                    *d -= 1;
                    if *d == 0 {
                        ready.push(c);
                    }
                }
            }
        }
        if seen != nodes.len() {
            return Err("no error reported, yet the graph has a cycle".to_owned());
        }
    }
    // The same project gives the same graph.
    let again = build_graph(project, strict);
    if again.graph.nodes() != g.nodes()
        || again.graph.edges() != g.edges()
        || again.errors != built.errors
    {
        return Err("building twice gives two graphs".to_owned());
    }
    Ok(())
}
