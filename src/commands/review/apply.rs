//! `djmig review --fix`: plan the token edits of every fixable finding
//! (the core decides what is safe), show the diff, then write the files
//! behind the same journal `resolve` uses, so `djmig undo` puts every byte
//! back. With `--dry-run` only the diff is shown.

use std::path::PathBuf;

use crate::adapters::store::journal::{write_atomic, Journal};
use crate::core::pyparse::{parse_migration, FileProblemKind};
use crate::core::resolve::unified_diff;
use crate::core::review::{module_facts, plan_fix, Finding, RuleSettings};
use crate::core::rewrite::apply_edits;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

use super::gather::Gathered;
use super::render::{FileFix, FixReport, Report, Skipped};
use super::FixRequest;

/// One file's fix, planned.
struct Planned {
    source: usize,
    after: Vec<u8>,
}

pub fn run(
    ws: &Workspace,
    g: &mut Gathered,
    rules: &RuleSettings,
    fix: FixRequest,
    report: &mut Report,
) -> Result<()> {
    let mut out = FixReport {
        dry_run: fix.dry_run,
        ..FixReport::default()
    };
    let mut planned = Vec::new();
    for (i, s) in g.sources.iter().enumerate() {
        let findings: Vec<Finding> = report
            .findings
            .iter()
            .filter(|f| f.file == s.file)
            .cloned()
            .collect();
        if findings.iter().all(|f| f.fix_kind.is_none()) {
            continue;
        }
        let path = ws.root.join(&s.file);
        let link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        let plan = plan_fix(
            &s.file,
            &s.bytes,
            &s.parsed,
            &s.facts,
            &findings,
            fix.irreversible,
        );
        let skip = |k: usize, reason: String| Skipped {
            file: s.file.clone(),
            line: findings[k].line,
            rule: findings[k].rule.id().to_string(),
            reason,
        };
        out.skipped
            .extend(plan.skipped.iter().map(|(k, why)| skip(*k, why.clone())));
        if plan.edits.is_empty() {
            continue;
        }
        if link {
            out.skipped.extend(plan.fixed.iter().map(|k| {
                skip(
                    *k,
                    "the file is a symbolic link; djmig never writes through one".to_string(),
                )
            }));
            continue;
        }
        let after = apply_edits(&s.bytes, &plan.edits);
        // What is written must load: a fix that would not parse is a bug,
        // and nothing is written.
        let parsed = parse_migration(&after);
        if !parsed.has_migration_class
            || parsed
                .problems
                .iter()
                .any(|p| p.kind == FileProblemKind::Syntax)
        {
            return Err(Error::failed(format!(
                "the fix of {} would not parse; nothing was written",
                s.file
            ))
            .hint("please report this with the migration file"));
        }
        out.files.push(FileFix {
            file: s.file.clone(),
            fixed: plan.fixed.len(),
            diff: unified_diff(&s.file, &s.file, &s.bytes, &after),
        });
        planned.push(Planned { source: i, after });
    }
    if !fix.dry_run && !planned.is_empty() {
        write(ws, g, &planned)?;
        out.applied = true;
        // Review the files as written: what is left is what is reported.
        for p in &planned {
            let s = &mut g.sources[p.source];
            s.parsed = parse_migration(&p.after);
            s.facts = module_facts(&p.after);
            s.bytes = p.after.clone();
        }
        let settled = super::review(g, rules);
        report.findings = settled.findings;
        report.suppressed = settled.suppressed;
    }
    report.fix = Some(out);
    Ok(())
}

/// Write the fixed files behind a journal, each only if it is still as it
/// was read.
fn write(ws: &Workspace, g: &Gathered, planned: &[Planned]) -> Result<()> {
    let paths: Vec<PathBuf> = planned
        .iter()
        .map(|p| ws.root.join(&g.sources[p.source].file))
        .collect();
    for (p, path) in planned.iter().zip(&paths) {
        let now = crate::adapters::fs::read::read(path, crate::core::limits::Kind::Migration)
            .map_err(|e| Error::failed(format!("cannot read {}", path.display())).cause(e))?;
        if now != g.sources[p.source].bytes {
            return Err(Error::failed(format!(
                "{} changed while djmig was reviewing it; nothing was written",
                g.sources[p.source].file
            ))
            .hint("run `djmig review --fix` again"));
        }
    }
    let names: Vec<&str> = planned
        .iter()
        .map(|p| g.sources[p.source].file.as_str())
        .collect();
    let journal = Journal::begin(
        &ws.root,
        &format!("djmig review --fix ({})", names.join(", ")),
        &paths,
    )?;
    let _signals = crate::adapters::interrupt::guard();
    for (p, path) in planned.iter().zip(&paths) {
        write_atomic(path, &p.after).map_err(|e| {
            Error::failed(format!("cannot write {}", path.display()))
                .cause(e)
                .hint("`djmig undo` puts back every file this fix changed")
        })?;
    }
    journal.finish()
}
