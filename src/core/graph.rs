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

use super::diag::{Diag, DiagKind};
use super::keys::MigrationKey;
use super::load::{DepAttr, Migration, OddEntry, Project};
use super::pyparse::{DepEntry, PyError, PyValue};

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

/// Keys that are no `(app, name)` pair live in this pseudo app, which no
/// app label can be (labels are identifiers).
const OPAQUE_APP: &str = "\u{0}";

/// The graph key of a value that is no `(app, name)` pair: equal values
/// (Python's `==`) give equal keys.
fn opaque_key(value: &PyValue) -> MigrationKey {
    MigrationKey::new(OPAQUE_APP, value.identity())
}

/// What Django makes of an entry that is no pair of strings.
enum OddUse {
    /// It raises.
    Raises(PyError),
    /// It skips it (`__first__` of the migration's own app).
    Ignored,
    /// It resolves it like a key (`('other', '__first__', …)`).
    Key(MigrationKey),
    /// It uses the value itself as a graph key, which no migration has.
    Node,
}

/// `check_key(entry, app)` as far as an odd entry goes, then the hash that
/// `add_dependency` takes of what it returns.
fn odd_check_key(e: &PyValue, app: &str) -> Result<OddUse, PyError> {
    let k1 = e.get(1)?;
    if !(k1.eq_str("__first__") || k1.eq_str("__latest__")) {
        e.check_hashable()?;
        return Ok(OddUse::Node);
    }
    e.check_hashable()?; // `key in self.graph`
    let k0 = e.get(0)?;
    if k0.eq_str(app) {
        return Ok(OddUse::Ignored);
    }
    k0.check_hashable()?; // `key[0] in self.unmigrated_apps`
    match (k0, k1) {
        (PyValue::Str(label), PyValue::Str(name)) => {
            Ok(OddUse::Key(MigrationKey::new(label, name)))
        }
        (k0, _) => Err(PyError {
            exception: "ValueError",
            message: format!("Dependency on unknown app: {}", k0.repr()),
        }),
    }
}

/// What `add_internal_dependencies` then `add_external_dependencies` (or,
/// for `run_before`, the latter) do with an odd entry of a migration of
/// `app`.
fn odd_use(entry: &OddEntry, app: &str) -> OddUse {
    let e = &entry.value;
    let run = || -> Result<OddUse, PyError> {
        if entry.attr == DepAttr::RunBefore {
            return odd_check_key(e, app);
        }
        if e.get(0)?.eq_str(app) {
            // Internal: `parent[0] == key[0] and parent[1] != "__first__"`;
            // external then skips it.
            if e.get(1)?.eq_str("__first__") {
                return Ok(OddUse::Ignored);
            }
            e.check_hashable()?;
            return Ok(OddUse::Node);
        }
        odd_check_key(e, app)
    };
    run().unwrap_or_else(OddUse::Raises)
}

/// The error for an odd entry Django raises on.
fn odd_error(key: &MigrationKey, m: &Migration, entry: &OddEntry, err: &PyError) -> Diag {
    let (kind, message) = if err.exception == "ValueError" {
        (
            DiagKind::NodeNotFound,
            format!(
                "Migration {key} dependencies reference {}: {}",
                entry.value.repr(),
                err.message
            ),
        )
    } else {
        (
            DiagKind::InvalidValue,
            format!(
                "{} entry {} of {key}: Django raises {err} on it while building the graph; \
                 an entry is an (app_label, migration_name) pair of strings",
                entry.attr.name(),
                entry.value.repr(),
            ),
        )
    };
    Diag::new(kind, message).at(m.file.clone(), Some(entry.line))
}

/// The keys a squash replaces, odd entries included (those Django cannot
/// hash are reported in `errors`).
fn replaced_keys(
    gr: &mut MigrationGraph,
    key: &MigrationKey,
    m: &Migration,
    errors: &mut Vec<Diag>,
) -> Vec<MigrationKey> {
    let mut out = m.replaces.clone();
    for entry in m.odd.iter().filter(|e| e.attr == DepAttr::Replaces) {
        match entry.value.check_hashable() {
            Ok(()) => out.push(gr.opaque(&entry.value)),
            Err(err) => errors.push(odd_error(key, m, entry, &err)),
        }
    }
    out
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

/// The order to handle squashes in, and the errors their order causes.
///
/// Django handles them in the order of a set (the migration names of an
/// app), which changes from run to run. Two things then depend on luck:
/// - a squash that replaces another replacing migration: handled first, it
///   removes the other, whose own turn then raises NodeNotFoundError
///   ("Unable to find replacement node");
/// - a migration in the graph replaced by two squashes: its edges go to
///   whichever squash comes first.
///
/// Both are errors here. The order returned handles replaced squashes
/// before those replacing them (the runs in which Django succeeds), then
/// by key.
fn replacement_order<'p>(
    project: &'p Project,
    gr: &MigrationGraph,
    errors: &mut Vec<Diag>,
) -> Vec<&'p MigrationKey> {
    let replacing: BTreeMap<&MigrationKey, &Migration> = project
        .migrations
        .iter()
        .filter(|(_, m)| m.is_replacing())
        .collect();
    // inner → the squashes that replace it (nested), and each squash's
    // number of replacing migrations it replaces.
    let mut outers: BTreeMap<&MigrationKey, Vec<&MigrationKey>> = BTreeMap::new();
    let mut pending: BTreeMap<&MigrationKey, usize> = BTreeMap::new();
    let mut claimed: BTreeMap<&MigrationKey, Vec<&MigrationKey>> = BTreeMap::new();
    let odd_targets: BTreeMap<&MigrationKey, Vec<MigrationKey>> = replacing
        .iter()
        .map(|(&k, m)| {
            let odd = m.odd.iter().filter(|e| e.attr == DepAttr::Replaces);
            let hashable = odd.filter(|e| e.value.check_hashable().is_ok());
            (k, hashable.map(|e| opaque_key(&e.value)).collect())
        })
        .collect();
    for (&outer, m) in &replacing {
        let targets: BTreeSet<&MigrationKey> =
            m.replaces.iter().chain(&odd_targets[outer]).collect();
        pending.insert(outer, 0);
        for inner in targets {
            if inner == outer {
                continue;
            }
            if let Some((&inner, _)) = replacing.get_key_value(inner) {
                outers.entry(inner).or_default().push(outer);
                *pending.entry(outer).or_default() += 1;
                errors.push(
                    Diag::new(
                        DiagKind::NodeNotFound,
                        format!(
                            "Migration {outer} replaces {inner}, which replaces migrations itself: \
                             Django handles squashes in an order that changes from run to run, and \
                             whenever it takes {outer} first it fails with \"Unable to find \
                             replacement node {}. It was either never added to the migration graph, \
                             or has been removed.\"; list the migrations {inner} replaces instead",
                            py_key(inner)
                        ),
                    )
                    .at(m.file.clone(), entry_line(&m.parsed.replaces, inner)),
                );
            } else if gr.index.contains_key(inner) {
                claimed.entry(inner).or_default().push(outer);
            }
        }
    }
    let first_of = |squashes: &[&MigrationKey]| &project.migrations[squashes[0]];
    for (target, squashes) in &claimed {
        if squashes.len() < 2 {
            continue;
        }
        let shown = if target.app == OPAQUE_APP {
            gr.show(target)
        } else {
            target.to_string()
        };
        let line = entry_line(&first_of(squashes).parsed.replaces, target).or_else(|| {
            first_of(squashes)
                .odd
                .iter()
                .find(|e| e.attr == DepAttr::Replaces && opaque_key(&e.value) == **target)
                .map(|e| e.line)
        });
        let names: Vec<String> = squashes.iter().map(|k| k.to_string()).collect();
        errors.push(
            Diag::new(
                DiagKind::AmbiguousReplacement,
                format!(
                    "{shown} is replaced by both {}: Django gives its place in the graph to \
                     whichever squash it handles first, in an order that changes from run to run, \
                     so its leaves and conflicts do too; keep {shown} in one squash's `replaces` only",
                    names.join(" and ")
                ),
            )
            .at(first_of(squashes).file.clone(), line),
        );
    }
    // Kahn's algorithm, smallest key first; what a loop of squashes leaves
    // over comes last, by key.
    let mut ready: BTreeSet<&MigrationKey> = pending
        .iter()
        .filter(|(_, &n)| n == 0)
        .map(|(&k, _)| k)
        .collect();
    let mut order = Vec::with_capacity(replacing.len());
    while let Some(k) = ready.pop_first() {
        order.push(k);
        for &outer in outers.get(k).map(Vec::as_slice).unwrap_or_default() {
            let n = pending.get_mut(outer).expect("every squash is pending");
            *n -= 1;
            if *n == 0 {
                ready.insert(outer);
            }
        }
    }
    if order.len() < replacing.len() {
        let done: BTreeSet<&MigrationKey> = order.iter().copied().collect();
        order.extend(replacing.keys().filter(|k| !done.contains(*k)));
    }
    order
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::discover::{LabelSource, PackageKind};
    use crate::core::load::{App, Migration, Origin};
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
        ]);
        let b = build_graph(&p, false);
        assert!(b.errors.is_empty());
        assert_eq!(names(b.graph.leaves("a")), vec!["a.0002_x", "a.0002_y"]);
        assert_eq!(detect_conflicts(&b.graph, ["a".to_string()]).len(), 1);
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
        assert!(msgs.contains(&"Migration a.0001 dependencies reference nonexistent parent node ('a', '0000_gone')"), "{msgs:?}");
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
}
