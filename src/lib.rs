//! djmig: reads Django migration graphs statically — from the work tree or
//! any git revision — finds forked histories, and guides the fix.
//!
//! The layers (ARCHITECTURE.md): [`core`] is pure — parsing, the graph,
//! analysis, the decisions and plans of the commands; [`adapters`] hold
//! every outside system, one module each (git, processes, Django, the file
//! system, djmig's stores, hook scripts); [`terminal`] is colour, progress
//! and questions; [`commands`] has one module per command, tying them to
//! the command line ([`cli`]); [`error`] maps errors to exit codes.

pub mod adapters;
pub mod cli;
pub mod commands;
pub mod core;
pub mod error;
pub mod terminal;
pub mod workspace;
