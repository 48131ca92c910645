//! Entries of `dependencies`, `replaces` and `run_before` that are no
//! `(app_label, name)` pair of strings, taken as Django's loader takes
//! them: indexed (`key[0]`, `key[1]`), compared with strings, hashed. What
//! that does is Django's verdict: a graph node keyed by the value (that no
//! migration has), an exception, or nothing.

use crate::core::diag::{Diag, DiagKind};
use crate::core::keys::MigrationKey;
use crate::core::load::{DepAttr, Migration, OddEntry};
use crate::core::pyparse::{PyError, PyValue};

use super::MigrationGraph;

/// Keys that are no `(app, name)` pair live in this pseudo app, which no
/// app label can be (labels are identifiers).
pub(super) const OPAQUE_APP: &str = "\u{0}";

/// The graph key of a value that is no `(app, name)` pair: equal values
/// (Python's `==`) give equal keys.
pub(super) fn opaque_key(value: &PyValue) -> MigrationKey {
    MigrationKey::new(OPAQUE_APP, value.identity())
}

/// What Django makes of an entry that is no pair of strings.
pub(super) enum OddUse {
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
pub(super) fn odd_use(entry: &OddEntry, app: &str) -> OddUse {
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
pub(super) fn odd_error(
    key: &MigrationKey,
    m: &Migration,
    entry: &OddEntry,
    err: &PyError,
) -> Diag {
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
pub(super) fn replaced_keys(
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
