//! Any bytes as a project (apps, migrations, squashes of themselves and of
//! squashes, `run_before`, missing nodes, entries that are no pair): its
//! graph builds without panic, consistent, and the same twice.
#![no_main]

use djmig::testing::arbitrary::{check, project_from_bytes};
use djmig::testing::build_graph;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (strict, data) = match data.split_first() {
        Some((first, rest)) => (first & 1 == 1, rest),
        None => (false, data),
    };
    let project = project_from_bytes(data);
    let built = build_graph(&project, strict);
    if let Err(why) = check(&project, &built, strict) {
        panic!("{why}");
    }
});
