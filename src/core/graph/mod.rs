//! The migration graph, built exactly as Django's
//! `MigrationLoader.build_graph` builds it with no database: nodes, internal
//! dependencies, `__first__`/`__latest__` resolution (`check_key`), external
//! dependencies, `run_before`, squash replacement (`remove_replaced_nodes`),
//! then the consistency checks — every error recorded, not only the first.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;

use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use petgraph::Direction;

use crate::core::diag::{Diag, DiagKind};
use crate::core::keys::MigrationKey;
use crate::core::load::{DepAttr, Project};
use crate::core::pyparse::{DepEntry, PyValue};

pub mod arbitrary;
mod odd;
mod squash;
#[cfg(test)]
mod tests;

use odd::{odd_error, odd_use, opaque_key, replaced_keys, OddUse};
use squash::replacement_order;

#[derive(Debug, Clone)]
struct Node {
    key: MigrationKey,
    /// A node referenced but never defined: Django's `DummyNode`.
    dummy: Option<(MigrationKey, String)>,
    /// A stub for a migration of an app outside the project (lenient mode).
    external: bool,
    /// A squash that listed itself in `replaces`: Django drops it from
    /// `graph.nodes` and `node_map`, but the migrations next to it keep
    /// their edges to it (they still count for leaves and roots).
    ghost: bool,
}

/// The migration graph. Edges point from a migration to the migration it
/// depends on (child → parent).
#[derive(Debug, Clone, Default)]
pub struct MigrationGraph {
    g: StableDiGraph<Node, ()>,
    index: HashMap<MigrationKey, NodeIndex>,
    /// Insertion order of live nodes, as Django's `graph.nodes` dict keeps it.
    order: Vec<MigrationKey>,
    /// How Django prints the keys that are no `(app, name)` pair.
    shown: HashMap<MigrationKey, String>,
}

/// One app's nodes, leaves and roots, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSummary {
    pub nodes: Vec<String>,
    pub leaves: Vec<String>,
    pub roots: Vec<String>,
}

/// The result of building: the graph and every error Django would raise.
#[derive(Debug, Clone, Default)]
pub struct BuiltGraph {
    pub graph: MigrationGraph,
    pub errors: Vec<Diag>,
}

impl MigrationGraph {
    fn add_node(&mut self, key: MigrationKey, external: bool) {
        if self.index.contains_key(&key) {
            return;
        }
        let ix = self.g.add_node(Node {
            key: key.clone(),
            dummy: None,
            external,
            ghost: false,
        });
        self.index.insert(key.clone(), ix);
        self.order.push(key);
    }

    fn add_dummy(&mut self, key: MigrationKey, origin: &MigrationKey, message: String) {
        let ix = self.g.add_node(Node {
            key: key.clone(),
            dummy: Some((origin.clone(), message)),
            external: false,
            ghost: false,
        });
        self.index.insert(key.clone(), ix);
        self.order.push(key);
    }

    /// `MigrationGraph.add_dependency(migration, child, parent, skip_validation=True)`.
    fn add_dependency(
        &mut self,
        origin: &MigrationKey,
        child: &MigrationKey,
        parent: &MigrationKey,
    ) {
        if !self.index.contains_key(child) {
            let msg = format!(
                "Migration {origin} dependencies reference nonexistent child node {}{}",
                self.show(child),
                self.hint(child)
            );
            self.add_dummy(child.clone(), origin, msg);
        }
        if !self.index.contains_key(parent) {
            let msg = format!(
                "Migration {origin} dependencies reference nonexistent parent node {}{}",
                self.show(parent),
                self.hint(parent)
            );
            self.add_dummy(parent.clone(), origin, msg);
        }
        let (c, p) = (self.index[child], self.index[parent]);
        self.g.update_edge(c, p, ());
    }

    /// The graph key Django uses for a value that is no `(app, name)` pair.
    fn opaque(&mut self, value: &PyValue) -> MigrationKey {
        let key = opaque_key(value);
        self.shown
            .entry(key.clone())
            .or_insert_with(|| value.repr());
        key
    }

    /// A key as Django prints it.
    fn show(&self, k: &MigrationKey) -> String {
        match self.shown.get(k) {
            Some(repr) => repr.clone(),
            None => py_key(k),
        }
    }

    /// For a key that is no pair: what was probably meant.
    fn hint(&self, k: &MigrationKey) -> &'static str {
        if !self.shown.contains_key(k) {
            ""
        } else if k.name.starts_with('\'') || k.name.starts_with('"') {
            " (one string, not an (app_label, name) pair: is a comma missing?)"
        } else {
            " (an entry is an (app_label, migration_name) pair of strings)"
        }
    }

    /// `MigrationGraph.remove_replaced_nodes`.
    fn remove_replaced_nodes(
        &mut self,
        replacement: &MigrationKey,
        replaced: &[MigrationKey],
    ) -> Result<(), String> {
        let Some(&rix) = self.index.get(replacement) else {
            return Err(format!(
                "Unable to find replacement node {}. It was either never added to the migration graph, or has been removed.",
                py_key(replacement)
            ));
        };
        let replaced_set: BTreeSet<&MigrationKey> = replaced.iter().collect();
        for rkey in &replaced_set {
            let Some(ix) = self.index.remove(*rkey) else {
                continue;
            };
            self.order.retain(|k| k != *rkey);
            if ix == rix {
                // Django pops the replacement itself from the graph, then
                // re-adds its edges to every neighbour it does not replace.
                self.g[ix].ghost = true;
                let replaced_neighbours: Vec<_> = self
                    .g
                    .edges_directed(ix, Direction::Incoming)
                    .chain(self.g.edges_directed(ix, Direction::Outgoing))
                    .filter(|e| {
                        let other = if e.source() == ix {
                            e.target()
                        } else {
                            e.source()
                        };
                        other != ix && replaced_set.contains(&self.g[other].key)
                    })
                    .map(|e| e.id())
                    .collect();
                for e in replaced_neighbours {
                    self.g.remove_edge(e);
                }
                continue;
            }
            let children: Vec<NodeIndex> =
                self.g.neighbors_directed(ix, Direction::Incoming).collect();
            let parents: Vec<NodeIndex> =
                self.g.neighbors_directed(ix, Direction::Outgoing).collect();
            for c in children {
                if !replaced_set.contains(&self.g[c].key) {
                    self.g.update_edge(c, rix, ());
                }
            }
            for p in parents {
                if !replaced_set.contains(&self.g[p].key) {
                    self.g.update_edge(rix, p, ());
                }
            }
            self.g.remove_node(ix);
        }
        Ok(())
    }

    /// Django's `root_nodes(app)`: sorted nodes with no parent in their app.
    fn root_nodes_all(&self, app: &str) -> Vec<MigrationKey> {
        let mut v: Vec<MigrationKey> = self
            .order
            .iter()
            .filter(|k| k.app == app)
            .filter(|k| !self.parent_keys(k).any(|p| p.app == app))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Django's `leaf_nodes(app)`: sorted nodes with no child in their app.
    fn leaf_nodes_all(&self, app: &str) -> Vec<MigrationKey> {
        let mut v: Vec<MigrationKey> = self
            .order
            .iter()
            .filter(|k| k.app == app)
            .filter(|k| !self.child_keys(k).any(|c| c.app == app))
            .cloned()
            .collect();
        v.sort();
        v
    }

    fn parent_keys<'a>(
        &'a self,
        key: &MigrationKey,
    ) -> impl Iterator<Item = &'a MigrationKey> + 'a {
        let ix = self.index.get(key).copied();
        ix.into_iter()
            .flat_map(move |ix| self.g.neighbors_directed(ix, Direction::Outgoing))
            .map(move |p| &self.g[p].key)
    }

    fn child_keys<'a>(&'a self, key: &MigrationKey) -> impl Iterator<Item = &'a MigrationKey> + 'a {
        let ix = self.index.get(key).copied();
        ix.into_iter()
            .flat_map(move |ix| self.g.neighbors_directed(ix, Direction::Incoming))
            .map(move |c| &self.g[c].key)
    }

    /// A node of Django's `graph.nodes`: not a dummy, not a ghost.
    fn is_real(&self, ix: NodeIndex) -> bool {
        let n = &self.g[ix];
        n.dummy.is_none() && !n.ghost
    }

    /// Whether a real (non-dummy) node exists.
    pub fn contains(&self, key: &MigrationKey) -> bool {
        self.index.get(key).is_some_and(|&ix| self.is_real(ix))
    }

    /// Whether the node is a stub for an app outside the project.
    pub fn is_external(&self, key: &MigrationKey) -> bool {
        self.index.get(key).is_some_and(|&ix| self.g[ix].external)
    }

    /// Real nodes, sorted.
    pub fn nodes(&self) -> Vec<MigrationKey> {
        let mut v: Vec<MigrationKey> = self
            .g
            .node_indices()
            .filter(|&ix| self.is_real(ix))
            .map(|ix| self.g[ix].key.clone())
            .collect();
        v.sort();
        v
    }

    /// The apps with more than one leaf: the conflicts `migrate` stops on.
    pub fn conflicted_apps(&self) -> BTreeSet<String> {
        self.app_summaries()
            .into_iter()
            .filter(|(_, s)| s.leaves.len() > 1)
            .map(|(a, _)| a)
            .collect()
    }

    /// Per app: its real nodes, leaves and roots (each sorted), in one pass
    /// over the graph.
    pub fn app_summaries(&self) -> BTreeMap<String, AppSummary> {
        let mut out: BTreeMap<String, AppSummary> = BTreeMap::new();
        for ix in self.g.node_indices() {
            if !self.is_real(ix) {
                continue;
            }
            let key = &self.g[ix].key;
            let app = key.app.as_str();
            let s = match out.get_mut(app) {
                Some(s) => s,
                None => out.entry(app.to_string()).or_default(),
            };
            s.nodes.push(key.name.clone());
            let same_app = |d: Direction| {
                self.g
                    .neighbors_directed(ix, d)
                    .any(|n| self.g[n].key.app == app)
            };
            if !same_app(Direction::Incoming) {
                s.leaves.push(key.name.clone());
            }
            if !same_app(Direction::Outgoing) {
                s.roots.push(key.name.clone());
            }
        }
        for s in out.values_mut() {
            s.nodes.sort();
            s.leaves.sort();
            s.roots.sort();
        }
        out
    }

    /// Real nodes of one app, sorted.
    pub fn app_nodes(&self, app: &str) -> Vec<MigrationKey> {
        let mut v: Vec<MigrationKey> = self
            .g
            .node_indices()
            .filter(|&ix| self.is_real(ix) && self.g[ix].key.app == app)
            .map(|ix| self.g[ix].key.clone())
            .collect();
        v.sort();
        v
    }

    /// Edges `(child, parent)` from real nodes, sorted: to real nodes, and
    /// to a ghost (a squash that replaced itself), as Django keeps them.
    pub fn edges(&self) -> Vec<(MigrationKey, MigrationKey)> {
        let mut v: Vec<_> = self
            .g
            .edge_references()
            .filter(|e| {
                self.is_real(e.source()) && (self.is_real(e.target()) || self.g[e.target()].ghost)
            })
            .map(|e| {
                (
                    self.g[e.source()].key.clone(),
                    self.g[e.target()].key.clone(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// The parents (dependencies) of a node, sorted.
    pub fn parents(&self, key: &MigrationKey) -> Vec<MigrationKey> {
        let mut v: Vec<_> = self.parent_keys(key).cloned().collect();
        v.sort();
        v
    }

    /// The children (dependents) of a node, sorted.
    pub fn children(&self, key: &MigrationKey) -> Vec<MigrationKey> {
        let mut v: Vec<_> = self.child_keys(key).cloned().collect();
        v.sort();
        v
    }

    /// Leaves of an app: real nodes with no child in the same app.
    pub fn leaves(&self, app: &str) -> Vec<MigrationKey> {
        self.leaf_nodes_all(app)
            .into_iter()
            .filter(|k| self.contains(k))
            .collect()
    }

    /// Roots of an app: real nodes with no parent in the same app.
    pub fn roots(&self, app: &str) -> Vec<MigrationKey> {
        self.root_nodes_all(app)
            .into_iter()
            .filter(|k| self.contains(k))
            .collect()
    }

    /// Every ancestor of `key` (all apps), not including itself.
    pub fn ancestors(&self, key: &MigrationKey) -> BTreeSet<MigrationKey> {
        self.walk(key, Direction::Outgoing)
    }

    /// Every descendant of `key` (all apps), not including itself.
    pub fn descendants(&self, key: &MigrationKey) -> BTreeSet<MigrationKey> {
        self.walk(key, Direction::Incoming)
    }

    fn walk(&self, key: &MigrationKey, dir: Direction) -> BTreeSet<MigrationKey> {
        let mut out = BTreeSet::new();
        let Some(&start) = self.index.get(key) else {
            return out;
        };
        let mut stack = vec![start];
        let mut seen = std::collections::HashSet::new();
        while let Some(ix) = stack.pop() {
            for n in self.g.neighbors_directed(ix, dir) {
                if seen.insert(n) {
                    out.insert(self.g[n].key.clone());
                    stack.push(n);
                }
            }
        }
        out
    }

    /// Cycles among real nodes, each as the path that closes it, sorted.
    /// Like Django's `ensure_not_cyclic`, which walks `graph.nodes` only, a
    /// path through a ghost is no cycle (nor one through a dummy: Django
    /// stops at the missing node before it looks for cycles).
    fn cycles(&self) -> Vec<Vec<MigrationKey>> {
        let mut out = Vec::new();
        let real = petgraph::visit::NodeFiltered::from_fn(&self.g, |ix| self.is_real(ix));
        for scc in petgraph::algo::tarjan_scc(&real) {
            let self_loop = scc.len() == 1 && self.g.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
            // Start at the smallest key; follow edges inside the component
            // until a node repeats: that is a cycle, in dependency order.
            let start = *scc
                .iter()
                .min_by_key(|&&ix| &self.g[ix].key)
                .unwrap_or(&scc[0]);
            let mut path = vec![start];
            let mut cur = start;
            loop {
                let mut next: Vec<NodeIndex> = self
                    .g
                    .neighbors_directed(cur, Direction::Incoming)
                    .filter(|n| members.contains(n))
                    .collect();
                next.sort_by_key(|&n| &self.g[n].key);
                let Some(&n) = next.first() else { break };
                if let Some(pos) = path.iter().position(|&p| p == n) {
                    path.drain(..pos);
                    break;
                }
                path.push(n);
                cur = n;
            }
            out.push(path.into_iter().map(|ix| self.g[ix].key.clone()).collect());
        }
        out.sort();
        out
    }
}

/// Python's repr of a key tuple, as Django prints it: `('app', 'name')`.
pub fn py_key(k: &MigrationKey) -> String {
    format!("('{}', '{}')", k.app, k.name)
}

/// Build the graph of a project.
pub fn build_graph(project: &Project, strict: bool) -> BuiltGraph {
    let mut gr = MigrationGraph::default();
    let n = project.migrations.len();
    gr.g.reserve_nodes(n);
    gr.g.reserve_edges(n + n / 4);
    gr.index.reserve(n);
    gr.order.reserve(n);
    let mut errors = Vec::new();
    let file_of = |k: &MigrationKey| project.migrations.get(k).map(|m| m.file.clone());

    let migrated: BTreeSet<&str> = project
        .apps
        .keys()
        .map(String::as_str)
        .chain(if strict {
            Vec::new()
        } else {
            project.external.keys().map(String::as_str).collect()
        })
        .collect();

    for key in project.migrations.keys() {
        gr.add_node(key.clone(), false);
    }
    if !strict {
        for (app, names) in &project.external {
            for n in names {
                gr.add_node(MigrationKey::new(app.clone(), n.clone()), true);
            }
        }
    }
    // Internal (same app) dependencies; `__first__` of the own app ignored.
    for (key, m) in &project.migrations {
        for parent in &m.dependencies {
            if parent.app == key.app && parent.name != "__first__" {
                gr.add_dependency(key, key, parent);
            }
        }
    }
    // Entries that are no pair of strings, as Django's code takes them.
    let mut odd_keys: Vec<(&MigrationKey, MigrationKey, DepAttr)> = Vec::new();
    for (key, m) in &project.migrations {
        for entry in &m.odd {
            if entry.attr == DepAttr::Replaces {
                continue;
            }
            match odd_use(entry, &key.app) {
                OddUse::Raises(err) => errors.push(odd_error(key, m, entry, &err)),
                OddUse::Ignored => {}
                OddUse::Key(k) => odd_keys.push((key, k, entry.attr)),
                OddUse::Node => {
                    let k = gr.opaque(&entry.value);
                    if entry.attr == DepAttr::RunBefore {
                        gr.add_dependency(key, &k, key);
                    } else {
                        gr.add_dependency(key, key, &k);
                    }
                }
            }
        }
    }
    // External dependencies and run_before, through check_key.
    let mut check_key =
        |gr: &MigrationGraph, k: &MigrationKey, current: &MigrationKey| -> Option<MigrationKey> {
            if (k.name != "__first__" && k.name != "__latest__") || gr.index.contains_key(k) {
                return Some(k.clone());
            }
            if k.app == current.app || project.unmigrated.contains(&k.app) {
                return None;
            }
            let msg = if migrated.contains(k.app.as_str()) {
                let found = if k.name == "__first__" {
                    gr.root_nodes_all(&k.app)
                } else {
                    gr.leaf_nodes_all(&k.app)
                };
                if let Some(first) = found.into_iter().next() {
                    return Some(first);
                }
                format!("Dependency on app with no migrations: {}", k.app)
            } else {
                format!("Dependency on unknown app: {}", k.app)
            };
            let mut d = Diag::new(
                DiagKind::NodeNotFound,
                format!(
                    "Migration {current} dependencies reference {}: {msg}",
                    py_key(k)
                ),
            );
            if let Some(f) = file_of(current) {
                d = d.at(f, None);
            }
            errors.push(d);
            None
        };
    for (key, m) in &project.migrations {
        for parent in &m.dependencies {
            if parent.app == key.app {
                continue;
            }
            if let Some(p) = check_key(&gr, parent, key) {
                gr.add_dependency(key, key, &p);
            }
        }
        for child in &m.run_before {
            if let Some(c) = check_key(&gr, child, key) {
                gr.add_dependency(key, &c, key);
            }
        }
    }
    for (key, k, attr) in odd_keys {
        if let Some(k) = check_key(&gr, &k, key) {
            if attr == DepAttr::RunBefore {
                gr.add_dependency(key, &k, key);
            } else {
                gr.add_dependency(key, key, &k);
            }
        }
    }
    // Squashes: with no database nothing is applied, so every replacing
    // migration replaces its targets.
    let order = replacement_order(project, &gr, &mut errors);
    for key in order {
        let m = &project.migrations[key];
        let targets = replaced_keys(&mut gr, key, m, &mut errors);
        if let Err(msg) = gr.remove_replaced_nodes(key, &targets) {
            errors.push(Diag::new(DiagKind::NodeNotFound, msg).at(m.file.clone(), None));
        }
    }
    // validate_consistency: dummy nodes left are missing dependencies.
    let mut dummies: Vec<(MigrationKey, MigrationKey, String)> =
        gr.g.node_indices()
            .filter_map(|ix| {
                let n = &gr.g[ix];
                n.dummy
                    .as_ref()
                    .map(|(origin, msg)| (n.key.clone(), origin.clone(), msg.clone()))
            })
            .collect();
    dummies.sort();
    for (missing, origin, msg) in dummies {
        let mut d = Diag::new(DiagKind::NodeNotFound, msg);
        if let Some(f) = file_of(&origin) {
            d = d.at(f, dependency_line(project, &origin, &missing));
        }
        errors.push(d);
    }
    for cycle in gr.cycles() {
        let names: Vec<String> = cycle.iter().map(|k| k.to_string()).collect();
        let mut d = Diag::new(
            DiagKind::CircularDependency,
            format!(
                "Circular dependency between migrations: {}",
                names.join(", ")
            ),
        );
        if let Some(f) = file_of(&cycle[0]) {
            d = d.at(f, None);
        }
        errors.push(d);
    }
    errors.sort();
    errors.dedup();
    BuiltGraph { graph: gr, errors }
}

/// The line of the entry of `entries` that names `target`.
fn entry_line(entries: &[DepEntry], target: &MigrationKey) -> Option<u32> {
    entries.iter().find_map(|e| match e {
        DepEntry::Key { app, name, line }
            if app.value == target.app && name.value == target.name =>
        {
            Some(*line)
        }
        _ => None,
    })
}

/// The line of the entry in `origin` that names `target`, else its class.
fn dependency_line(project: &Project, origin: &MigrationKey, target: &MigrationKey) -> Option<u32> {
    let m = project.migrations.get(origin)?;
    let p = &m.parsed;
    p.dependencies
        .iter()
        .chain(&p.run_before)
        .find_map(|e| match e {
            DepEntry::Key { app, name, line }
                if app.value == target.app && name.value == target.name =>
            {
                Some(*line)
            }
            _ => None,
        })
        .or_else(|| {
            m.odd
                .iter()
                .find(|e| e.attr != DepAttr::Replaces && opaque_key(&e.value) == *target)
                .map(|e| e.line)
        })
        .or(Some(p.class_line))
}

/// Django's `detect_conflicts`: apps with more than one leaf, with the
/// leaves' names. External stub apps are not the project's to report.
pub fn detect_conflicts(
    graph: &MigrationGraph,
    apps: impl IntoIterator<Item = String>,
) -> BTreeMap<String, Vec<String>> {
    let mut summaries = graph.app_summaries();
    let mut out = BTreeMap::new();
    for app in apps {
        if let Some(s) = summaries.remove(&app) {
            if s.leaves.len() > 1 {
                out.insert(app, s.leaves);
            }
        }
    }
    out
}
