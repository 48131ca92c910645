//! Which side each migration came from when two snapshots of a project are
//! compared: the merge-base, "ours" (the developer's own work), "theirs"
//! (upstream), and the virtual merge of the two.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::diag::{Diag, DiagKind};
use super::graph::MigrationGraph;
use super::keys::MigrationKey;

/// What a comparison knows: which migrations each side has (read from
/// its files), and the graph of the virtual merge, which holds them all.
pub struct Sides<'a> {
    pub merge_base: &'a BTreeSet<MigrationKey>,
    pub ours: &'a BTreeSet<MigrationKey>,
    pub theirs: &'a BTreeSet<MigrationKey>,
    pub merged: &'a MigrationGraph,
}

/// One app's divergence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppDivergence {
    /// The app's leaf at the merge-base (`null` when the app is new there).
    pub merge_base_leaf: Option<String>,
    /// Migrations only on head (ours), in dependency order.
    pub ours: Vec<String>,
    /// Migrations only on base (theirs), in dependency order.
    pub theirs: Vec<String>,
    /// Those of `ours` already reachable from a remote-tracking branch or tag.
    pub published: Vec<String>,
    /// Other apps' migrations (`app.name`) that depend on ours.
    pub apps_depending_on_ours: Vec<String>,
}

/// Where a leaf of the merged graph came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeafSide {
    Ours,
    Theirs,
    Both,
}

impl AppDivergence {
    pub fn side_of(&self, name: &str) -> LeafSide {
        if self.ours.iter().any(|n| n == name) {
            LeafSide::Ours
        } else if self.theirs.iter().any(|n| n == name) {
            LeafSide::Theirs
        } else {
            LeafSide::Both
        }
    }
}

/// Divergence of every app whose merged graph has more than one leaf.
/// `is_published(key)` says whether one of ours is already published.
pub fn divergence(
    sides: &Sides,
    apps: impl IntoIterator<Item = String>,
    is_published: &dyn Fn(&MigrationKey) -> bool,
) -> BTreeMap<String, AppDivergence> {
    let conflicted = sides.merged.conflicted_apps();
    let mut out = BTreeMap::new();
    for app in apps {
        if conflicted.contains(&app) {
            out.insert(app.clone(), app_divergence(sides, &app, is_published));
        }
    }
    out
}

/// The divergence of one app, whether or not it conflicts.
pub fn app_divergence(
    sides: &Sides,
    app: &str,
    is_published: &dyn Fn(&MigrationKey) -> bool,
) -> AppDivergence {
    let g = sides.merged;
    let in_app = |set: &BTreeSet<MigrationKey>| -> BTreeSet<MigrationKey> {
        set.iter()
            .filter(|k| k.app == app && g.contains(k))
            .cloned()
            .collect()
    };
    let base_nodes = in_app(sides.merge_base);
    // Theirs: what upstream added since the merge base. Ours: what head
    // added that upstream does not have — a merge in progress or a
    // cherry-pick puts upstream's migrations on head too, and they stay
    // upstream's.
    let theirs_set: BTreeSet<MigrationKey> = in_app(sides.theirs)
        .into_iter()
        .filter(|k| !base_nodes.contains(k))
        .collect();
    let ours_set: BTreeSet<MigrationKey> = in_app(sides.ours)
        .into_iter()
        .filter(|k| !base_nodes.contains(k) && !sides.theirs.contains(k))
        .collect();
    let ours = dependency_order(g, ours_set.iter().cloned().collect());
    let theirs = dependency_order(g, theirs_set.into_iter().collect());
    let mut dependents = BTreeSet::new();
    for k in &ours {
        for d in g.descendants(k) {
            if d.app != app && !ours_set.contains(&d) {
                dependents.insert(d.to_string());
            }
        }
    }
    // The merge base's leaf: its migration none of its others depend on.
    let merge_base_leaf = base_nodes
        .iter()
        .find(|k| !g.children(k).iter().any(|c| base_nodes.contains(c)))
        .map(|k| k.name.clone());
    AppDivergence {
        merge_base_leaf,
        published: ours
            .iter()
            .filter(|k| is_published(k))
            .map(|k| k.name.clone())
            .collect(),
        ours: ours.into_iter().map(|k| k.name).collect(),
        theirs: theirs.into_iter().map(|k| k.name).collect(),
        apps_depending_on_ours: dependents.into_iter().collect(),
    }
}

/// Sort keys of one app so that each comes after its same-set parents;
/// ties by name.
pub fn dependency_order(g: &MigrationGraph, keys: Vec<MigrationKey>) -> Vec<MigrationKey> {
    let set: BTreeSet<MigrationKey> = keys.into_iter().collect();
    let mut placed: BTreeSet<MigrationKey> = BTreeSet::new();
    let mut out = Vec::with_capacity(set.len());
    while out.len() < set.len() {
        let ready: Vec<MigrationKey> = set
            .iter()
            .filter(|k| !placed.contains(*k))
            .filter(|k| {
                g.parents(k)
                    .iter()
                    .all(|p| !set.contains(p) || placed.contains(p))
            })
            .cloned()
            .collect();
        if ready.is_empty() {
            // A cycle: the rest in name order.
            out.extend(set.iter().filter(|k| !placed.contains(*k)).cloned());
            break;
        }
        for k in ready {
            placed.insert(k.clone());
            out.push(k);
        }
    }
    out
}

/// An error as found in any snapshot: its kind, file and message (its
/// line may move between versions of a file).
pub type ErrorKey = (DiagKind, Option<String>, String);

/// Where an error of the merge is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorHome {
    /// In head's files and in base's: it is there whether or not they merge.
    Both,
    /// In head's files only.
    Ours,
    /// In base's files only.
    Theirs,
    /// Only in the merge: neither side has it on its own.
    Merge,
}

/// What identifies each of these errors across snapshots.
pub fn error_keys<'a>(errors: impl Iterator<Item = &'a Diag>) -> HashSet<ErrorKey> {
    errors
        .map(|d| (d.kind, d.file.clone(), d.message.clone()))
        .collect()
}

/// Whose files hold an error the virtual merge reports, given the errors
/// head's files and base's files have when each is read whole: an error of
/// the merge alone is one neither side has.
pub fn error_home(
    ours: &HashSet<ErrorKey>,
    theirs: &HashSet<ErrorKey>,
    error: &ErrorKey,
) -> ErrorHome {
    match (ours.contains(error), theirs.contains(error)) {
        (true, true) => ErrorHome::Both,
        (true, false) => ErrorHome::Ours,
        (false, true) => ErrorHome::Theirs,
        (false, false) => ErrorHome::Merge,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: DiagKind, file: &str, message: &str) -> ErrorKey {
        (kind, Some(file.to_string()), message.to_string())
    }

    #[test]
    fn whose_files_hold_an_error_of_the_merge() {
        let missing = key(
            DiagKind::NodeNotFound,
            "blog/migrations/0004_a.py",
            "Migration blog.0004_a dependencies reference nonexistent parent node ('blog', '0003_b')",
        );
        let syntax = key(
            DiagKind::Syntax,
            "blog/migrations/0004_b.py",
            "invalid syntax",
        );
        let cycle = (
            DiagKind::CircularDependency,
            None,
            "blog.0001 -> blog.0002".to_string(),
        );
        let set = |keys: &[&ErrorKey]| keys.iter().map(|k| (*k).clone()).collect::<HashSet<_>>();
        // (head's errors, base's errors, the merge's error, whose)
        let cases: [(HashSet<ErrorKey>, HashSet<ErrorKey>, &ErrorKey, ErrorHome); 7] = [
            (set(&[&syntax]), set(&[]), &syntax, ErrorHome::Ours),
            (set(&[]), set(&[&syntax]), &syntax, ErrorHome::Theirs),
            (set(&[&cycle]), set(&[&cycle]), &cycle, ErrorHome::Both),
            // Ours depends on a migration upstream deleted: neither side alone.
            (set(&[]), set(&[]), &missing, ErrorHome::Merge),
            (set(&[&syntax]), set(&[&cycle]), &missing, ErrorHome::Merge),
            // The same message in another file is another error.
            (
                set(&[&key(
                    DiagKind::Syntax,
                    "shop/migrations/0004_b.py",
                    "invalid syntax",
                )]),
                set(&[]),
                &syntax,
                ErrorHome::Merge,
            ),
            // And another kind with the same text too.
            (
                set(&[&key(
                    DiagKind::InvalidValue,
                    "blog/migrations/0004_b.py",
                    "invalid syntax",
                )]),
                set(&[]),
                &syntax,
                ErrorHome::Merge,
            ),
        ];
        for (ours, theirs, error, home) in &cases {
            assert_eq!(error_home(ours, theirs, error), *home, "{error:?}");
        }
    }

    #[test]
    fn an_error_is_known_by_kind_file_and_message_not_line() {
        let a =
            Diag::new(DiagKind::Syntax, "invalid syntax").at("blog/migrations/0004_b.py", Some(3));
        let b =
            Diag::new(DiagKind::Syntax, "invalid syntax").at("blog/migrations/0004_b.py", Some(9));
        let keys = error_keys([&a, &b].into_iter());
        assert_eq!(keys.len(), 1);
        assert!(keys.contains(&key(
            DiagKind::Syntax,
            "blog/migrations/0004_b.py",
            "invalid syntax"
        )));
    }
}
