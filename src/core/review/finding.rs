//! What a review finds, and how the project's wishes shape it: rules
//! selected or ignored (flags and `.djmig.yml`), severities changed, and
//! `# djmig: ignore[rule-id] reason` comments in the migrations.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::rules::{Rule, Severity};

/// What `--fix` can do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// `AddIndex` (operation `op`) becomes `AddIndexConcurrently`, the
    /// migration `atomic = False`.
    Concurrently { op: usize },
    /// The migration becomes `atomic = False`.
    NonAtomic,
    /// `RunPython`/`RunSQL` (operation `op`) gets a no-op reverse: only with
    /// `--fix-irreversible`.
    NoopReverse { op: usize },
}

impl FixKind {
    /// Whether plain `--fix` applies it (else only `--fix-irreversible`).
    pub fn by_default(self) -> bool {
        !matches!(self, FixKind::NoopReverse { .. })
    }
}

/// One finding of one rule, at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// Project-relative path.
    pub file: String,
    /// 1-based line and column (in characters).
    pub line: u32,
    pub column: u32,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, in words.
    pub fix: String,
    /// What `--fix` can do.
    pub fix_kind: Option<FixKind>,
}

impl Finding {
    pub fn new(rule: Rule, file: &str, (line, column): (u32, u32)) -> Finding {
        Finding {
            rule,
            severity: rule.default_severity(),
            file: file.to_string(),
            line,
            column,
            message: String::new(),
            fix: String::new(),
            fix_kind: None,
        }
    }

    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }

    pub fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = f.into();
        self
    }

    pub fn fixable(mut self, k: FixKind) -> Self {
        self.fix_kind = Some(k);
        self
    }

    /// Sorting: by file, then position, then rule.
    pub fn sort_key(&self) -> (&str, u32, u32, Rule) {
        (&self.file, self.line, self.column, self.rule)
    }
}

/// Which rules run and how severe their findings are: the configuration
/// (`review:` in `.djmig.yml`) with `--select`/`--ignore` on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSettings {
    /// Only these rules (`--select`); `None`: all.
    pub select: Option<BTreeSet<Rule>>,
    pub ignore: BTreeSet<Rule>,
    pub severity: BTreeMap<Rule, Severity>,
}

impl RuleSettings {
    pub fn enabled(&self, rule: Rule) -> bool {
        !self.ignore.contains(&rule) && self.select.as_ref().is_none_or(|s| s.contains(&rule))
    }
}

/// A `# djmig: ignore[rule-id, …] reason` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line of the comment.
    pub line: u32,
    /// Column of its `#`.
    pub column: u32,
    /// The ids as written.
    pub ids: Vec<String>,
    /// The text after the bracket, trimmed; empty when none was given.
    pub reason: String,
    /// Nothing but the comment on its line: it also covers the next line.
    pub own_line: bool,
}

/// A finding a suppression comment silenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppressed {
    pub rule: Rule,
    pub file: String,
    pub line: u32,
    /// Line of the comment.
    pub comment_line: u32,
    pub reason: String,
}

const MARK: &str = "djmig:";

/// The suppression comments of a file. Only comments are read: the `#`
/// must not be inside a string on its line (quotes are counted), which is
/// what a migration's one-line comments look like.
pub fn suppressions(source: &[u8]) -> Vec<Suppression> {
    let text = String::from_utf8_lossy(source);
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let comment = line[hash + 1..].trim_start();
        let Some(rest) = comment.strip_prefix(MARK) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("ignore[") else {
            continue;
        };
        let Some(close) = rest.find(']') else {
            continue;
        };
        let ids = rest[..close]
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let reason = rest[close + 1..]
            .trim()
            .trim_start_matches([':', '-', '\u{2014}'])
            .trim()
            .to_string();
        out.push(Suppression {
            line: i as u32 + 1,
            column: line[..hash].chars().count() as u32 + 1,
            ids,
            reason,
            own_line: line[..hash].trim().is_empty(),
        });
    }
    out
}

/// The byte index of the `#` starting a comment on a line of Python, if
/// any: a `#` outside single-line string literals.
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut quote: Option<&[u8]> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if bytes[i..].starts_with(q) {
                    i += q.len();
                    quote = None;
                    continue;
                }
            }
            None => match b {
                b'#' => return Some(i),
                b'\'' | b'"' => {
                    let triple: &[u8] = if b == b'"' { b"\"\"\"" } else { b"'''" };
                    let q: &[u8] = if bytes[i..].starts_with(triple) {
                        triple
                    } else {
                        &bytes[i..i + 1]
                    };
                    i += q.len();
                    quote = Some(q);
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// The findings of one review, after the project's wishes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
}

/// Apply the rule settings and each file's suppression comments
/// (`comments`: file → its suppressions). A finding is silenced by a
/// suppression naming its rule, with a reason, on its line or on a
/// comment-only line just above. A suppression without a reason or naming
/// an unknown rule silences nothing and is itself a `bad-suppression`
/// finding.
pub fn settle(
    findings: Vec<Finding>,
    comments: &BTreeMap<String, Vec<Suppression>>,
    settings: &RuleSettings,
) -> Settled {
    let mut out = Settled::default();
    let mut all = findings;
    for (file, list) in comments {
        for s in list {
            let unknown: Vec<&str> = s
                .ids
                .iter()
                .map(String::as_str)
                .filter(|id| Rule::from_id(id).is_none())
                .collect();
            let problem = if s.ids.is_empty() {
                Some("names no rule: write `# djmig: ignore[rule-id] reason`".to_string())
            } else if !unknown.is_empty() {
                Some(format!(
                    "names unknown rule(s) {}; the rules are: {}",
                    unknown.join(", "),
                    Rule::all_ids()
                ))
            } else if s.reason.is_empty() {
                Some(
                    "gives no reason, so it silences nothing: say why the risk is acceptable \
                     after the bracket"
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(p) = problem {
                all.push(
                    Finding::new(Rule::BadSuppression, file, (s.line, s.column))
                        .message(format!("`# djmig: ignore[{}]` {p}", s.ids.join(", ")))
                        .fix("`# djmig: ignore[rule-id] why the risk is acceptable here`"),
                );
            }
        }
    }
    for mut f in all {
        if !settings.enabled(f.rule) {
            continue;
        }
        if f.rule != Rule::BadSuppression {
            let covering = comments.get(&f.file).and_then(|list| {
                list.iter().find(|s| {
                    !s.reason.is_empty()
                        && s.ids.iter().any(|id| id == f.rule.id())
                        && (s.line == f.line || (s.own_line && s.line + 1 == f.line))
                })
            });
            if let Some(s) = covering {
                out.suppressed.push(Suppressed {
                    rule: f.rule,
                    file: f.file.clone(),
                    line: f.line,
                    comment_line: s.line,
                    reason: s.reason.clone(),
                });
                continue;
            }
        }
        // A rule may lower one finding's severity (an edit that changes
        // only formatting); the configuration's word is final.
        f.severity = match settings.severity.get(&f.rule) {
            Some(s) => *s,
            None => f.severity,
        };
        out.findings.push(f);
    }
    out.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out.suppressed
        .sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rule: Rule, line: u32) -> Finding {
        Finding::new(rule, "a.py", (line, 9)).message("m")
    }

    fn comments(src: &str) -> BTreeMap<String, Vec<Suppression>> {
        [("a.py".to_string(), suppressions(src.as_bytes()))].into()
    }

    #[test]
    fn reads_suppression_comments() {
        let s = suppressions(
            b"x = 1  # djmig: ignore[data-loss] column unused since 2024\r\n\
              \t# djmig:ignore[ irreversible , data-loss ]: nothing to undo\n\
              y = '# djmig: ignore[data-loss] in a string'\n\
              # djmig: ignore[]\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].line, 1);
        assert_eq!(s[0].column, 8);
        assert_eq!(s[0].ids, ["data-loss"]);
        assert_eq!(s[0].reason, "column unused since 2024");
        assert!(!s[0].own_line);
        assert_eq!(s[1].ids, ["irreversible", "data-loss"]);
        assert_eq!(s[1].reason, "nothing to undo");
        assert!(s[1].own_line);
        assert!(s[2].ids.is_empty());
        assert_eq!(comment_start("a = \"#\" # c"), Some(8));
        assert_eq!(comment_start("a = '''#''' "), None);
        assert_eq!(comment_start(r"a = '\'#'"), None);
    }

    #[test]
    fn a_suppression_covers_its_line_and_the_next_when_alone() {
        let src = "\n\n# djmig: ignore[data-loss] gone since v2\nop\nop  # djmig: ignore[irreversible] data only\nop\n";
        let out = settle(
            vec![
                f(Rule::DataLoss, 4),
                f(Rule::Irreversible, 5),
                f(Rule::Irreversible, 6),
                f(Rule::DataLoss, 6),
            ],
            &comments(src),
            &RuleSettings::default(),
        );
        let kept: Vec<(Rule, u32)> = out.findings.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(kept, [(Rule::DataLoss, 6), (Rule::Irreversible, 6)]);
        assert_eq!(out.suppressed.len(), 2);
        assert_eq!(out.suppressed[0].reason, "gone since v2");
        assert_eq!(out.suppressed[0].comment_line, 3);
    }

    #[test]
    fn a_suppression_without_reason_or_with_an_unknown_rule_is_a_finding() {
        let src = "op  # djmig: ignore[data-loss]\nop  # djmig: ignore[dataloss] typo\n";
        let out = settle(
            vec![f(Rule::DataLoss, 1), f(Rule::DataLoss, 2)],
            &comments(src),
            &RuleSettings::default(),
        );
        let kept: Vec<(Rule, u32)> = out.findings.iter().map(|f| (f.rule, f.line)).collect();
        assert_eq!(
            kept,
            [
                (Rule::BadSuppression, 1),
                (Rule::DataLoss, 1),
                (Rule::BadSuppression, 2),
                (Rule::DataLoss, 2)
            ]
        );
        assert!(out.findings[0].message.contains("no reason"));
        assert!(out.findings[2].message.contains("dataloss"));
        assert!(out.suppressed.is_empty());
    }

    #[test]
    fn settings_select_ignore_and_change_severity() {
        let mut s = RuleSettings::default();
        s.ignore.insert(Rule::Irreversible);
        s.severity.insert(Rule::IndexLocksTable, Severity::Error);
        let out = settle(
            vec![
                f(Rule::Irreversible, 1),
                f(Rule::IndexLocksTable, 2),
                f(Rule::DataLoss, 3),
            ],
            &BTreeMap::new(),
            &s,
        );
        let kept: Vec<(Rule, Severity)> =
            out.findings.iter().map(|f| (f.rule, f.severity)).collect();
        assert_eq!(
            kept,
            [
                (Rule::IndexLocksTable, Severity::Error),
                (Rule::DataLoss, Severity::Error)
            ]
        );
        s.select = Some([Rule::DataLoss].into());
        let out = settle(
            vec![f(Rule::IndexLocksTable, 2), f(Rule::DataLoss, 3)],
            &BTreeMap::new(),
            &s,
        );
        assert_eq!(out.findings.len(), 1);
        assert_eq!(out.findings[0].rule, Rule::DataLoss);
    }
}
