//! djmig: reads Django migration graphs statically — from the work tree or
//! any git revision — finds forked histories, and guides the fix.
//!
//! The layers (ARCHITECTURE.md): [`core`] is pure — parsing, the graph,
//! analysis, the decisions and plans of the commands; [`adapters`] hold
//! every outside system, one module each (git, processes, Django, the file
//! system, djmig's stores, hook scripts); [`terminal`] is colour, progress
//! and questions; [`commands`] has one module per command, tying them to
//! the command line ([`cli`]); [`error`] maps errors to exit codes.

//!
//! The public surface is what the binary needs ([`cli`], [`run`], [`Io`],
//! [`Style`]) and, hidden, what the tests, the benchmark and the fuzz
//! targets reach inside ([`testing`]); everything else is private, so the
//! compiler reports code nothing uses.

mod adapters;
pub mod cli;
mod commands;
mod core;
mod error;
mod terminal;
mod workspace;

pub use commands::{run, Io};
pub use terminal::style::Style;

/// What the integration tests, the benchmark and the fuzz targets reach
/// inside djmig. Not an API: it changes with them.
#[doc(hidden)]
pub mod testing {
    pub use crate::adapters::django::{DataAtRisk, Django};
    pub use crate::adapters::store::journal::Journal;
    pub use crate::core::graph::{arbitrary, build_graph};
    pub use crate::core::keys::MigrationKey;
    pub use crate::core::pyparse::{
        parse_app_label, parse_manage_py_settings, parse_migration, parse_migration_graph,
        parse_settings, DepEntry, FileProblemKind,
    };
}
