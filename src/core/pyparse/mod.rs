//! Static reading of Python sources: migration modules, `apps.py` and the
//! settings module, with a real Python parser (never executing anything).
//!
//! Byte offsets in spans are into the original file bytes.
//!
//! The parser (ruff's) recovers from syntax errors, so a file with an error is
//! reported (`FileProblemKind::Syntax`) and still read as far as the
//! recovered tree allows. Files that are not UTF-8 are read as Latin-1, with
//! offsets mapped back to the original bytes. Lines and columns are 1-based;
//! columns count characters.
//!
//! Module layout: `migration` reads `class Migration`, `eval` evaluates
//! the literal forms its attributes use, `apps` and `settings` read
//! `apps.py`, settings modules and `manage.py`.

use std::borrow::Cow;
use std::cell::OnceCell;

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::{Expr, Mod, ModModule, PythonVersion};
use ruff_python_parser::{parse_unchecked, Mode, ParseOptions, Parsed};
use ruff_text_size::{Ranged, TextRange, TextSize};
use serde::{Deserialize, Serialize};

mod apps;
mod codecs;
mod compile;
mod encoding;
mod eval;
mod migration;
mod settings;
mod value;

#[cfg(test)]
mod tests;

pub use apps::{app_label_line, parse_app_label};
pub use migration::{operation_signature, parse_migration, parse_migration_graph};
pub use settings::{parse_manage_py_settings, parse_settings};
pub use value::{PyError, PyValue};

/// A string literal value with the byte span of its token (quotes included)
/// in the source, so later rewrites can replace exactly that token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrLit {
    pub value: String,
    /// `[start, end)` byte offsets of the whole literal token, quotes included;
    /// `None` for implicitly concatenated or non-literal strings.
    pub span: Option<(u32, u32)>,
}

/// One entry of `dependencies`, `replaces` or `run_before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DepEntry {
    /// `("app", "name")`
    Key {
        app: StrLit,
        name: StrLit,
        line: u32,
    },
    /// `migrations.swappable_dependency(settings.X)` or with
    /// `getattr(settings, "X", "default")`: resolves to
    /// `(label of the setting's value, "__first__")`.
    Swappable {
        setting: String,
        default: Option<String>,
        line: u32,
    },
    /// Any other literal (`('blog' '0001')`, `('blog', None)`, a 3-tuple, a
    /// list): Django uses it as it is, and fails or not on it when it
    /// builds the graph.
    Value { value: PyValue, line: u32 },
}

/// One operation of the `operations` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// `AddField`, `RunPython`, … (last component of the called name); for a
    /// non-call element, its source text.
    pub kind: String,
    /// `model_name=` or the model name (`CreateModel(name=…)`, `DeleteModel`).
    pub model: Option<String>,
    /// `name=` of a field or index (`AddField(name=…)`, `RenameField(old_name)`,
    /// `AddIndex(index=models.Index(name=…))`); for `RunPython`, the source
    /// text of `code`.
    pub name: Option<String>,
    /// Keyword arguments: name → source text of the value.
    pub keywords: Vec<(String, String)>,
    /// Positional arguments' source texts.
    pub args: Vec<String>,
    /// Byte span of the whole operation expression.
    pub span: (u32, u32),
    /// 1-based line of the operation.
    pub line: u32,
}

/// A problem in one file found while reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblem {
    pub kind: FileProblemKind,
    pub message: String,
    /// 1-based line and column.
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileProblemKind {
    /// The parser could not read the file.
    Syntax,
    /// A value djmig cannot evaluate statically (its literal parts are kept).
    NonLiteral,
    /// Something suspicious that does not stop reading.
    Note,
    /// A value Python or Django raises on when the migration is loaded
    /// (`dependencies = None`, `[...] + (...)`).
    Invalid,
}

/// What a migration module says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ParsedMigration {
    /// Whether the module defines a top-level `class Migration`.
    pub has_migration_class: bool,
    /// 1-based line of `class Migration`.
    pub class_line: u32,
    /// `class Migration:` or `class Migration(object):`: a class Django
    /// cannot instantiate as `Migration(name, app_label)` (TypeError).
    pub class_without_base: bool,
    pub dependencies: Vec<DepEntry>,
    pub replaces: Vec<DepEntry>,
    pub run_before: Vec<DepEntry>,
    pub initial: Option<bool>,
    pub atomic: Option<bool>,
    pub operations: Vec<Operation>,
    pub problems: Vec<FileProblem>,
}

impl Operation {
    /// Source text of the argument bound to parameter `param` of Django's
    /// signature for this operation (see [`operation_signature`]), whether it
    /// was given by keyword or positionally.
    ///
    /// `RunPython(forwards, noop).param("reverse_code") == Some("noop")`.
    pub fn param(&self, param: &str) -> Option<&str> {
        if let Some((_, v)) = self.keywords.iter().find(|(k, _)| k == param) {
            return Some(v);
        }
        let idx = operation_signature(&self.kind)
            .iter()
            .position(|p| *p == param)?;
        // Positional arguments after a `*args` unpacking cannot be mapped.
        if self.args.iter().take(idx + 1).any(|a| a.starts_with('*')) {
            return None;
        }
        self.args.get(idx).map(String::as_str)
    }
}

// ---------------------------------------------------------------------------
// Source handling shared by the readers.
// ---------------------------------------------------------------------------

/// Files larger than this are not parsed (ruff's lexer is limited to 4 GiB
/// and nothing real comes near this).
const MAX_SOURCE_LEN: usize = 256 * 1024 * 1024;

/// Most syntax errors reported per file (error recovery cascades).
const MAX_SYNTAX_PROBLEMS: usize = 10;

/// A source file decoded for the parser, with the mapping from parser offsets
/// back to offsets into the original bytes.
pub(crate) struct Source<'b> {
    bytes: &'b [u8],
    text: Cow<'b, str>,
    /// When the file is not valid UTF-8 it is read as Latin-1: every byte
    /// `>= 0x80` becomes a two-byte `char`. These are the offsets (in `text`)
    /// of those chars, sorted, to map offsets back.
    wide: Vec<u32>,
    latin1: bool,
    line_starts: OnceCell<Vec<u32>>,
}

impl<'b> Source<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Source {
                bytes,
                text: Cow::Borrowed(text),
                wide: Vec::new(),
                latin1: false,
                line_starts: OnceCell::new(),
            },
            Err(_) => {
                let mut text = String::with_capacity(bytes.len() + bytes.len() / 8);
                let mut wide = Vec::new();
                for &b in bytes {
                    if b >= 0x80 {
                        wide.push(text.len() as u32);
                    }
                    text.push(char::from(b));
                }
                Source {
                    bytes,
                    text: Cow::Owned(text),
                    wide,
                    latin1: true,
                    line_starts: OnceCell::new(),
                }
            }
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Offset into the original bytes of a parser offset.
    pub(crate) fn orig(&self, offset: TextSize) -> u32 {
        let d = offset.to_u32();
        let o = if self.latin1 {
            d - self.wide.partition_point(|&w| w < d) as u32
        } else {
            d
        };
        o.min(self.bytes.len() as u32)
    }

    /// `[start, end)` in the original bytes.
    pub(crate) fn span(&self, range: TextRange) -> (u32, u32) {
        let s = self.orig(range.start());
        let e = self.orig(range.end()).max(s);
        (s, e)
    }

    /// Source text of a node (decoded); empty if the range is odd.
    pub(crate) fn slice(&self, range: TextRange) -> &str {
        self.text
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or("")
    }

    fn line_starts(&self) -> &[u32] {
        self.line_starts.get_or_init(|| {
            let b = self.bytes;
            let mut starts = Vec::with_capacity(b.len() / 32 + 1);
            starts.push(0);
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'\n' => starts.push(i as u32 + 1),
                    b'\r' if b.get(i + 1) != Some(&b'\n') => starts.push(i as u32 + 1),
                    _ => {}
                }
                i += 1;
            }
            starts
        })
    }

    /// 1-based line of an original byte offset.
    pub(crate) fn line_of(&self, orig: u32) -> u32 {
        self.line_starts().partition_point(|&s| s <= orig) as u32
    }

    /// 1-based line of a node's start.
    pub(crate) fn line(&self, range: TextRange) -> u32 {
        self.line_of(self.orig(range.start()))
    }

    /// 1-based line and column (in characters) of a parser offset.
    pub(crate) fn line_col(&self, offset: TextSize) -> (u32, u32) {
        let o = self.orig(offset);
        let line = self.line_of(o);
        let start = self.line_starts()[(line as usize).saturating_sub(1)] as usize;
        let seg = &self.bytes[start.min(o as usize)..o as usize];
        let chars = if self.latin1 {
            seg.len()
        } else {
            seg.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
        };
        (line, chars as u32 + 1)
    }

    pub(crate) fn problem(
        &self,
        kind: FileProblemKind,
        at: TextSize,
        message: impl Into<String>,
    ) -> FileProblem {
        let (line, col) = self.line_col(at);
        FileProblem {
            kind,
            message: message.into(),
            line,
            col,
        }
    }

    /// A short, single-line excerpt of a node's source for messages.
    pub(crate) fn excerpt(&self, range: TextRange) -> String {
        excerpt(self.slice(range))
    }
}

/// Shorten a source excerpt to one line of at most ~120 characters.
pub(crate) fn excerpt(s: &str) -> String {
    let s = s.trim();
    let first = s.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A parsed module together with its source; drops the tree safely.
pub(crate) struct ParsedModule<'b> {
    pub(crate) src: Source<'b>,
    parsed: Option<Parsed<Mod>>,
    /// Syntax problems (and an encoding note) found while reading.
    pub(crate) problems: Vec<FileProblem>,
    pub(crate) has_syntax_errors: bool,
}

impl<'b> ParsedModule<'b> {
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        let too_large = bytes.len() > MAX_SOURCE_LEN;
        let src = Source::new(if too_large { &[] } else { bytes });
        let options = ParseOptions::from(Mode::Module).with_target_version(PythonVersion::latest());
        let parsed = parse_unchecked(src.text(), options);
        let mut problems = Vec::new();
        let mut has_syntax_errors = false;
        if too_large {
            has_syntax_errors = true;
            problems.push(FileProblem {
                kind: FileProblemKind::Syntax,
                message: format!("file is too large to read ({} bytes)", bytes.len()),
                line: 1,
                col: 1,
            });
        }
        let comments: Vec<(u32, u32)> = if src.latin1 {
            parsed
                .tokens()
                .iter()
                .filter(|t| t.kind() == TokenKind::Comment)
                .map(|t| src.span(t.range()))
                .collect()
        } else {
            Vec::new()
        };
        let in_comment = |at: usize| {
            let at = at as u32;
            let i = comments.partition_point(|&(s, _)| s <= at);
            i > 0 && at < comments[i - 1].1
        };
        match encoding::verdict(bytes, &in_comment) {
            encoding::Verdict::Fine => {}
            encoding::Verdict::Refused(line, message) => {
                has_syntax_errors = true;
                problems.push(FileProblem {
                    kind: FileProblemKind::Syntax,
                    message,
                    line,
                    col: 1,
                });
            }
            encoding::Verdict::Unchecked(line, name) if src.latin1 => problems.push(FileProblem {
                kind: FileProblemKind::Note,
                message: format!(
                    "the file declares `coding: {name}`, which djmig does not decode: \
                     bytes past ASCII are read as Latin-1"
                ),
                line,
                col: 1,
            }),
            encoding::Verdict::Unchecked(..) => {}
        }
        let errors = parsed.errors();
        let unsupported = parsed.unsupported_syntax_errors();
        if errors.is_empty() && unsupported.is_empty() {
            // What Python's compiler refuses in a file that parses.
            let mut found = compile::token_limits(parsed.tokens());
            if found.is_empty() {
                if let Mod::Module(m) = parsed.syntax() {
                    found = compile::semantic_errors(m, src.text());
                }
            }
            for e in found.into_iter().take(MAX_SYNTAX_PROBLEMS) {
                has_syntax_errors = true;
                problems.push(src.problem(FileProblemKind::Syntax, e.at, e.message));
            }
        }
        if !errors.is_empty() || !unsupported.is_empty() {
            has_syntax_errors = true;
            let mut all: Vec<(TextSize, String)> = errors
                .iter()
                .take(MAX_SYNTAX_PROBLEMS)
                .map(|e| (e.location.start(), e.error.to_string()))
                .chain(
                    unsupported
                        .iter()
                        .take(MAX_SYNTAX_PROBLEMS)
                        .map(|e| (e.range.start(), e.to_string())),
                )
                .collect();
            all.sort_by_key(|(at, _)| *at);
            let total = errors.len() + unsupported.len();
            all.truncate(MAX_SYNTAX_PROBLEMS);
            let shown = all.len();
            for (at, message) in all {
                problems.push(src.problem(FileProblemKind::Syntax, at, message));
            }
            if total > shown {
                if let Some(last) = problems.last_mut() {
                    last.message
                        .push_str(&format!(" (and {} more syntax errors)", total - shown));
                }
            }
        }
        ParsedModule {
            src,
            parsed: Some(parsed),
            problems,
            has_syntax_errors,
        }
    }

    pub(crate) fn module(&self) -> Option<&ModModule> {
        match self.parsed.as_ref()?.syntax() {
            Mod::Module(m) => Some(m),
            Mod::Expression(_) => None,
        }
    }
}

impl Drop for ParsedModule<'_> {
    fn drop(&mut self) {
        if let Some(parsed) = self.parsed.take() {
            drop_deep(parsed);
        }
    }
}

/// Dropping a syntax tree recurses once per nesting level, and nothing bounds
/// the nesting of a hostile file (`[[[[…` or `- - - …`): make sure there is
/// enough stack for it. The depth is at most a few levels per token, each
/// level needing well under 512 bytes of stack.
fn drop_deep(parsed: Parsed<Mod>) {
    const PER_TOKEN: usize = 512;
    const MAX_STACK: usize = 512 * 1024 * 1024;
    let need = parsed
        .tokens()
        .len()
        .saturating_mul(PER_TOKEN)
        .max(64 * 1024);
    if need > MAX_STACK {
        // Pathological: leak rather than risk the stack.
        std::mem::forget(parsed);
        return;
    }
    stacker::maybe_grow(need, need, move || drop(parsed));
}

// ---------------------------------------------------------------------------
// Small AST helpers.
// ---------------------------------------------------------------------------

/// Last component of a dotted name (`a.b.C` → `C`).
pub(crate) fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// Whether `expr` is exactly the dotted name `parts` (`["os", "environ"]`).
/// Iterative: attribute chains can be arbitrarily long.
pub(crate) fn is_dotted(mut expr: &Expr, parts: &[&str]) -> bool {
    for (i, part) in parts.iter().enumerate().rev() {
        match expr {
            Expr::Attribute(a) if i > 0 => {
                if a.attr.as_str() != *part {
                    return false;
                }
                expr = &a.value;
            }
            Expr::Name(n) if i == 0 => return n.id.as_str() == *part,
            _ => return false,
        }
    }
    false
}

/// Whether `expr` is a dotted name ending in `suffix` (`["environ",
/// "setdefault"]` matches `os.environ.setdefault`).
pub(crate) fn dotted_ends_with(mut expr: &Expr, suffix: &[&str]) -> bool {
    for (i, part) in suffix.iter().enumerate().rev() {
        match expr {
            Expr::Attribute(a) => {
                if a.attr.as_str() != *part {
                    return false;
                }
                expr = &a.value;
            }
            Expr::Name(n) => return i == 0 && n.id.as_str() == *part,
            _ => return false,
        }
    }
    true
}

/// `settings` or `django.conf.settings`.
pub(crate) fn is_settings(expr: &Expr) -> bool {
    is_dotted(expr, &["settings"]) || is_dotted(expr, &["django", "conf", "settings"])
}

/// The value of a plain string literal (implicit concatenation allowed).
pub(crate) fn str_literal(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str()),
        _ => None,
    }
}

/// `expr`'s name if it is a bare `Name`.
pub(crate) fn name_of(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        _ => None,
    }
}

pub(crate) fn start(expr: &Expr) -> TextSize {
    expr.range().start()
}
