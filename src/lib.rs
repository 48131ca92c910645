//! djmig: reads Django migration graphs statically — from the work tree or
//! any git revision — finds forked histories, and guides the fix.
//!
//! Layers: [`core`] is pure (parsing, graph, analysis, reports and the
//! decisions of the commands); `fs_tree` reads directories; [`git`] is the
//! one place that uses libgit2 and [`process`] the one place that starts a
//! process; `commands` ties them to the command line.

pub mod cache;
pub mod cli;
pub mod commands;
pub mod core;
pub mod django;
pub mod error;
pub mod escape;
pub mod fs_tree;
pub mod git;
pub mod hooks;
pub mod interrupt;
pub mod journal;
pub mod limits;
pub mod process;
pub mod results;
pub mod style;
pub mod term;
pub mod workspace;
