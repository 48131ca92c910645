//! What the project's Django says about the local database, for a
//! resolution: what is applied (or why that cannot be known), what the
//! database is (a SQLite file is copied into the journal), what unapplying
//! would drop.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::adapters::django::Django;
use crate::core::keys::MigrationKey;
use crate::core::resolve::{AppliedRename, DataLoss, Database};
use crate::error::{Error, Result};

/// What is known of the local database.
pub struct Db {
    pub state: Database,
    /// Said before the plan.
    pub warnings: Vec<String>,
    /// Found while planning (a count that failed).
    notes: RefCell<Vec<String>>,
    pub info: Option<Info>,
}

/// Which database it is.
#[derive(Debug, Clone)]
pub struct Info {
    /// `SQLite database /…/db.sqlite3`, `PostgreSQL database "x" on …`.
    pub display: String,
    /// The file of a SQLite database (copied into the journal).
    pub sqlite: Option<PathBuf>,
    /// `sqlite`, `postgresql`, …
    pub vendor: String,
}

#[derive(Debug, Serialize)]
pub struct DatabaseJson {
    /// `known`, `unknown` or `ignored`.
    pub state: &'static str,
    pub reason: Option<String>,
    pub display: Option<String>,
    /// Whether a copy of the database file goes into the journal.
    pub copied: bool,
}

impl Db {
    pub fn note(&self, s: String) {
        self.notes.borrow_mut().push(s);
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.borrow().clone()
    }

    pub fn json(&self) -> DatabaseJson {
        let (state, reason) = match &self.state {
            Database::Known(_) => ("known", None),
            Database::Unknown(r) => ("unknown", Some(r.clone())),
            Database::Ignored => ("ignored", None),
            Database::NotAsked => ("not_asked", None),
        };
        DatabaseJson {
            state,
            reason,
            display: self.info.as_ref().map(|i| i.display.clone()),
            copied: self.info.as_ref().is_some_and(|i| i.sqlite.is_some()),
        }
    }

    /// The applied set, when known.
    pub fn applied(&self) -> Option<&BTreeSet<MigrationKey>> {
        match &self.state {
            Database::Known(s) => Some(s),
            _ => None,
        }
    }
}

/// A dry run: the database is not asked (that would run project code).
pub fn not_asked(no_database: bool) -> Db {
    Db {
        state: if no_database {
            Database::Ignored
        } else {
            Database::NotAsked
        },
        warnings: Vec::new(),
        notes: RefCell::new(Vec::new()),
        info: None,
    }
}

/// Ask the project's Django what is applied. `--no-database` skips it.
pub fn ask(no_database: bool, located: &Result<Django>, django: Option<&Django>) -> Db {
    let mut db = Db {
        state: Database::Ignored,
        warnings: Vec::new(),
        notes: RefCell::new(Vec::new()),
        info: None,
    };
    if no_database {
        return db;
    }
    let d = match (located, django) {
        (Err(e), _) => {
            db.state =
                Database::Unknown(format!("the project's manage.py cannot run: {}", e.message));
            return db;
        }
        (Ok(d), None) => {
            db.state = Database::Unknown(format!("{} cannot import Django", d.python.display()));
            return db;
        }
        (Ok(_), Some(d)) => d,
    };
    match applied_lists(d) {
        Ok(lists) => {
            db.state = Database::Known(
                lists
                    .into_iter()
                    .flat_map(|(app, v)| {
                        v.into_iter()
                            .filter(|(_, applied)| *applied)
                            .map(move |(n, _)| MigrationKey::new(app.clone(), n))
                    })
                    .collect(),
            );
        }
        Err(e) => {
            db.state = Database::Unknown(short_reason(&e));
            return db;
        }
    }
    match d.database() {
        Ok(info) => {
            db.info = Some(Info {
                display: info.display,
                sqlite: info.sqlite_path,
                vendor: info.vendor,
            })
        }
        Err(e) => db.warnings.push(format!(
            "cannot tell which database this is: {}",
            short_reason(&e)
        )),
    }
    db
}

/// An error in a line: the message and Django's last words.
pub fn short_reason(e: &Error) -> String {
    let last = e
        .causes
        .iter()
        .flat_map(|c| c.lines())
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()));
    format!("{}{}", e.message, last.unwrap_or_default())
}

/// `showmigrations --list`: per app, the migrations in Django's order and
/// whether each is applied.
pub fn applied_lists(d: &Django) -> Result<BTreeMap<String, Vec<(String, bool)>>> {
    d.showmigrations(&[])
}

/// What unapplying `keys` (children first) would drop.
pub fn data_at_risk(d: &Django, keys: &[MigrationKey]) -> Result<Vec<DataLoss>> {
    Ok(d.data_at_risk(keys)?
        .into_iter()
        .map(|x| DataLoss {
            migration: x.migration.to_string(),
            operation: x.operation,
            table: x.table,
            column: x.column,
            rows: x.rows,
        })
        .collect())
}

/// Rename `django_migrations` rows.
pub fn rename_applied(d: &Django, renames: &[AppliedRename]) -> Result<()> {
    let pairs: Vec<(MigrationKey, String)> = renames
        .iter()
        .map(|r| {
            (
                MigrationKey::new(r.app.clone(), r.from.clone()),
                r.to.clone(),
            )
        })
        .collect();
    d.rename_applied(&pairs)
}

/// Per app, the `migrate APP TARGET` target that gives back the state
/// `lists` shows: its last applied migration in Django's order, or `zero`.
pub fn restore_targets(
    lists: &BTreeMap<String, Vec<(String, bool)>>,
    apps: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    apps.iter()
        .map(|app| {
            let target = lists
                .get(app)
                .and_then(|v| v.iter().rev().find(|(_, a)| *a))
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| "zero".to_string());
            (app.clone(), target)
        })
        .collect()
}

/// The apps whose applied migrations differ between two listings.
pub fn changed_apps(
    before: &BTreeMap<String, Vec<(String, bool)>>,
    after: &BTreeMap<String, Vec<(String, bool)>>,
) -> BTreeSet<String> {
    let applied = |m: &BTreeMap<String, Vec<(String, bool)>>, app: &str| -> BTreeSet<String> {
        m.get(app)
            .map(|v| {
                v.iter()
                    .filter(|(_, a)| *a)
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    before
        .keys()
        .chain(after.keys())
        .filter(|app| applied(before, app) != applied(after, app))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(v: &[(&str, &[(&str, bool)])]) -> BTreeMap<String, Vec<(String, bool)>> {
        v.iter()
            .map(|(app, ms)| {
                (
                    app.to_string(),
                    ms.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn targets_and_changes() {
        let before = lists(&[
            ("blog", &[("0001", true), ("0002", true), ("0003", false)]),
            ("notes", &[("0001", false)]),
        ]);
        let after = lists(&[
            ("blog", &[("0001", true), ("0002", false), ("0003", false)]),
            ("notes", &[("0001", false)]),
        ]);
        let apps: BTreeSet<String> = ["blog", "notes", "gone"].map(String::from).into();
        let t = restore_targets(&before, &apps);
        assert_eq!(t["blog"], "0002");
        assert_eq!(t["notes"], "zero");
        assert_eq!(t["gone"], "zero");
        assert_eq!(
            changed_apps(&before, &after),
            BTreeSet::from(["blog".to_string()])
        );
    }
}
