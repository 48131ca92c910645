//! The review as SARIF 2.1.0 (OASIS), for code-scanning upload: one run of
//! the `djmig` tool, every rule described (id, name, descriptions, the
//! README page, default level), every finding a result on its file, line
//! and column. Paths are relative to the repository top (`%SRCROOT%`).

use serde_json::{json, Value};

use super::render::{repo_path, Report};
use crate::core::review::{Rule, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const HOME: &str = "https://github.com/djmig/djmig";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A rule's name in SARIF's style (`AddFieldNotNull`).
fn name(rule: Rule) -> String {
    rule.id()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub fn sarif(r: &Report, prefix: &str) -> Value {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id(),
                "name": name(*rule),
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": rule.why()},
                "helpUri": format!("{HOME}#{}", rule.id()),
                "help": {"text": format!("{} {}", rule.summary(), rule.why())},
                "defaultConfiguration": {"level": level(rule.default_severity())},
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.rule.id(),
                "ruleIndex": Rule::ALL.iter().position(|x| *x == f.rule).unwrap_or(0),
                "level": level(f.severity),
                "message": {"text": format!("{} Fix: {}", f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": uri(&repo_path(prefix, &f.file)),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                }],
            })
        })
        .collect();
    // Files that could not be reviewed are reported as tool notifications.
    let notifications: Vec<Value> = r
        .errors
        .iter()
        .map(|e| {
            let mut region = json!({"startLine": e.line.unwrap_or(1).max(1)});
            if let Some(c) = e.column {
                region["startColumn"] = json!(c.max(1));
            }
            json!({
                "level": "error",
                "message": {"text": e.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": uri(&repo_path(prefix, &e.file)),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": region,
                    }
                }],
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "djmig",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": HOME,
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": r.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A relative path as a URI reference: each byte outside the unreserved
/// set and `/` percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(name(Rule::AddFieldNotNull), "AddFieldNotNull");
        assert_eq!(uri("a b/ü:x.py"), "a%20b/%C3%BC%3Ax.py");
        assert_eq!(level(Severity::Info), "note");
    }
}
