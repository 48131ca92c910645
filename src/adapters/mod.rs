//! Every outside system djmig talks to, each behind its own module: the core
//! never sees them, and nothing else reaches them directly.
//!
//! - [`git`]: repositories through git2 (the only user of git2);
//! - [`process`]: starting programs (the only place a process starts), and
//!   [`interrupt`]: Ctrl-C while a resolution changes things;
//! - [`django`]: the project's `manage.py` and its local database, run
//!   through [`process`];
//! - [`fs`]: the work tree as a `SourceTree`, and reading files a repository
//!   may have planted;
//! - [`store`]: djmig's own files: parse cache, result cache, journal;
//! - [`hook_scripts`]: djmig's block in the repository's git hook scripts.

pub mod django;
pub mod fs;
pub mod git;
pub mod hook_scripts;
pub mod interrupt;
pub mod process;
pub mod store;
