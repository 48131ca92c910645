//! `djmig review --fix`: the edits that fix findings, token by token, as
//! `resolve` rewrites references — only what changes, every other byte as
//! it was:
//!
//! - `AddIndex` → `AddIndexConcurrently` (imported from
//!   `django.contrib.postgres.operations`), in a migration made
//!   `atomic = False`, when it holds nothing but index operations;
//! - `atomic = False` for a concurrent index operation;
//! - with `--fix-irreversible`, `RunPython(f)` → `RunPython(f,
//!   migrations.RunPython.noop)` (and the same for `RunSQL`).

use ruff_python_ast::Expr;
use ruff_python_parser::parse_expression;
use ruff_text_size::{Ranged, TextRange};

use super::finding::{Finding, FixKind};
use super::pysrc::{Atomic, Bound, ModuleFacts, POSTGRES_OPERATIONS};
use crate::core::pyparse::{Operation, ParsedMigration};
use crate::core::rewrite::Edit;

/// The edits for one file, and which findings they fix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixPlan {
    pub edits: Vec<Edit>,
    /// Indices (into the findings given) of the findings fixed.
    pub fixed: Vec<usize>,
    /// Fixable findings left alone, and why.
    pub skipped: Vec<(usize, String)>,
}

/// Plan the fixes of one file's findings (those of other files are
/// ignored). `irreversible`: also the no-op reverses.
pub fn plan_fix(
    file: &str,
    bytes: &[u8],
    parsed: &ParsedMigration,
    facts: &ModuleFacts,
    findings: &[Finding],
    irreversible: bool,
) -> FixPlan {
    let mut plan = FixPlan::default();
    if facts.syntax_errors {
        return plan;
    }
    let mut need_atomic = false;
    let mut need_import = false;
    for (i, f) in findings.iter().enumerate() {
        if f.file != file {
            continue;
        }
        let Some(kind) = f.fix_kind else { continue };
        if !kind.by_default() && !irreversible {
            continue;
        }
        let res = match kind {
            FixKind::Concurrently { op } => {
                concurrently(bytes, parsed.operations.get(op)).map(|e| {
                    need_import = facts.concurrently == Bound::Unbound;
                    need_atomic = true;
                    vec![e]
                })
            }
            FixKind::NonAtomic => {
                need_atomic = true;
                Ok(Vec::new())
            }
            FixKind::NoopReverse { op } => noop_reverse(bytes, parsed.operations.get(op)),
        };
        match res {
            Ok(edits) => {
                plan.edits.extend(edits);
                plan.fixed.push(i);
            }
            Err(why) => plan.skipped.push((i, why)),
        }
    }
    if need_atomic {
        match &facts.atomic {
            Atomic::Literal { value: false, .. } => {}
            Atomic::Literal { value: true, span } => plan.edits.push(Edit {
                start: span.0,
                end: span.1,
                replacement: "False".into(),
            }),
            Atomic::Absent => match &facts.class_insert {
                Some((at, indent)) => plan.edits.push(Edit {
                    start: *at,
                    end: *at,
                    replacement: format!("{indent}atomic = False{0}{0}", facts.eol),
                }),
                None => {
                    return refuse(
                        plan,
                        "the class body has no line to add `atomic = False` to",
                    )
                }
            },
            Atomic::Other => {
                return refuse(plan, "`atomic` is set in a way djmig does not rewrite")
            }
        }
    }
    if need_import {
        let Some(at) = facts.import_insert else {
            return refuse(plan, "no place for the import was found");
        };
        let line = format!("from {POSTGRES_OPERATIONS} import AddIndexConcurrently");
        plan.edits.push(Edit {
            start: at,
            end: at,
            replacement: if facts.import_insert_needs_eol {
                format!("{}{line}{}", facts.eol, facts.eol)
            } else {
                format!("{line}{}", facts.eol)
            },
        });
    }
    plan.edits.sort_by_key(|e| (e.start, e.end));
    // Two insertions at one place keep their order; overlaps are refused.
    if plan.edits.windows(2).any(|w| w[1].start < w[0].end) {
        return refuse(plan, "the edits would overlap");
    }
    plan
}

/// Nothing fixed: every planned fix is skipped with `why`.
fn refuse(mut plan: FixPlan, why: &str) -> FixPlan {
    let fixed = std::mem::take(&mut plan.fixed);
    plan.skipped
        .extend(fixed.into_iter().map(|i| (i, why.to_string())));
    plan.edits.clear();
    plan
}

/// The call of an operation, read again from the file's bytes: its source
/// must be a call written in place (`migrations.AddIndex(…)`), not a name
/// bound elsewhere.
struct Call {
    /// Byte offset of the operation in the file.
    base: u32,
    source: String,
    func: TextRange,
    args: Vec<TextRange>,
    /// Keyword name (`**` for unpacking) and value range.
    keywords: Vec<(String, TextRange)>,
    starred: bool,
}

fn call_of(bytes: &[u8], op: Option<&Operation>) -> Result<Call, String> {
    let op = op.ok_or("the operation is gone")?;
    let (s, e) = op.span;
    let source = bytes
        .get(s as usize..e as usize)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or("the operation is not UTF-8 text")?
        .to_string();
    if source.len() > 64 * 1024 {
        return Err("the operation is too long to rewrite".into());
    }
    let stack = (source.len() * 1024).max(256 * 1024);
    stacker::maybe_grow(stack, stack, || {
        let parsed = parse_expression(&source)
            .map_err(|_| "the operation is not a call written in place".to_string())?;
        let Expr::Call(call) = parsed.expr() else {
            return Err("the operation is not a call written in place".into());
        };
        let mut starred = false;
        let args = call
            .arguments
            .args
            .iter()
            .map(|a| {
                starred |= matches!(a, Expr::Starred(_));
                a.range()
            })
            .collect();
        let keywords = call
            .arguments
            .keywords
            .iter()
            .map(|k| {
                let name = k.arg.as_ref().map_or("**", |a| a.as_str()).to_string();
                starred |= name == "**";
                (name, k.value.range())
            })
            .collect();
        Ok(Call {
            base: s,
            func: call.func.range(),
            source: source.clone(),
            args,
            keywords,
            starred,
        })
    })
}

impl Call {
    fn text(&self, r: TextRange) -> &str {
        &self.source[r.start().to_usize()..r.end().to_usize()]
    }
    fn at(&self, offset: ruff_text_size::TextSize) -> u32 {
        self.base + offset.to_u32()
    }
}

/// `migrations.AddIndex` → `AddIndexConcurrently`.
fn concurrently(bytes: &[u8], op: Option<&Operation>) -> Result<Edit, String> {
    let call = call_of(bytes, op)?;
    let func = call.text(call.func);
    if !func.ends_with("AddIndex") {
        return Err(format!("`{func}` is not AddIndex"));
    }
    Ok(Edit {
        start: call.at(call.func.start()),
        end: call.at(call.func.end()),
        replacement: "AddIndexConcurrently".into(),
    })
}

/// Give `RunPython`/`RunSQL` a no-op reverse.
fn noop_reverse(bytes: &[u8], op: Option<&Operation>) -> Result<Vec<Edit>, String> {
    let call = call_of(bytes, op)?;
    let func = call.text(call.func).to_string();
    let (param, position) = if func.ends_with("RunPython") {
        ("reverse_code", 1)
    } else if func.ends_with("RunSQL") {
        ("reverse_sql", 1)
    } else {
        return Err(format!("`{func}` is not RunPython or RunSQL"));
    };
    let noop = format!("{}.noop", func.split_whitespace().collect::<String>());
    if call.starred {
        return Err("the call unpacks arguments (*args or **kwargs)".into());
    }
    // An explicit None: replace it.
    let given = call
        .keywords
        .iter()
        .find(|(k, _)| k == param)
        .map(|(_, r)| *r)
        .or_else(|| call.args.get(position).copied());
    if let Some(r) = given {
        if call.text(r).trim() != "None" {
            return Err(format!("{param} is given already"));
        }
        return Ok(vec![Edit {
            start: call.at(r.start()),
            end: call.at(r.end()),
            replacement: noop,
        }]);
    }
    let last = call
        .args
        .iter()
        .chain(call.keywords.iter().map(|(_, r)| r))
        .map(|r| r.end())
        .max()
        .ok_or("the call has no arguments")?;
    let text = if call.args.len() == 1 && call.keywords.is_empty() {
        format!(", {noop}")
    } else {
        format!(", {param}={noop}")
    };
    Ok(vec![Edit {
        start: call.at(last),
        end: call.at(last),
        replacement: text,
    }])
}
