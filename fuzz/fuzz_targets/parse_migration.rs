//! Any bytes as a migration module, an `apps.py`, a settings module and a
//! `manage.py`: reading them never panics, and what is read points into
//! the file.
#![no_main]

use djmig::testing::{
    parse_app_label, parse_manage_py_settings, parse_migration, parse_migration_graph,
    parse_settings, DepEntry,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = parse_migration(data);
    let graph = parse_migration_graph(data);
    // The graph-only read is the full read without the operations.
    assert_eq!(full.dependencies, graph.dependencies);
    assert_eq!(full.replaces, graph.replaces);
    assert_eq!(full.run_before, graph.run_before);
    for e in full
        .dependencies
        .iter()
        .chain(&full.replaces)
        .chain(&full.run_before)
    {
        if let DepEntry::Key { app, name, .. } = e {
            for lit in [app, name] {
                if let Some((s, e)) = lit.span {
                    assert!(s <= e && e as usize <= data.len(), "span out of the file");
                }
            }
        }
    }
    for op in &full.operations {
        assert!(op.span.0 <= op.span.1 && op.span.1 as usize <= data.len());
    }
    let _ = parse_app_label(data);
    let _ = parse_settings(data);
    let _ = parse_manage_py_settings(data);
});
