//! One integration-test binary: a `mod` per area, helpers in `support`.

mod support;

mod cli;
mod django_agreement;
