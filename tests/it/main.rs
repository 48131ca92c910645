//! One integration-test binary: a `mod` per area, helpers in `support`.

mod support;

mod django_agreement;
