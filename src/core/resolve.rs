//! Resolution, as data: the situation of each conflicted app (which chain is
//! upstream's, which is the developer's own, what each migration does, what
//! depends on it) and the plan of a strategy — every step spelled out before
//! anything runs, so `--dry-run` prints exactly what would happen.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::graph::MigrationGraph;
use super::keys::MigrationKey;
use super::load::Project;
use super::pyparse::ParsedMigration;
use super::review::{self, Hint};
use super::rewrite::{self, Rename};

/// How to fix a conflicted app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Regenerate,
    Reparent,
    Merge,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Regenerate => "regenerate",
            Strategy::Reparent => "reparent",
            Strategy::Merge => "merge",
        }
    }
}

/// One migration as shown to the user.
#[derive(Debug, Clone, Serialize)]
pub struct MigInfo {
    pub name: String,
    pub file: String,
    /// One line per operation: `AddField orders.order.total`.
    pub operations: Vec<String>,
    /// Applied to the local database (`null` when unknown).
    pub applied: Option<bool>,
    /// Why makemigrations cannot write it again, if so.
    pub hand_written: Option<String>,
    /// Already on a remote-tracking branch or a tag.
    pub published: bool,
}

/// One conflicted app.
#[derive(Debug, Clone, Serialize)]
pub struct Situation {
    pub app: String,
    /// The last migration both chains share.
    pub common_ancestor: Option<String>,
    /// Upstream's chain (in the base revision), in dependency order.
    pub theirs: Vec<MigInfo>,
    /// The developer's own chain, in dependency order.
    pub ours: Vec<MigInfo>,
    /// Other apps' migrations that depend on ours (`app.name`).
    pub dependents: Vec<MigInfo>,
    /// Models or fields both sides touch.
    pub overlaps: Vec<String>,
    pub recommended: Strategy,
    pub reason: String,
    /// Strategies that must not be used here, with the reason.
    pub refused: BTreeMap<Strategy, String>,
}

impl Situation {
    pub fn theirs_leaf(&self) -> Option<&str> {
        self.theirs.last().map(|m| m.name.as_str())
    }
    pub fn any_applied(&self) -> bool {
        self.ours
            .iter()
            .chain(&self.dependents)
            .any(|m| m.applied == Some(true))
    }
}

/// What the caller knows besides the graph.
pub struct Facts<'a> {
    /// Whether a project file exists in the base (upstream) revision.
    pub in_base: &'a dyn Fn(&str) -> bool,
    /// Whether a project file is published.
    pub published: &'a dyn Fn(&str) -> bool,
    /// Applied migrations, when the database could be asked.
    pub applied: Option<&'a BTreeSet<MigrationKey>>,
    /// Full parses (operations included) of the files involved.
    pub full: &'a dyn Fn(&MigrationKey) -> Option<Arc<ParsedMigration>>,
    /// Whether the project's Django can run (makemigrations).
    pub django_runs: bool,
}

/// The latest migration of `app` that every leaf descends from.
pub fn common_ancestor(
    graph: &MigrationGraph,
    app: &str,
    leaves: &[MigrationKey],
) -> Option<MigrationKey> {
    let mut common: Option<BTreeSet<MigrationKey>> = None;
    for l in leaves {
        let anc: BTreeSet<MigrationKey> = graph
            .ancestors(l)
            .into_iter()
            .filter(|k| k.app == app)
            .collect();
        common = Some(match common {
            None => anc,
            Some(c) => c.intersection(&anc).cloned().collect(),
        });
    }
    let common = common?;
    // The one with the most ancestors is the latest.
    common
        .iter()
        .max_by_key(|k| (graph.ancestors(k).len(), (*k).clone()))
        .cloned()
}

/// The app's migrations from (not including) `ancestor` up to `leaf`, in
/// dependency order.
pub fn chain(
    graph: &MigrationGraph,
    app: &str,
    ancestor: Option<&MigrationKey>,
    leaf: &MigrationKey,
) -> Vec<MigrationKey> {
    let below: BTreeSet<MigrationKey> = match ancestor {
        Some(a) => {
            let mut s = graph.ancestors(a);
            s.insert(a.clone());
            s
        }
        None => BTreeSet::new(),
    };
    let mut keys: Vec<MigrationKey> = graph
        .ancestors(leaf)
        .into_iter()
        .chain(std::iter::once(leaf.clone()))
        .filter(|k| k.app == app && !below.contains(k))
        .collect();
    keys.sort();
    super::divergence::dependency_order(graph, keys)
}

/// Work out the situation of one conflicted app of the work tree.
pub fn situation(
    project: &Project,
    graph: &MigrationGraph,
    app: &str,
    facts: &Facts,
) -> Result<Situation, String> {
    let leaves = graph.leaves(app);
    if leaves.len() < 2 {
        return Err(format!("{app} has one leaf: nothing to resolve"));
    }
    let ancestor = common_ancestor(graph, app, &leaves);
    let file_of = |k: &MigrationKey| {
        project
            .migrations
            .get(k)
            .map(|m| m.file.clone())
            .unwrap_or_default()
    };
    let mut theirs_chains = Vec::new();
    let mut ours_keys: BTreeSet<MigrationKey> = BTreeSet::new();
    for leaf in &leaves {
        let c = chain(graph, app, ancestor.as_ref(), leaf);
        if c.iter().all(|k| (facts.in_base)(&file_of(k))) {
            theirs_chains.push(c);
        } else {
            ours_keys.extend(c.into_iter().filter(|k| !(facts.in_base)(&file_of(k))));
        }
    }
    let mut refused = BTreeMap::new();
    if theirs_chains.len() > 1 {
        let msg =
            "every leaf is already upstream: the conflict came from upstream itself".to_string();
        refused.insert(Strategy::Regenerate, msg.clone());
        refused.insert(Strategy::Reparent, msg);
    }
    if theirs_chains.is_empty() {
        let msg = "no leaf is upstream yet (two local lines of work met): djmig cannot tell which one to keep".to_string();
        refused.insert(Strategy::Regenerate, msg.clone());
        refused.insert(Strategy::Reparent, msg);
    }
    let theirs_keys: Vec<MigrationKey> = theirs_chains.into_iter().next().unwrap_or_default();
    let ours_keys: Vec<MigrationKey> =
        super::divergence::dependency_order(graph, ours_keys.into_iter().collect());
    let ours_set: BTreeSet<&MigrationKey> = ours_keys.iter().collect();
    let mut dependents: BTreeSet<MigrationKey> = BTreeSet::new();
    for k in &ours_keys {
        for d in graph.descendants(k) {
            if d.app != app && project.migrations.contains_key(&d) {
                dependents.insert(d);
            }
        }
    }
    let info = |k: &MigrationKey| -> MigInfo {
        let file = file_of(k);
        let full = (facts.full)(k);
        MigInfo {
            name: if k.app == app {
                k.name.clone()
            } else {
                k.to_string()
            },
            operations: full
                .as_ref()
                .map(|p| {
                    p.operations
                        .iter()
                        .map(|op| review::summary(op, &k.app))
                        .collect()
                })
                .unwrap_or_default(),
            applied: facts.applied.map(|a| a.contains(k)),
            hand_written: full
                .as_ref()
                .and_then(|p| review::needs_reparent(p))
                .map(|r| format!("{} has {r}", k.name)),
            published: (facts.published)(&file),
            file,
        }
    };
    let theirs: Vec<MigInfo> = theirs_keys.iter().map(&info).collect();
    let ours: Vec<MigInfo> = ours_keys.iter().map(&info).collect();
    let dependents: Vec<MigInfo> =
        super::divergence::dependency_order(graph, dependents.into_iter().collect())
            .iter()
            .filter(|k| !ours_set.contains(k))
            .map(&info)
            .collect();

    let touched = |keys: &[MigrationKey]| -> BTreeSet<(String, Option<String>)> {
        keys.iter()
            .filter_map(|k| (facts.full)(k))
            .flat_map(|p| review::touched(&p))
            .collect()
    };
    let (a, b) = (touched(&ours_keys), touched(&theirs_keys));
    let overlaps: Vec<String> = a
        .intersection(&b)
        .filter(|(_, f)| {
            f.is_some()
                || !b
                    .iter()
                    .any(|(m2, f2)| f2.is_some() && a.contains(&(m2.clone(), f2.clone())))
        })
        .map(|(m, f)| match f {
            Some(f) => format!("{app}.{m}.{f}"),
            None => format!("{app}.{m}"),
        })
        .collect();

    let published: Vec<&str> = ours
        .iter()
        .filter(|m| m.published)
        .map(|m| m.name.as_str())
        .collect();
    if !published.is_empty() {
        let msg = format!(
            "{} already published (on a remote-tracking branch or tag): rewriting it would fork everyone else's history",
            published.join(", ")
        );
        refused.insert(Strategy::Regenerate, msg.clone());
        refused.insert(Strategy::Reparent, msg);
    }
    let hand: Vec<&str> = ours
        .iter()
        .chain(&dependents)
        .filter_map(|m| m.hand_written.as_deref())
        .collect();
    if !hand.is_empty() {
        refused
            .entry(Strategy::Regenerate)
            .or_insert_with(|| format!("{}; deleting it would lose it", hand.join("; ")));
    }
    if !facts.django_runs {
        refused.entry(Strategy::Regenerate).or_insert_with(|| {
            "no Python environment here can run the project's manage.py".to_string()
        });
    }
    let (recommended, reason) = if !refused.contains_key(&Strategy::Regenerate) {
        (
            Strategy::Regenerate,
            "your migrations were written by makemigrations: delete them and let it write them again on top of upstream's"
                .to_string(),
        )
    } else if !refused.contains_key(&Strategy::Reparent) {
        (
            Strategy::Reparent,
            format!(
                "{}; keep your migrations and make them follow upstream's leaf",
                refused[&Strategy::Regenerate]
            ),
        )
    } else {
        (
            Strategy::Merge,
            format!(
                "{}; a merge migration is the only safe fix",
                refused[&Strategy::Reparent]
            ),
        )
    };
    Ok(Situation {
        app: app.to_string(),
        common_ancestor: ancestor.map(|k| k.name),
        theirs,
        ours,
        dependents,
        overlaps,
        recommended,
        reason,
        refused,
    })
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `manage.py migrate <app> <target>` with upstream's files set aside,
    /// because Django's migrate refuses to run while the app has two leaves.
    Unapply {
        app: String,
        target: String,
        set_aside: Vec<String>,
    },
    /// Delete a file (backed up first).
    Delete { file: String },
    /// Write a file (new, or replacing one) with the given content.
    Write {
        file: String,
        /// The file this one replaces, when it is a rename.
        replaces: Option<String>,
        #[serde(skip)]
        content: Vec<u8>,
        /// What changes, as a unified diff.
        diff: String,
    },
    /// `manage.py makemigrations <apps>`.
    Makemigrations { apps: Vec<String> },
    /// `manage.py makemigrations --merge --noinput <app>`.
    MakemigrationsMerge { app: String },
    /// `manage.py migrate` to apply what was unapplied.
    Migrate,
    /// Read the graph again: one leaf per app.
    Verify,
}

/// A strategy's plan for one app.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub app: String,
    pub strategy: Strategy,
    pub steps: Vec<Step>,
    /// Every file the plan may touch (backed up before the first write).
    pub files: Vec<String>,
    /// Review hints on what the plan writes or keeps.
    pub hints: Vec<String>,
}

/// Source texts the planner needs: file → bytes.
pub type Sources<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// Build the plan of `strategy` for a situation.
pub fn plan(
    s: &Situation,
    strategy: Strategy,
    project: &Project,
    sources: Sources,
    full: &dyn Fn(&MigrationKey) -> Option<Arc<ParsedMigration>>,
    merge_file: Option<(String, String)>,
) -> Result<Plan, String> {
    if let Some(why) = s.refused.get(&strategy) {
        return Err(format!(
            "{} cannot be used for {}: {why}",
            strategy.name(),
            s.app
        ));
    }
    let mut steps = Vec::new();
    let mut files: BTreeSet<String> = BTreeSet::new();
    let mut hints = Vec::new();
    let applied = s.any_applied();
    let app = &s.app;
    let set_aside: Vec<String> = s.theirs.iter().map(|m| m.file.clone()).collect();
    let unapply = |steps: &mut Vec<Step>, files: &mut BTreeSet<String>| {
        if applied {
            steps.push(Step::Unapply {
                app: app.clone(),
                target: s
                    .common_ancestor
                    .clone()
                    .unwrap_or_else(|| "zero".to_string()),
                set_aside: set_aside.clone(),
            });
            files.extend(set_aside.iter().cloned());
        }
    };
    match strategy {
        Strategy::Regenerate => {
            unapply(&mut steps, &mut files);
            let mut apps: BTreeSet<String> = BTreeSet::from([app.clone()]);
            for m in s.ours.iter().chain(&s.dependents) {
                steps.push(Step::Delete {
                    file: m.file.clone(),
                });
                files.insert(m.file.clone());
            }
            for d in &s.dependents {
                if let Some((a, _)) = d.name.split_once('.') {
                    apps.insert(a.to_string());
                }
            }
            steps.push(Step::Makemigrations {
                apps: apps.into_iter().collect(),
            });
            if applied {
                steps.push(Step::Migrate);
            }
        }
        Strategy::Reparent => {
            unapply(&mut steps, &mut files);
            let theirs_leaf = s
                .theirs_leaf()
                .ok_or_else(|| format!("{app}: upstream has no migration to follow"))?;
            let new_parent = MigrationKey::new(app.clone(), theirs_leaf);
            let ours: Vec<MigrationKey> = s
                .ours
                .iter()
                .map(|m| MigrationKey::new(app.clone(), &m.name))
                .collect();
            let renames = rewrite::plan_reparent(&ours, &new_parent);
            check_free(project, &renames)?;
            let renamed: BTreeMap<&str, &Rename> =
                renames.iter().map(|r| (r.from.as_str(), r)).collect();
            // Which of ours hangs directly on the common ancestor.
            let ancestor = s
                .common_ancestor
                .as_ref()
                .map(|a| MigrationKey::new(app.clone(), a));
            // Every file that names a renamed migration, or is one of ours.
            let mut touched: BTreeSet<MigrationKey> = ours.iter().cloned().collect();
            for m in project.migrations.values() {
                let refs = m
                    .dependencies
                    .iter()
                    .chain(&m.run_before)
                    .chain(&m.replaces);
                if refs
                    .clone()
                    .any(|d| d.app == *app && renamed.contains_key(d.name.as_str()))
                {
                    touched.insert(m.key.clone());
                }
            }
            for key in &touched {
                let m = &project.migrations[key];
                let source = sources(&m.file).ok_or_else(|| format!("cannot read {}", m.file))?;
                let parsed = full(key).ok_or_else(|| format!("cannot read {}", m.file))?;
                let is_ours = ours.contains(key);
                let reparent = match (&ancestor, is_ours) {
                    (Some(a), true) if m.dependencies.contains(a) => Some((a, &new_parent)),
                    _ => None,
                };
                let new = rewrite::rewrite_references(&source, &parsed, &renames, key, reparent)
                    .map_err(|e| format!("{e}; use `--strategy merge`, or edit it by hand"))?;
                let target = match renamed.get(key.name.as_str()).filter(|_| key.app == *app) {
                    Some(r) => {
                        let dir = m.file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                        format!("{dir}/{}.py", r.to)
                    }
                    None => m.file.clone(),
                };
                let diff = unified_diff(&m.file, &target, &source, &new);
                files.insert(m.file.clone());
                files.insert(target.clone());
                steps.push(Step::Write {
                    replaces: (target != m.file).then(|| m.file.clone()),
                    file: target,
                    content: new,
                    diff,
                });
                if let Some(p) = full(key) {
                    hints.extend(review_lines(&key.name, &p, &key.app));
                }
            }
            if applied {
                steps.push(Step::Migrate);
            }
        }
        Strategy::Merge => match merge_file {
            None => steps.push(Step::MakemigrationsMerge { app: app.clone() }),
            Some((name, content)) => {
                let dir = project
                    .apps
                    .get(app)
                    .map(|a| a.path.clone())
                    .unwrap_or_default();
                let file = format!("{dir}/{name}.py");
                files.insert(file.clone());
                steps.push(Step::Write {
                    diff: unified_diff("/dev/null", &file, b"", content.as_bytes()),
                    file,
                    replaces: None,
                    content: content.into_bytes(),
                });
            }
        },
    }
    steps.push(Step::Verify);
    Ok(Plan {
        app: app.clone(),
        strategy,
        steps,
        files: files.into_iter().collect(),
        hints,
    })
}

/// New names must not collide with migrations that exist.
fn check_free(project: &Project, renames: &[Rename]) -> Result<(), String> {
    let from: BTreeSet<&str> = renames.iter().map(|r| r.from.as_str()).collect();
    for r in renames {
        let k = MigrationKey::new(r.app.clone(), r.to.clone());
        if project.migrations.contains_key(&k) && !from.contains(r.to.as_str()) {
            return Err(format!(
                "cannot rename {} to {}: that migration exists",
                r.from, r.to
            ));
        }
    }
    Ok(())
}

/// Review hints of one migration as lines: `name:line: message`.
pub fn review_lines(name: &str, parsed: &ParsedMigration, app: &str) -> Vec<String> {
    review::review(parsed, app)
        .into_iter()
        .map(|h: Hint| format!("{name}:{}: {}", h.line, h.message))
        .collect()
}

/// A unified diff of two texts.
pub fn unified_diff(old_name: &str, new_name: &str, old: &[u8], new: &[u8]) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(2)
        .header(old_name, new_name)
        .to_string()
}
