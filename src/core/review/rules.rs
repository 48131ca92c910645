//! The catalogue of `djmig review`'s rules: each one's stable id, default
//! severity and what it is about, in one place so the text, JSON, GitHub and
//! SARIF outputs and the configuration all speak of the same rules.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much a finding matters. Only `error` fails `djmig review` (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    DeployedEdited,
    DeployedRenamed,
    DeployedDeleted,
    NumberBehindBase,
    DuplicateNumber,
    AddFieldNotNull,
    IndexLocksTable,
    ConcurrentInTransaction,
    DataLoss,
    RenameBreaksDeploy,
    AlterColumnType,
    Irreversible,
    ModelImport,
    MixedAtomic,
    BadSuppression,
}

impl Rule {
    /// Every rule, in the order the README documents them.
    pub const ALL: [Rule; 15] = [
        Rule::DeployedEdited,
        Rule::DeployedRenamed,
        Rule::DeployedDeleted,
        Rule::NumberBehindBase,
        Rule::DuplicateNumber,
        Rule::AddFieldNotNull,
        Rule::IndexLocksTable,
        Rule::ConcurrentInTransaction,
        Rule::DataLoss,
        Rule::RenameBreaksDeploy,
        Rule::AlterColumnType,
        Rule::Irreversible,
        Rule::ModelImport,
        Rule::MixedAtomic,
        Rule::BadSuppression,
    ];

    /// The stable id, as written in suppressions, configuration and output.
    pub fn id(self) -> &'static str {
        match self {
            Rule::DeployedEdited => "deployed-edited",
            Rule::DeployedRenamed => "deployed-renamed",
            Rule::DeployedDeleted => "deployed-deleted",
            Rule::NumberBehindBase => "number-behind-base",
            Rule::DuplicateNumber => "duplicate-number",
            Rule::AddFieldNotNull => "add-field-not-null",
            Rule::IndexLocksTable => "index-locks-table",
            Rule::ConcurrentInTransaction => "concurrent-in-transaction",
            Rule::DataLoss => "data-loss",
            Rule::RenameBreaksDeploy => "rename-breaks-deploy",
            Rule::AlterColumnType => "alter-column-type",
            Rule::Irreversible => "irreversible",
            Rule::ModelImport => "model-import",
            Rule::MixedAtomic => "mixed-atomic",
            Rule::BadSuppression => "bad-suppression",
        }
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Every id, comma-separated: for hints.
    pub fn all_ids() -> String {
        Rule::ALL.map(Rule::id).join(", ")
    }

    pub fn default_severity(self) -> Severity {
        match self {
            Rule::DeployedEdited
            | Rule::DeployedRenamed
            | Rule::DeployedDeleted
            | Rule::AddFieldNotNull
            | Rule::ConcurrentInTransaction
            | Rule::DataLoss
            | Rule::RenameBreaksDeploy
            | Rule::AlterColumnType
            | Rule::ModelImport => Severity::Error,
            Rule::NumberBehindBase
            | Rule::DuplicateNumber
            | Rule::IndexLocksTable
            | Rule::Irreversible
            | Rule::MixedAtomic
            | Rule::BadSuppression => Severity::Warning,
        }
    }

    /// What the rule catches, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Rule::DeployedEdited => "A migration that exists on the base branch is edited",
            Rule::DeployedRenamed => "A migration that exists on the base branch is renamed",
            Rule::DeployedDeleted => "A migration that exists on the base branch is deleted",
            Rule::NumberBehindBase => {
                "A new migration is numbered at or below the latest migration of its app on the base"
            }
            Rule::DuplicateNumber => "Two new migrations of one app have the same number",
            Rule::AddFieldNotNull => {
                "AddField adds a NOT NULL column without default or db_default to an existing table"
            }
            Rule::IndexLocksTable => {
                "An index is built on an existing table without CONCURRENTLY, blocking writes"
            }
            Rule::ConcurrentInTransaction => {
                "A concurrent index operation in a migration that runs in a transaction"
            }
            Rule::DataLoss => "RemoveField or DeleteModel drops a column or table and its data",
            Rule::RenameBreaksDeploy => {
                "RenameField, RenameModel or AlterModelTable breaks code still running during a deploy"
            }
            Rule::AlterColumnType => "AlterField changes the type of a column",
            Rule::Irreversible => "RunPython without reverse_code, or RunSQL without reverse_sql",
            Rule::ModelImport => {
                "RunPython code imports models directly instead of using apps.get_model"
            }
            Rule::MixedAtomic => {
                "Schema changes and RunPython/RunSQL in one transaction (atomic migration)"
            }
            Rule::BadSuppression => "A `# djmig: ignore[...]` comment without a reason or with an unknown rule",
        }
    }

    /// Why it matters: the longer description (SARIF `fullDescription`).
    pub fn why(self) -> &'static str {
        match self {
            Rule::DeployedEdited => {
                "Databases that applied the migration never run it again: the edit reaches only new \
                 databases, so environments drift apart."
            }
            Rule::DeployedRenamed => {
                "Django records applied migrations by name: every database that applied the old name \
                 sees the new name as a migration to apply, and applies it again or fails."
            }
            Rule::DeployedDeleted => {
                "Databases that applied it keep its changes, new ones never get them, and migrations \
                 that depend on it no longer load."
            }
            Rule::NumberBehindBase => {
                "The migration was written before the base's latest migrations came in: its number no \
                 longer tells the order, and it may fork the app's history."
            }
            Rule::DuplicateNumber => {
                "Two migrations with one number usually fork an app's history, and always make the \
                 order unclear to readers."
            }
            Rule::AddFieldNotNull => {
                "Existing rows have no value for the new column: the migration fails on a table with \
                 rows."
            }
            Rule::IndexLocksTable => {
                "CREATE INDEX holds a lock that blocks every write to the table until the index is \
                 built, which takes minutes on a large table."
            }
            Rule::ConcurrentInTransaction => {
                "PostgreSQL cannot build or drop an index concurrently inside a transaction: Django \
                 refuses to run the migration."
            }
            Rule::DataLoss => {
                "The data is gone once the migration runs, and code still running the previous release \
                 during the deploy fails on the missing column or table."
            }
            Rule::RenameBreaksDeploy => {
                "During a deploy the previous release still runs and queries the old name, which no \
                 longer exists."
            }
            Rule::AlterColumnType => {
                "PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock (no reads or writes) for \
                 most type changes, and code still running may not handle the new type."
            }
            Rule::Irreversible => {
                "The migration cannot be unapplied: rolling back a release or switching branches \
                 locally stops there."
            }
            Rule::ModelImport => {
                "An imported model is the current code's, not the historical one: the migration breaks \
                 as soon as the model changes later."
            }
            Rule::MixedAtomic => {
                "On PostgreSQL the whole migration is one transaction: the locks the schema changes take \
                 are held until the data migration finishes."
            }
            Rule::BadSuppression => {
                "A suppression must name a known rule and say why, so the next reader knows the risk \
                 was weighed."
            }
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let id = String::deserialize(d)?;
        Rule::from_id(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown rule {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Rule::ALL {
            assert!(seen.insert(r.id()), "{r} twice");
            assert_eq!(Rule::from_id(r.id()), Some(r));
            assert!(r.id().chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert!(!r.summary().is_empty() && !r.why().is_empty());
        }
        assert_eq!(Rule::from_id("nope"), None);
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
        assert_eq!(
            serde_json::to_string(&Rule::DataLoss).unwrap(),
            "\"data-loss\""
        );
    }
}
