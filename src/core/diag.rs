//! Errors and warnings found while reading a project, with the file and line
//! they are about. These are data (reported in JSON), not Rust errors.

use serde::{Deserialize, Serialize};

/// The kind of a reported problem. Error kinds are fixed by the JSON schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagKind {
    // errors
    Syntax,
    BadMigration,
    NodeNotFound,
    CircularDependency,
    DuplicateAppLabel,
    Config,
    /// A file djmig must read and does not: a FIFO, a device, a link out
    /// of the project, too large, or an object missing from git.
    Unreadable,
    /// One migration replaced by two squashes: Django's graph depends on
    /// the order it happens to handle them in.
    AmbiguousReplacement,
    /// A value Python or Django raises on while loading a migration: a
    /// dependency entry that cannot be indexed or hashed, `None` for a list.
    InvalidValue,
    /// An entry of a migrations package named like a module that Python
    /// cannot import (a directory, a FIFO, a broken link).
    ImportError,
    /// An app label Django refuses: not a Python identifier.
    InvalidAppLabel,
    // warnings
    NonLiteral,
    NotAMigrationsPackage,
    UnmigratedApp,
    External,
    LabelDetection,
    Settings,
    Parse,
    /// A django-linear-migrations `max_migration.txt` that does not name the
    /// app's leaf; a warning, but `check` exits 1 for it.
    MaxMigration,
    /// A directory that could not be listed: what is below it is not read.
    UnreadableDirectory,
    /// A git submodule, not read at a revision.
    Submodule,
    /// A squash that lists itself in `replaces`: Django's loader accepts it
    /// but drops it from the graph.
    SelfReplacing,
}

impl DiagKind {
    /// Errors stop the graph from being trusted (exit code 3); the rest are
    /// warnings.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            DiagKind::Syntax
                | DiagKind::BadMigration
                | DiagKind::NodeNotFound
                | DiagKind::CircularDependency
                | DiagKind::DuplicateAppLabel
                | DiagKind::Config
                | DiagKind::Unreadable
                | DiagKind::AmbiguousReplacement
                | DiagKind::InvalidValue
                | DiagKind::ImportError
                | DiagKind::InvalidAppLabel
        )
    }
}

/// One problem: an error or a warning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diag {
    pub kind: DiagKind,
    pub message: String,
    /// Path relative to the project root, '/'-separated.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column, when known (shown in text, not part of the JSON).
    #[serde(skip)]
    pub col: Option<u32>,
}

impl Diag {
    pub fn new(kind: DiagKind, message: impl Into<String>) -> Self {
        Diag {
            kind,
            message: message.into(),
            file: None,
            line: None,
            col: None,
        }
    }
    pub fn at(mut self, file: impl Into<String>, line: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self
    }
    pub fn col(mut self, col: u32) -> Self {
        self.col = Some(col);
        self
    }
}
