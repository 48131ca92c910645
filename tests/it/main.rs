//! One integration-test binary: a `mod` per area, helpers in `support`.

mod support;

mod cli;
mod completions;
mod django_agreement;
mod dlm;
mod git_compare;
mod hooks;
mod resolve;
