//! The order squashes are handled in, and what that order decides.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::diag::{Diag, DiagKind};
use crate::core::keys::MigrationKey;
use crate::core::load::{DepAttr, Migration, Project};

use super::odd::{opaque_key, OPAQUE_APP};
use super::{entry_line, py_key, MigrationGraph};

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
pub(super) fn replacement_order<'p>(
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
