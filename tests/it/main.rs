//! One integration-test binary: a `mod` per area, helpers in `support` (and
//! the throwaway PostgreSQL server in `pg`).

mod pg;
mod support;

mod cli;
mod completions;
mod database;
mod django_agreement;
mod dlm;
mod git_compare;
mod graph_agreement;
mod hooks;
mod hostile_files;
mod hostile_names;
mod hostile_repos;
mod layout;
mod resolve;
mod review;
mod revisions;
mod scenario;
mod ship;
mod snapshots;
mod stands;
