//! Random migration trees, written as Django projects, read by djmig and by
//! Django's own `MigrationLoader`: the graphs (nodes, edges, leaves) or the
//! errors must agree.
//!
//! The trees have what breaks graph builders: squashes that replace
//! themselves, squashes of squashes, two squashes of one migration,
//! `run_before` cycles, dependencies on missing nodes and on other apps'
//! `__first__`/`__latest__`, entries that are no `(app, name)` pair. Django
//! handles squashes in an order that changes from run to run, so it is asked
//! for the graph in every order (`tests/django_cases.py`); where the orders
//! disagree, djmig must refuse the graph.
//!
//! The cases come from a proptest strategy with a fixed seed, all written
//! first and given to one Python process (Django takes a while to start).
//! `DJMIG_GRAPH_CASES=N` runs N cases instead of [`CASES`], and
//! `DJMIG_GRAPH_SEED=S` another seed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Deserialize;

use crate::support::{self, djmig, Run};

/// Cases run by default: enough to meet every kind of case, few enough to
/// stay well under a minute.
const CASES: usize = 200;

/// The migrated apps; `c` is installed but unmigrated.
const APPS: [&str; 2] = ["a", "b"];

/// A reference in `dependencies`, `replaces` or `run_before`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ref {
    Key(String, String),
    /// Python source of an entry that is no pair of strings.
    Odd(&'static str),
}

impl Ref {
    fn key(app: &str, name: &str) -> Ref {
        Ref::Key(app.to_owned(), name.to_owned())
    }

    fn python(&self) -> String {
        match self {
            Ref::Key(app, name) => format!("({app:?}, {name:?})"),
            Ref::Odd(src) => (*src).to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct Mig {
    app: &'static str,
    name: String,
    dependencies: Vec<Ref>,
    replaces: Vec<Ref>,
    run_before: Vec<Ref>,
}

/// A project: the migrations of apps `a` and `b`.
#[derive(Debug, Clone)]
struct Tree {
    migs: Vec<Mig>,
}

/// Entries Django meets in the wild or in a hostile file.
const ODD: &[&str] = &[
    "('a' '0001_m')",
    "('a', None)",
    "('b',)",
    "['a', '0001_m']",
    "('a', '0001_m', 'x')",
    "['a', '__first__']",
    "('b', '__first__', 1)",
];

/// Reads bytes as choices.
struct Fuel<'a>(std::slice::Iter<'a, u8>);

impl Fuel<'_> {
    fn byte(&mut self) -> u8 {
        self.0.next().copied().unwrap_or(0)
    }
    /// True with probability `percent` / 100 (roughly).
    fn chance(&mut self, percent: u32) -> bool {
        u32::from(self.byte()) * 100 < percent * 256
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }
}

impl Tree {
    /// A tree decoded from random bytes.
    fn from_bytes(bytes: &[u8]) -> Tree {
        let mut f = Fuel(bytes.iter());
        let counts = [1 + f.below(4), 1 + f.below(4)];
        let mut migs = Vec::new();
        for (ai, &app) in APPS.iter().enumerate() {
            for i in 1..=counts[ai] {
                let squash = i > 1 && f.chance(30);
                let name = if squash {
                    format!("{i:04}_squashed")
                } else {
                    format!("{i:04}_m")
                };
                migs.push(Mig {
                    app,
                    name,
                    dependencies: Vec::new(),
                    replaces: Vec::new(),
                    run_before: Vec::new(),
                });
            }
        }
        let keys: Vec<(&'static str, String)> =
            migs.iter().map(|m| (m.app, m.name.clone())).collect();
        let any_key = |f: &mut Fuel| {
            let (app, name) = &keys[f.below(keys.len())];
            Ref::key(app, name)
        };
        for idx in 0..migs.len() {
            let (app, name) = keys[idx].clone();
            let own: Vec<usize> = (0..keys.len()).filter(|&j| keys[j].0 == app).collect();
            let pos = own.iter().position(|&j| j == idx).unwrap_or(0);
            let other = if app == "a" { "b" } else { "a" };
            let m = &mut Vec::new();
            // The previous migration of the app, mostly; a squash seldom
            // (it would depend on what it replaces: a cycle).
            let squash = name.ends_with("squashed");
            if pos > 0 && f.chance(if squash { 20 } else { 85 }) {
                m.push(Ref::key(app, &keys[own[pos - 1]].1));
            }
            if f.chance(5) {
                m.push(Ref::key(app, &keys[own[f.below(own.len())]].1));
            }
            if f.chance(8) {
                m.push(any_key(&mut f));
            }
            if f.chance(12) {
                let app = ["c", other][f.below(2)];
                let which = ["__first__", "__latest__"][f.below(2)];
                m.push(Ref::key(app, which));
            }
            if f.chance(2) {
                m.push(Ref::key(app, "0099_missing"));
            }
            if f.chance(2) {
                m.push(Ref::Odd(ODD[f.below(ODD.len())]));
            }
            let mut replaces = Vec::new();
            if squash {
                // Earlier migrations of the app, maybe itself, another
                // squash, or one that is gone.
                for &j in &own[..pos] {
                    if f.chance(60) {
                        replaces.push(Ref::key(app, &keys[j].1));
                    }
                }
                if f.chance(10) {
                    replaces.push(Ref::key(app, &name));
                }
                if f.chance(15) {
                    replaces.push(any_key(&mut f));
                }
                if f.chance(10) {
                    replaces.push(Ref::key(app, "0098_gone"));
                }
                if f.chance(5) {
                    replaces.push(Ref::Odd(ODD[f.below(ODD.len())]));
                }
                if replaces.is_empty() {
                    replaces.push(Ref::key(app, &keys[own[0]].1));
                }
            }
            let mut run_before = Vec::new();
            if f.chance(4) {
                run_before.push(any_key(&mut f));
            }
            if f.chance(2) {
                run_before.push(Ref::key(other, "0097_missing"));
            }
            let mig = &mut migs[idx];
            mig.dependencies = std::mem::take(m);
            mig.replaces = replaces;
            mig.run_before = run_before;
        }
        Tree { migs }
    }

    /// Write the project into `root`.
    fn write(&self, root: &Path) {
        let w = |rel: &str, text: &str| support::write(&root.join(rel), text);
        w(
            "manage.py",
            "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
        );
        w("proj/__init__.py", "");
        w(
            "proj/settings.py",
            "SECRET_KEY = 'x'\nINSTALLED_APPS = ['a', 'b', 'c']\nUSE_TZ = True\n\
             DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n",
        );
        for app in ["a", "b", "c"] {
            w(&format!("{app}/__init__.py"), "");
        }
        // c is unmigrated: its migrations directory is a namespace package.
        w("c/migrations/README.py", "");
        for app in APPS {
            w(&format!("{app}/migrations/__init__.py"), "");
        }
        for m in &self.migs {
            let list = |refs: &[Ref]| {
                let items: Vec<String> = refs.iter().map(Ref::python).collect();
                format!("[{}]", items.join(", "))
            };
            let mut src = String::from(
                "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n",
            );
            let _ = writeln!(src, "    dependencies = {}", list(&m.dependencies));
            if !m.replaces.is_empty() {
                let _ = writeln!(src, "    replaces = {}", list(&m.replaces));
            }
            if !m.run_before.is_empty() {
                let _ = writeln!(src, "    run_before = {}", list(&m.run_before));
            }
            src.push_str("    operations = []\n");
            w(&format!("{}/migrations/{}.py", m.app, m.name), &src);
        }
    }

    /// Two squashes replace one key that is in the graph before any
    /// replacement (a file, or a reference that makes a missing node):
    /// djmig refuses that as ambiguous (Django's result may or may not
    /// depend on luck).
    fn has_overlap(&self) -> bool {
        let present: BTreeSet<Ref> = self
            .migs
            .iter()
            .map(|m| Ref::key(m.app, &m.name))
            .chain(
                self.migs
                    .iter()
                    .flat_map(|m| m.dependencies.iter().chain(&m.run_before).cloned()),
            )
            .collect();
        let squashes: BTreeSet<Ref> = self
            .migs
            .iter()
            .filter(|m| !m.replaces.is_empty())
            .map(|m| Ref::key(m.app, &m.name))
            .collect();
        let mut claimed: BTreeMap<&Ref, usize> = BTreeMap::new();
        for m in self.migs.iter().filter(|m| !m.replaces.is_empty()) {
            let own = Ref::key(m.app, &m.name);
            let targets: BTreeSet<&Ref> = m.replaces.iter().collect();
            for t in targets {
                if *t != own && !squashes.contains(t) && present.contains(t) {
                    *claimed.entry(t).or_default() += 1;
                }
            }
        }
        claimed.values().any(|&n| n > 1)
    }
}

/// One of Django's results (`tests/django_cases.py`).
#[derive(Debug, Deserialize, PartialEq)]
struct Outcome {
    error: Option<DjangoError>,
    nodes: Vec<String>,
    edges: Vec<(String, String)>,
    leaves: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct DjangoError {
    kind: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct DjangoCase {
    outcomes: Vec<Outcome>,
}

/// djmig's graph, as `graph --format json` prints it.
#[derive(Debug, Deserialize)]
struct Ours {
    apps: BTreeMap<String, OursApp>,
    edges: Vec<(String, String)>,
    errors: Vec<OursError>,
}

#[derive(Debug, Deserialize)]
struct OursApp {
    nodes: Vec<String>,
    leaves: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OursError {
    kind: String,
    message: String,
}

/// The djmig error kinds that report a Django error.
fn djmig_kinds(django: &DjangoError) -> &'static [&'static str] {
    match django.kind.as_str() {
        "node_not_found" => &["node_not_found"],
        "circular_dependency" => &["circular_dependency"],
        // Django sorts graph keys to find `__first__`/`__latest__`: with a
        // missing node keyed `('a', None)` in app a, that sort raises
        // TypeError. djmig names the missing node.
        "invalid_value" if django.message.contains("'<' not supported") => {
            &["invalid_value", "node_not_found"]
        }
        "invalid_value" => &["invalid_value"],
        // Django's ValueError for an app found nowhere: djmig's
        // node_not_found; anything else, any error.
        _ => &[
            "node_not_found",
            "circular_dependency",
            "invalid_value",
            "ambiguous_replacement",
        ],
    }
}

/// Compare one case; `None` when djmig agrees.
fn disagreement(tree: &Tree, django: &DjangoCase, run: &Run) -> Option<String> {
    let ours: Ours = match serde_json::from_str(&run.stdout) {
        Ok(o) => o,
        Err(e) => return Some(format!("djmig printed no graph JSON ({e})")),
    };
    let kinds: BTreeSet<&str> = ours.errors.iter().map(|e| e.kind.as_str()).collect();
    let ambiguous_only = !kinds.is_empty() && kinds.iter().all(|k| *k == "ambiguous_replacement");
    if ambiguous_only && !tree.has_overlap() {
        return Some(
            "djmig reports an ambiguous replacement where no two squashes share a target".into(),
        );
    }
    let outcomes = &django.outcomes;
    let failing: Vec<&DjangoError> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    if outcomes.len() > 1 || !failing.is_empty() {
        // Django fails, or its graph depends on luck: djmig must refuse it.
        if run.code != 3 {
            return Some(format!(
                "Django: {} outcome(s), errors {failing:?}; djmig exits {}",
                outcomes.len(),
                run.code
            ));
        }
        // Where the orders disagree, djmig's reason may be the luck itself.
        let luck = outcomes.len() > 1
            && ours.errors.iter().any(|e| {
                e.kind == "ambiguous_replacement"
                    || e.message.contains("which replaces migrations itself")
            });
        let explained = luck
            || failing
                .iter()
                .any(|e| djmig_kinds(e).iter().any(|k| kinds.contains(k)));
        return (!explained).then(|| {
            format!(
                "Django fails with {failing:?} ({} outcome(s)); djmig's errors: {:?}",
                outcomes.len(),
                ours.errors
                    .iter()
                    .map(|e| (&e.kind, &e.message))
                    .collect::<Vec<_>>()
            )
        });
    }
    if ambiguous_only {
        return None; // refused on purpose; Django happened to agree every time
    }
    let theirs = &outcomes[0];
    if run.code != 0 {
        return Some(format!(
            "Django builds the graph; djmig exits {} with {:?}",
            run.code,
            ours.errors
                .iter()
                .map(|e| (&e.kind, &e.message))
                .collect::<Vec<_>>()
        ));
    }
    let mut problems = Vec::new();
    let our_nodes: BTreeSet<String> = ours
        .apps
        .iter()
        .flat_map(|(app, a)| a.nodes.iter().map(move |n| format!("{app}.{n}")))
        .collect();
    let their_nodes: BTreeSet<String> = theirs.nodes.iter().cloned().collect();
    if our_nodes != their_nodes {
        problems.push(format!(
            "nodes: djmig {our_nodes:?}, Django {their_nodes:?}"
        ));
    }
    let our_edges: BTreeSet<&(String, String)> = ours.edges.iter().collect();
    let their_edges: BTreeSet<&(String, String)> = theirs.edges.iter().collect();
    if our_edges != their_edges {
        problems.push(format!(
            "edges: djmig {our_edges:?}, Django {their_edges:?}"
        ));
    }
    for app in APPS {
        let ours_leaves = ours
            .apps
            .get(app)
            .map(|a| a.leaves.clone())
            .unwrap_or_default();
        let theirs_leaves = theirs.leaves.get(app).cloned().unwrap_or_default();
        if ours_leaves != theirs_leaves {
            problems.push(format!(
                "leaves of {app}: djmig {ours_leaves:?}, Django {theirs_leaves:?}"
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("\n  "))
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The cases: trees from a proptest strategy, with a fixed seed.
fn trees(n: usize, seed: u64) -> Vec<Tree> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = proptest::collection::vec(proptest::num::u8::ANY, 96..=160);
    (0..n)
        .map(|_| {
            let bytes = strategy
                .new_tree(&mut runner)
                .expect("generate a case")
                .current();
            Tree::from_bytes(&bytes)
        })
        .collect()
}

#[test]
fn djmig_builds_djangos_graph_of_random_migration_trees() {
    let n = env_number("DJMIG_GRAPH_CASES").map_or(CASES, |n| n as usize);
    let seed = env_number("DJMIG_GRAPH_SEED").unwrap_or(0x0064_6a6d_6967);
    let trees = trees(n, seed);
    let base = tempfile::Builder::new()
        .prefix("djmig-graph-cases-")
        .tempdir()
        .expect("temp dir");
    let roots: Vec<PathBuf> = (0..trees.len())
        .map(|i| base.path().join(format!("case{i:03}")))
        .collect();
    for (tree, root) in trees.iter().zip(&roots) {
        tree.write(root);
    }
    let django = support::django();
    let out = Command::new(&django.python)
        .arg(support::repo_root().join("tests").join("django_cases.py"))
        .args(&roots)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .output()
        .expect("run tests/django_cases.py");
    assert!(
        out.status.success(),
        "django_cases.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<DjangoCase> =
        serde_json::from_slice(&out.stdout).expect("django_cases.py prints JSON");
    assert_eq!(cases.len(), trees.len());

    let mut failures = Vec::new();
    let (mut built, mut refused, mut lucky) = (0, 0, 0);
    let mut why_refused: BTreeMap<String, usize> = BTreeMap::new();
    // Built by Django in every order, refused by djmig as ambiguous.
    let mut refused_anyway = 0;
    for (i, ((tree, root), django)) in trees.iter().zip(&roots).zip(&cases).enumerate() {
        let mut cmd = djmig();
        cmd.args(["--strict", "-C"])
            .arg(root)
            .args(["graph", "--format", "json"])
            .timeout(std::time::Duration::from_secs(30));
        let run = Run::of(cmd);
        run.no_crash();
        match (django.outcomes.len(), &django.outcomes[0].error) {
            (1, None) if run.code == 3 => {
                built += 1;
                refused_anyway += 1;
            }
            (1, None) => built += 1,
            (1, Some(e)) => {
                refused += 1;
                *why_refused.entry(e.kind.clone()).or_default() += 1;
            }
            _ => lucky += 1,
        }
        if let Some(why) = disagreement(tree, django, &run) {
            failures.push(format!(
                "case {i} ({}):\n  {why}\n  tree: {tree:#?}\n  djmig stderr: {}",
                root.display(),
                run.stderr
            ));
        }
    }
    // The mix must hold graphs Django builds, refuses, and builds by luck.
    assert!(
        built >= n / 8 && refused >= n / 8,
        "too uniform: {built} built, {refused} refused, {lucky} order-dependent"
    );
    assert!(
        failures.is_empty(),
        "{} of {n} cases disagree (seed {seed}; {built} built, {refused} refused, {lucky} \
         order-dependent):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "{n} cases: {built} built ({refused_anyway} refused by djmig as ambiguous), \
         {refused} refused {why_refused:?}, {lucky} order-dependent"
    );
}
