//! The review's report and its renderings: text grouped by file, JSON
//! (`schema_version` 1, as the other commands), GitHub workflow
//! annotations on the exact lines, and SARIF (in `sarif`). Everything that
//! came from the repository is escaped for where it goes.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::ReviewFormat;
use crate::core::escape::{gh_data, gh_prop, term};
use crate::core::review::{Finding, FixKind, Severity, Suppressed};

use super::gather::{FileError, Gathered};
use crate::commands::Io;

/// What `--fix` did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixReport {
    pub dry_run: bool,
    /// Whether files were written.
    pub applied: bool,
    pub files: Vec<FileFix>,
    /// Fixable findings left alone, and why.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileFix {
    pub file: String,
    /// How many findings the edit fixes.
    pub fixed: usize,
    /// Unified diff of the file.
    pub diff: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub file: String,
    pub line: u32,
    pub rule: String,
    pub reason: String,
}

/// The comparison, when there is one.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    /// The base as given or chosen (`origin/main`), its commit, how it was
    /// chosen.
    pub base_name: String,
    pub base: String,
    pub base_how: String,
    /// Head's commit (HEAD's, when head is the work tree).
    pub head: String,
    /// `"worktree"` or `"commit"`.
    pub head_source: &'static str,
    pub head_name: String,
    pub merge_base: String,
}

/// One review, ready to render.
#[derive(Debug, Clone)]
pub struct Report {
    /// `branch`, `all` or `files`.
    pub mode: &'static str,
    pub compared: Option<Compared>,
    pub reviewed: Vec<String>,
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    pub errors: Vec<FileError>,
    pub fix: Option<FixReport>,
}

impl Compared {
    pub fn of(r: &crate::commands::compare::Revisions) -> Compared {
        Compared {
            base_name: r.base.rev.clone(),
            base: r.base.oid.to_string(),
            base_how: r.base_how.clone(),
            head: r.head_commit.to_string(),
            head_source: if r.head.is_some() {
                "commit"
            } else {
                "worktree"
            },
            head_name: r.head_name(),
            merge_base: r.merge_base.to_string(),
        }
    }
}

impl Report {
    pub fn new(g: &Gathered, settled: crate::core::review::Settled) -> Report {
        Report {
            mode: g.mode,
            compared: g.revs.as_ref().map(Compared::of),
            reviewed: g.reviewed.clone(),
            findings: settled.findings,
            suppressed: settled.suppressed,
            errors: g.errors.clone(),
            fix: None,
        }
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    fn fixable(&self) -> (usize, usize) {
        let k = |by_default: bool| {
            self.findings
                .iter()
                .filter(|f| f.fix_kind.is_some_and(|k| k.by_default() == by_default))
                .count()
        };
        (k(true), k(false))
    }
}

pub fn write(
    format: ReviewFormat,
    io: &mut Io,
    report: &Report,
    repo_prefix: &str,
) -> io::Result<()> {
    match format {
        ReviewFormat::Text => {
            errors_to_stderr(io, report);
            write_text(io, report)
        }
        ReviewFormat::Json => {
            diffs_to_stderr(io, report, false);
            let mut v = json_value(report);
            if let Value::Object(m) = &mut v {
                m.insert("schema_version".into(), json!(1));
            }
            serde_json::to_writer_pretty(&mut *io.out, &v)?;
            writeln!(io.out)
        }
        ReviewFormat::Github => {
            diffs_to_stderr(io, report, true);
            write_github(io.out, report, repo_prefix)
        }
        ReviewFormat::Sarif => {
            diffs_to_stderr(io, report, true);
            let v = super::sarif::sarif(report, repo_prefix);
            serde_json::to_writer_pretty(&mut *io.out, &v)?;
            writeln!(io.out)
        }
    }
}

/// Which `--fix` flag fixes a finding, if any.
fn fixable_by(f: &Finding) -> Option<&'static str> {
    f.fix_kind.map(|k| match k {
        FixKind::NoopReverse { .. } => "fix-irreversible",
        _ => "fix",
    })
}

pub fn json_value(r: &Report) -> Value {
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.rule,
                "severity": f.severity,
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "message": f.message,
                "fix": f.fix,
                "fixable": fixable_by(f),
            })
        })
        .collect();
    let mut v = json!({
        "mode": r.mode,
        "reviewed": r.reviewed,
        "findings": findings,
        "suppressed": r.suppressed,
        "errors": r.errors,
        "summary": {
            "error": r.count(Severity::Error),
            "warning": r.count(Severity::Warning),
            "info": r.count(Severity::Info),
            "suppressed": r.suppressed.len(),
        },
    });
    let m = v.as_object_mut().expect("an object");
    if let Some(c) = &r.compared {
        m.insert("base".into(), json!(c.base));
        m.insert("base_name".into(), json!(c.base_name));
        m.insert("head".into(), json!(c.head));
        m.insert("head_source".into(), json!(c.head_source));
        m.insert("merge_base".into(), json!(c.merge_base));
    }
    if let Some(fix) = &r.fix {
        m.insert("fix".into(), json!(fix));
    }
    v
}

fn errors_to_stderr(io: &mut Io, r: &Report) {
    let p = io.style.err;
    for e in &r.errors {
        let at = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", e.file),
            (Some(l), None) => format!("{}:{l}", e.file),
            _ => e.file.clone(),
        };
        let _ = writeln!(
            io.err,
            "{} {}: {}",
            p.error("error:"),
            term(&at),
            term(&e.message)
        );
    }
}

/// The diffs of `--fix` on stderr, when stdout holds machine output.
fn diffs_to_stderr(io: &mut Io, r: &Report, with_errors: bool) {
    if with_errors {
        errors_to_stderr(io, r);
    }
    if let Some(fix) = &r.fix {
        let _ = write_fix(io.err, fix);
    }
}

fn write_fix(w: &mut dyn Write, fix: &FixReport) -> io::Result<()> {
    let n: usize = fix.files.iter().map(|f| f.fixed).sum();
    if fix.files.is_empty() {
        writeln!(w, "Nothing to fix.")?;
    } else if fix.dry_run {
        writeln!(
            w,
            "Would fix {n} finding(s) in {} file(s) (--dry-run: nothing written):",
            fix.files.len()
        )?;
    } else {
        writeln!(
            w,
            "Fixed {n} finding(s) in {} file(s); `djmig undo` puts them back:",
            fix.files.len()
        )?;
    }
    for f in &fix.files {
        for line in f.diff.lines() {
            writeln!(w, "{}", term(line))?;
        }
    }
    for s in &fix.skipped {
        writeln!(
            w,
            "not fixed: {}:{}: {}: {}",
            term(&s.file),
            s.line,
            s.rule,
            term(&s.reason)
        )?;
    }
    writeln!(w)
}

fn header(r: &Report) -> String {
    let n = r.reviewed.len();
    match (&r.compared, r.mode) {
        (Some(c), _) => format!(
            "Reviewing what {} adds or changes relative to {} ({}) ({}); merge base {}: {n} migration file(s).",
            c.head_name,
            c.base_name,
            &c.base[..7.min(c.base.len())],
            c.base_how,
            &c.merge_base[..7.min(c.merge_base.len())]
        ),
        (None, "all") => format!("Reviewing every migration of the project: {n} file(s)."),
        _ => format!("Reviewing {n} file(s)."),
    }
}

fn write_text(io: &mut Io, r: &Report) -> io::Result<()> {
    let p = io.style.out;
    let w = &mut *io.out;
    writeln!(w, "{}", term(&header(r)))?;
    if let Some(fix) = &r.fix {
        writeln!(w)?;
        write_fix(w, fix)?;
    }
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &r.findings {
        by_file.entry(&f.file).or_default().push(f);
    }
    for (file, list) in &by_file {
        writeln!(w)?;
        writeln!(w, "{}", p.app(file))?;
        for f in list {
            let at = format!("{}:{}", f.line, f.column);
            let sev = match f.severity {
                Severity::Error => p.error("error  ").to_string(),
                Severity::Warning => p.warning("warning").to_string(),
                Severity::Info => p.dim("info   ").to_string(),
            };
            writeln!(w, "  {at:<7} {sev}  {}  {}", f.rule, term(&f.message))?;
            writeln!(w, "  {:<7} {:<7}  fix: {}", "", "", term(&f.fix))?;
        }
    }
    writeln!(w)?;
    let (e, wn, i) = (
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
    );
    let mut tail = String::new();
    let (fix, irreversible) = r.fixable();
    if fix > 0 {
        tail.push_str(&format!("; {fix} fixable with `djmig review --fix`"));
    }
    if irreversible > 0 {
        tail.push_str(&format!(
            "; {irreversible} with `djmig review --fix-irreversible`"
        ));
    }
    if !r.suppressed.is_empty() {
        tail.push_str(&format!(
            "; {} suppressed by `# djmig: ignore[…]` comments",
            r.suppressed.len()
        ));
    }
    if r.findings.is_empty() {
        writeln!(w, "No findings{tail}.")?;
    } else {
        writeln!(
            w,
            "{} finding(s): {e} error(s), {wn} warning(s), {i} info in {} file(s){tail}.",
            r.findings.len(),
            by_file.len()
        )?;
    }
    if !r.errors.is_empty() {
        writeln!(
            w,
            "{} file(s) could not be reviewed, listed above.",
            r.errors.len()
        )?;
    }
    Ok(())
}

/// A path relative to the repository top, as GitHub and SARIF want them.
pub fn repo_path(prefix: &str, file: &str) -> String {
    if prefix.is_empty() || file.starts_with('/') {
        file.to_string()
    } else {
        format!("{prefix}/{file}")
    }
}

fn write_github(w: &mut dyn Write, r: &Report, prefix: &str) -> io::Result<()> {
    for e in &r.errors {
        let mut props = format!("file={}", gh_prop(&repo_path(prefix, &e.file)));
        if let Some(l) = e.line {
            props.push_str(&format!(",line={l}"));
        }
        if let Some(c) = e.column {
            props.push_str(&format!(",col={c}"));
        }
        writeln!(w, "::error {props}::{}", gh_data(&e.message))?;
    }
    for f in &r.findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        writeln!(
            w,
            "::{command} file={},line={},col={},title={}::{}",
            gh_prop(&repo_path(prefix, &f.file)),
            f.line,
            f.column,
            gh_prop(&format!("djmig review: {}", f.rule)),
            gh_data(&format!("{}\nFix: {}", f.message, f.fix))
        )?;
    }
    Ok(())
}
