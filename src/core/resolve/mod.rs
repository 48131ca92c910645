//! Resolution, as data: the situation of each conflicted app (which chain is
//! upstream's, which is the developer's own, what each migration does, what
//! depends on it, what the local database holds), the strategy to use and
//! why ([`decide`]), and the plan of a strategy ([`plan`]) — every step
//! spelled out before anything runs, so `--dry-run` prints exactly what
//! would happen.

mod decide;
mod error;
mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::graph::MigrationGraph;
use super::keys::MigrationKey;
use super::load::Project;
use super::pyparse::ParsedMigration;
use super::review::{self, Hint};

pub use decide::{decide, DecisionInputs};
pub use error::PlanError;
pub use plan::{assemble, plan, AppliedRename, Plan, PlanContext, Step};

/// How to fix a conflicted app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    Regenerate,
    Reparent,
    Merge,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::Regenerate, Strategy::Reparent, Strategy::Merge];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Regenerate => "regenerate",
            Strategy::Reparent => "reparent",
            Strategy::Merge => "merge",
        }
    }

    /// Whether the strategy deletes or renames the developer's migrations.
    pub fn rewrites_ours(self) -> bool {
        self != Strategy::Merge
    }
}

/// What is known of the local database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The migrations recorded as applied.
    Known(BTreeSet<MigrationKey>),
    /// It could not be asked; the reason.
    Unknown(String),
    /// The user said it does not matter (`--no-database`).
    Ignored,
    /// Not asked: a dry run runs no project code. A real run asks first
    /// and adds the steps its applied migrations need.
    NotAsked,
}

impl Database {
    pub fn applied(&self, k: &MigrationKey) -> Option<bool> {
        match self {
            Database::Known(set) => Some(set.contains(k)),
            _ => None,
        }
    }
}

/// Stored data a step would drop: what unapplying a migration removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataLoss {
    /// `app.name` of the migration whose reversal drops it.
    pub migration: String,
    /// `AddField blog.post.views`.
    pub operation: String,
    pub table: String,
    pub column: Option<String>,
    /// Rows holding data there (non-null values of the column, or rows of
    /// the table).
    pub rows: u64,
}

impl DataLoss {
    pub fn describe(&self) -> String {
        match &self.column {
            Some(c) => format!(
                "{} drops {}.{c}, which holds values in {} row(s)",
                self.operation, self.table, self.rows
            ),
            None => format!(
                "{} drops the table {} with its {} row(s)",
                self.operation, self.table, self.rows
            ),
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
    /// Upstream's chain, in dependency order.
    pub theirs: Vec<MigInfo>,
    /// Other apps' migrations that depend on upstream's (set aside with
    /// them when ours are unapplied).
    pub theirs_dependents: Vec<MigInfo>,
    /// The developer's own chain, in dependency order.
    pub ours: Vec<MigInfo>,
    /// Other apps' migrations that depend on ours (`app.name`).
    pub dependents: Vec<MigInfo>,
    /// Models or fields both sides touch.
    pub overlaps: Vec<String>,
    /// What unapplying ours (and their dependents) would drop.
    pub data_at_risk: Vec<DataLoss>,
    /// Whether re-parenting can keep ours applied (rows renamed, upstream's
    /// applied beneath them) instead of unapplying them: not when both
    /// sides change one field, nor — on a database that rebuilds a table
    /// to change it, like SQLite — when upstream changes a table ours
    /// changed too (the rebuild would drop ours' columns).
    pub reparent_keeps_rows: bool,
    pub recommended: Strategy,
    pub reason: String,
    /// Strategies that must not be used here, with the reason.
    pub refused: BTreeMap<Strategy, String>,
}

impl Situation {
    pub fn theirs_leaf(&self) -> Option<&str> {
        self.theirs.last().map(|m| m.name.as_str())
    }

    /// Ours and their dependents.
    pub fn ours_and_dependents(&self) -> impl Iterator<Item = &MigInfo> {
        self.ours.iter().chain(&self.dependents)
    }

    pub fn any_applied(&self) -> bool {
        self.ours_and_dependents().any(|m| m.applied == Some(true))
    }
}

/// What the caller knows besides the graph.
pub struct Facts<'a> {
    /// Whether a project file exists in upstream's revision.
    pub in_base: &'a dyn Fn(&str) -> bool,
    /// Whether a project file is published.
    pub published: &'a dyn Fn(&str) -> bool,
    /// The local database.
    pub database: &'a Database,
    /// Full parses (operations included) of the files involved.
    pub full: &'a dyn Fn(&MigrationKey) -> Option<Arc<ParsedMigration>>,
    /// Whether the project's Django can run (makemigrations).
    pub django_runs: bool,
    /// What unapplying these applied migrations (children first) would
    /// drop; asked of the project's Django.
    pub data_at_risk: &'a dyn Fn(&[MigrationKey]) -> Vec<DataLoss>,
    /// The database rebuilds a table to change it (SQLite).
    pub rebuilds_tables: bool,
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

/// Other apps' project migrations that depend on any of `keys`, not in
/// `keys`, in dependency order.
fn dependents_of(
    project: &Project,
    graph: &MigrationGraph,
    app: &str,
    keys: &[MigrationKey],
) -> Vec<MigrationKey> {
    let set: BTreeSet<&MigrationKey> = keys.iter().collect();
    let mut out: BTreeSet<MigrationKey> = BTreeSet::new();
    for k in keys {
        for d in graph.descendants(k) {
            if d.app != app && !set.contains(&d) && project.migrations.contains_key(&d) {
                out.insert(d);
            }
        }
    }
    super::divergence::dependency_order(graph, out.into_iter().collect())
}

/// Work out the situation of one conflicted app of the work tree (or of
/// the merge to come).
pub fn situation(
    project: &Project,
    graph: &MigrationGraph,
    app: &str,
    facts: &Facts,
) -> Result<Situation, PlanError> {
    let leaves = graph.leaves(app);
    if leaves.len() < 2 {
        return Err(PlanError::NothingToResolve {
            app: app.to_string(),
        });
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
    let theirs_chain_count = theirs_chains.len();
    let theirs_keys: Vec<MigrationKey> = theirs_chains.into_iter().next().unwrap_or_default();
    let ours_keys: Vec<MigrationKey> =
        super::divergence::dependency_order(graph, ours_keys.into_iter().collect());
    let dependent_keys = dependents_of(project, graph, app, &ours_keys);
    let theirs_dependent_keys: Vec<MigrationKey> = dependents_of(project, graph, app, &theirs_keys)
        .into_iter()
        .filter(|k| !dependent_keys.contains(k))
        .collect();
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
            applied: facts.database.applied(k),
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
    let dependents: Vec<MigInfo> = dependent_keys.iter().map(&info).collect();
    let theirs_dependents: Vec<MigInfo> = theirs_dependent_keys.iter().map(&info).collect();

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

    // What unapplying the applied ones would drop, children first.
    let applied_keys: Vec<MigrationKey> = ours_keys
        .iter()
        .chain(&dependent_keys)
        .filter(|k| facts.database.applied(k) == Some(true))
        .cloned()
        .collect();
    let mut unapply_order = super::divergence::dependency_order(graph, applied_keys);
    unapply_order.reverse();
    let data_at_risk = if unapply_order.is_empty() {
        Vec::new()
    } else {
        (facts.data_at_risk)(&unapply_order)
            .into_iter()
            .filter(|d| d.rows > 0)
            .collect()
    };

    let field_overlap = overlaps.iter().any(|o| o.matches('.').count() >= 2);
    // SQLite rebuilds a table to change it, from Django's state, which
    // would not know ours' columns while upstream's are applied beneath.
    let table_rebuilt = facts.rebuilds_tables && !overlaps.is_empty();
    let reparent_keeps_rows = !unapply_order.is_empty() && !field_overlap && !table_rebuilt;
    let any_applied = match facts.database {
        Database::Known(_) => Some(!unapply_order.is_empty()),
        _ => None,
    };
    let d = decide(&DecisionInputs {
        theirs_chains: theirs_chain_count,
        published: ours
            .iter()
            .filter(|m| m.published)
            .map(|m| m.name.clone())
            .collect(),
        hand_written: ours
            .iter()
            .chain(&dependents)
            .filter_map(|m| m.hand_written.clone())
            .collect(),
        django_runs: facts.django_runs,
        any_applied,
        rows_at_risk: data_at_risk.iter().map(|d| d.rows).sum(),
        reparent_keeps_rows,
    });
    Ok(Situation {
        app: app.to_string(),
        common_ancestor: ancestor.map(|k| k.name),
        theirs,
        theirs_dependents,
        ours,
        dependents,
        overlaps,
        data_at_risk,
        reparent_keeps_rows,
        recommended: d.recommended,
        reason: d.reason,
        refused: d.refused,
    })
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

#[cfg(test)]
mod tests;
