//! The pure core: parsing, discovery, the migration graph, analysis and reports.
//!
//! Nothing in here talks to git, a terminal or a subprocess. Files come in
//! through the [`tree::SourceTree`] trait so the same code reads the work tree,
//! a git revision, or a virtual merge of two revisions.

pub mod collisions;
pub mod config;
pub mod dates;
pub mod diag;
pub mod discover;
pub mod divergence;
pub mod dlm;
pub mod escape;
pub mod glob;
pub mod graph;
pub mod keys;
pub mod limits;
pub mod load;
pub mod merge_migration;
pub mod pyparse;
pub mod report;
pub mod resolve;
pub mod review;
pub mod rewrite;
pub mod settings;
pub mod standpoint;
pub mod stranded;
pub mod tree;
