//! The "reparent" strategy's text work: numbering and renaming our
//! migrations so they follow upstream's leaf, and rewriting the references
//! to them (`dependencies`, `run_before`, `replaces`) token by token, so
//! everything else in each file stays byte-identical.
//!
//! Pure: plain data in, plain data out.

use std::fmt;

use super::keys::MigrationKey;
use super::pyparse::{DepEntry, FileProblemKind, ParsedMigration, StrLit};

// ---------------------------------------------------------------------------
// Numbering, as Django's autodetector does it.
// ---------------------------------------------------------------------------

/// Code points of the `0` of every run of Unicode decimal digits (category
/// `Nd`, ten consecutive code points each), from Python 3.11 (Unicode 14.0):
/// what Python's `\d` and `int()` accept in a `str`.
const ND_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The value of a character Python's `re` matches with `\d` (in a `str`
/// pattern), as `int()` reads it.
fn py_digit(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - 0x30);
    }
    let c = c as u32;
    let i = ND_ZEROS.partition_point(|&z| z <= c);
    let zero = *ND_ZEROS.get(i.checked_sub(1)?)?;
    (c - zero < 10).then_some(c - zero)
}

/// Length in bytes of the run of `\d` characters at the start of `s`.
fn digits_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| py_digit(c).is_none())
        .map_or(s.len(), |(i, _)| i)
}

/// `int()` of a run of digits, saturating where Python's ints would not.
fn py_int(digits: &str) -> u64 {
    digits.chars().filter_map(py_digit).fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d))
    })
}

/// Django's `MigrationAutodetector.parse_number(name)`, exactly (Django 5.2,
/// `django/db/migrations/autodetector.py`):
///
/// ```python
/// if squashed_match := re.search(r".*_squashed_(\d+)", name):
///     return int(squashed_match[1])
/// match = re.match(r"^\d+", name)
/// if match:
///     return int(match[0])
/// return None
/// ```
///
/// `\d` is Python's: any Unicode decimal digit. Numbers past `u64::MAX`
/// saturate (Python's would not; no real migration comes near).
pub fn parse_number(name: &str) -> Option<u64> {
    // `re.search` returns the match starting earliest; `.` does not match a
    // newline and the greedy `.*` then backtracks to the last `_squashed_\d`
    // on that line. So: the first line with one, its last occurrence.
    const MARK: &str = "_squashed_";
    for line in name.split('\n') {
        let found = line
            .match_indices(MARK)
            .map(|(i, _)| &line[i + MARK.len()..])
            .filter(|rest| digits_len(rest) > 0)
            .last();
        if let Some(rest) = found {
            return Some(py_int(&rest[..digits_len(rest)]));
        }
    }
    match digits_len(name) {
        0 => None,
        n => Some(py_int(&name[..n])),
    }
}

/// The number Django's autodetector gives a new migration of an app whose
/// leaves are `leaf_names`. Django 5.2, `MigrationAutodetector.arrange_for_graph`:
///
/// ```python
/// leaves = graph.leaf_nodes()          # sorted (app_label, name) pairs
/// for leaf in leaves:
///     if leaf[0] == app_label:
///         app_leaf = leaf
///         break
/// if app_leaf is None:
///     next_number = 1
/// else:
///     next_number = (self.parse_number(app_leaf[1]) or 0) + 1
/// ```
///
/// With several leaves Django takes the first in sorted order (not the
/// biggest number); with none, 1. Saturates at `u32::MAX`.
pub fn next_number(leaf_names: &[&str]) -> u32 {
    let Some(first) = leaf_names.iter().min() else {
        return 1;
    };
    let n = parse_number(first).unwrap_or(0).saturating_add(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `name` with its numeric prefix (the `^\d+` Django's `parse_number` reads)
/// replaced by `number`, zero-padded to 4 as Django writes it (`"%04i"`); a
/// name without a numeric prefix gets `NNNN_` prepended.
///
/// `renamed("0003_add_total", 5) == "0005_add_total"`,
/// `renamed("add_total", 5) == "0005_add_total"`.
pub fn renamed(name: &str, number: u32) -> String {
    match digits_len(name) {
        0 => format!("{number:04}_{name}"),
        n => format!("{number:04}{}", &name[n..]),
    }
}

/// One migration to rename (file `from.py` becomes `to.py`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Rename {
    pub app: String,
    pub from: String,
    pub to: String,
}

/// Renames making our chain of migrations (one app, in dependency order)
/// follow `new_parent` (upstream's leaf): the first gets
/// `next_number([new_parent.name])`, the next ones consecutive numbers, as
/// makemigrations would have numbered them.
///
/// Keys of another app than `new_parent`'s are left out, and so are names
/// that would not change. The caller checks the new names are free.
pub fn plan_reparent(ours_in_order: &[MigrationKey], new_parent: &MigrationKey) -> Vec<Rename> {
    let mut number = next_number(&[new_parent.name.as_str()]);
    let mut out = Vec::new();
    for key in ours_in_order.iter().filter(|k| k.app == new_parent.app) {
        let to = renamed(&key.name, number);
        number = number.saturating_add(1);
        if to != key.name {
            out.push(Rename {
                app: key.app.clone(),
                from: key.name.clone(),
                to,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Rewriting references.
// ---------------------------------------------------------------------------

/// Replace bytes `[start, end)` of a file by `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: u32,
    pub end: u32,
    pub replacement: String,
}

/// Apply non-overlapping edits (in any order) to `source`.
///
/// # Panics
///
/// If an edit is out of bounds (`start > end` or past the end) or two edits
/// overlap: both are bugs in the caller.
pub fn apply_edits(source: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let growth: usize = sorted.iter().map(|e| e.replacement.len()).sum();
    let mut out = Vec::with_capacity(source.len() + growth);
    let mut at = 0usize;
    for e in sorted {
        let (s, t) = (e.start as usize, e.end as usize);
        assert!(
            s <= t && t <= source.len(),
            "edit [{s}, {t}) out of bounds (len {})",
            source.len()
        );
        assert!(s >= at, "overlapping edits at byte {s}");
        out.extend_from_slice(&source[at..s]);
        out.extend_from_slice(e.replacement.as_bytes());
        at = t;
    }
    out.extend_from_slice(&source[at..]);
    out
}

/// Why a file's references cannot be rewritten safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteError {
    /// The migration whose file it is.
    pub migration: MigrationKey,
    /// 1-based line of the offending entry (or of `class Migration`).
    pub line: u32,
    pub message: String,
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.migration, self.line, self.message)
    }
}

impl std::error::Error for RewriteError {}

/// Rewrite, in the file of migration `own`, every reference to a renamed
/// migration in `dependencies`, `run_before` and `replaces`; with
/// `reparent_to = Some((old_parent, new_parent))`, the dependency on
/// `old_parent` becomes `new_parent` too. Returns the new file bytes.
///
/// See [`reference_edits`] for what is refused.
pub fn rewrite_references(
    source: &[u8],
    parsed: &ParsedMigration,
    renames: &[Rename],
    own: &MigrationKey,
    reparent_to: Option<(&MigrationKey, &MigrationKey)>,
) -> Result<Vec<u8>, RewriteError> {
    let edits = reference_edits(source, parsed, renames, own, reparent_to)?;
    Ok(apply_edits(source, &edits))
}

/// The edits [`rewrite_references`] applies: only the string literal tokens
/// that change, each keeping its prefix and quote style.
///
/// Refused (the caller leaves the file alone and says why):
/// - a reference that must change but whose string is not a plain literal
///   in the file (it comes through a variable or an expression);
/// - `dependencies`, `run_before` or `replaces` with parts djmig could not
///   read statically, or changed after the class (they might hide a
///   reference), or a file with syntax errors;
/// - `reparent_to` given but no dependency on the old parent found.
pub fn reference_edits(
    source: &[u8],
    parsed: &ParsedMigration,
    renames: &[Rename],
    own: &MigrationKey,
    reparent_to: Option<(&MigrationKey, &MigrationKey)>,
) -> Result<Vec<Edit>, RewriteError> {
    let err = |line: u32, message: String| RewriteError {
        migration: own.clone(),
        line,
        message,
    };
    for p in &parsed.problems {
        let unreadable_list = p.kind == FileProblemKind::NonLiteral
            && (["dependencies:", "run_before:", "replaces:"]
                .iter()
                .any(|a| p.message.starts_with(a))
                || p.message.contains("changes the Migration class"));
        if p.kind == FileProblemKind::Syntax {
            return Err(err(
                p.line,
                format!(
                    "the file has a syntax error ({}); djmig will not rewrite it",
                    p.message
                ),
            ));
        }
        if unreadable_list {
            return Err(err(
                p.line,
                format!(
                    "{}; it could refer to a renamed migration, so djmig will not rewrite \
                     this file",
                    p.message
                ),
            ));
        }
    }
    let utf8 = std::str::from_utf8(source).is_ok();
    let mut edits: Vec<Edit> = Vec::new();
    let mut reparented = false;
    let lists = [
        ("dependencies", &parsed.dependencies),
        ("run_before", &parsed.run_before),
        ("replaces", &parsed.replaces),
    ];
    for (attr, entries) in lists {
        for entry in entries {
            let DepEntry::Key { app, name, line } = entry else {
                continue;
            };
            let parent = reparent_to.filter(|(old, _)| {
                attr == "dependencies" && old.app == app.value && old.name == name.value
            });
            let (new_app, new_name) = if let Some((_, new)) = parent {
                reparented = true;
                (new.app.as_str(), new.name.as_str())
            } else if let Some(r) = renames
                .iter()
                .find(|r| r.app == app.value && r.from == name.value)
            {
                (r.app.as_str(), r.to.as_str())
            } else {
                continue;
            };
            for (part, lit, new_value) in [("app label", app, new_app), ("name", name, new_name)] {
                if lit.value == new_value {
                    continue;
                }
                let edit = token_edit(source, lit, new_value, utf8).map_err(|why| {
                    err(
                        *line,
                        format!(
                            "{attr} entry ('{}', '{}') must become ('{new_app}', \
                             '{new_name}'), but its {part} {why}; djmig will not rewrite \
                             this file",
                            app.value, name.value
                        ),
                    )
                })?;
                if !edits.contains(&edit) {
                    edits.push(edit);
                }
            }
        }
    }
    if let (Some((old, new)), false) = (reparent_to, reparented) {
        return Err(err(
            parsed.class_line,
            format!(
                "no dependency on {old} found to replace with {new} (a dependency that \
                 cannot be read statically cannot be rewritten)"
            ),
        ));
    }
    edits.sort_by_key(|e| (e.start, e.end));
    Ok(edits)
}

/// The edit replacing string literal `lit` by one with value `value`, in the
/// same prefix and quote style.
fn token_edit(source: &[u8], lit: &StrLit, value: &str, utf8: bool) -> Result<Edit, String> {
    let Some((start, end)) = lit.span else {
        return Err(
            "is not a plain string literal in this file (it comes through a \
                    variable, a concatenation or an expression)"
                .to_string(),
        );
    };
    let token = source
        .get(start as usize..end as usize)
        .ok_or("has a span outside the file (the file changed since it was read)")?;
    let (prefix, quote) = token_style(token)
        .ok_or("is not at the string literal read (the file changed since it was read)")?;
    Ok(Edit {
        start,
        end,
        replacement: string_token(prefix, quote, value, utf8),
    })
}

/// The prefix (`r`, `u`, …) and quote (`'`, `"""`, …) of a string literal
/// token, if `token` is one.
fn token_style(token: &[u8]) -> Option<(&str, &str)> {
    let token = std::str::from_utf8(token).ok()?;
    let body_at = token.find(['\'', '"'])?;
    let prefix = &token[..body_at];
    if prefix.len() > 2 || !prefix.chars().all(|c| matches!(c, 'r' | 'R' | 'u' | 'U')) {
        return None;
    }
    let body = &token[body_at..];
    let quote = ["'''", "\"\"\"", "'", "\""]
        .into_iter()
        .find(|q| body.starts_with(q))?;
    (body.len() >= 2 * quote.len() && body.ends_with(quote)).then_some((prefix, quote))
}

/// A Python string literal token for `value`. Escapes what must be escaped
/// (dropping a raw prefix then); in a file that is not UTF-8, non-ASCII
/// characters are written as `\u` escapes so the file's encoding is kept.
fn string_token(prefix: &str, quote: &str, value: &str, utf8: bool) -> String {
    let q = quote.chars().next().unwrap_or('\'');
    let needs_escape =
        |c: char| c == '\\' || c == q || c.is_ascii_control() || (!utf8 && !c.is_ascii());
    let escape = value.chars().any(needs_escape);
    let prefix: String = if escape {
        prefix.chars().filter(|c| !matches!(c, 'r' | 'R')).collect()
    } else {
        prefix.to_string()
    };
    let mut out = String::with_capacity(value.len() + prefix.len() + 2 * quote.len());
    out.push_str(&prefix);
    out.push_str(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if !utf8 && !c.is_ascii() => {
                let n = c as u32;
                if n <= 0xFFFF {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push_str(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pyparse::parse_migration;

    fn key(app: &str, name: &str) -> MigrationKey {
        MigrationKey::new(app, name)
    }

    fn rename(app: &str, from: &str, to: &str) -> Rename {
        Rename {
            app: app.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// Rewrite and check that every byte outside the edited spans is kept.
    fn rewrite(
        src: &str,
        renames: &[Rename],
        own: &MigrationKey,
        reparent: Option<(&MigrationKey, &MigrationKey)>,
    ) -> String {
        let parsed = parse_migration(src.as_bytes());
        let edits = reference_edits(src.as_bytes(), &parsed, renames, own, reparent)
            .unwrap_or_else(|e| panic!("{e}"));
        let out = rewrite_references(src.as_bytes(), &parsed, renames, own, reparent).unwrap();
        assert_untouched_outside(src.as_bytes(), &out, &edits);
        String::from_utf8(out).unwrap()
    }

    /// Walk both files: outside the edits, bytes are identical; each edit
    /// span is exactly its replacement.
    fn assert_untouched_outside(before: &[u8], after: &[u8], edits: &[Edit]) {
        let mut a = 0usize; // in before
        let mut b = 0usize; // in after
        for e in edits {
            let (s, t) = (e.start as usize, e.end as usize);
            assert_eq!(
                before[a..s],
                after[b..b + (s - a)],
                "bytes before {s} changed"
            );
            b += s - a;
            let r = e.replacement.as_bytes();
            assert_eq!(&after[b..b + r.len()], r);
            b += r.len();
            a = t;
        }
        assert_eq!(before[a..], after[b..], "tail changed");
        assert_eq!(b + (before.len() - a), after.len());
    }

    #[test]
    fn parse_number_mirrors_django() {
        assert_eq!(parse_number("0001_initial"), Some(1));
        assert_eq!(parse_number("0042_x"), Some(42));
        assert_eq!(parse_number("0001_squashed_0004_auto"), Some(4));
        assert_eq!(parse_number("initial"), None);
        assert_eq!(parse_number("x_0003"), None);
        assert_eq!(parse_number("12"), Some(12));
        // The last `_squashed_<digits>` wins (greedy `.*`).
        assert_eq!(parse_number("0001_squashed_0004_squashed_0009_x"), Some(9));
        // `_squashed_` without digits is skipped.
        assert_eq!(parse_number("0007_squashed_x"), Some(7));
        assert_eq!(parse_number("0001_squashed_0004_squashed_x"), Some(4));
        // Python's `\d` is Unicode: Arabic-Indic digits.
        assert_eq!(parse_number("\u{663}_x"), Some(3));
        assert_eq!(parse_number("0005\u{663}"), Some(53));
        assert_eq!(parse_number("x_squashed_0012"), Some(12));
        // `.` stops at a newline: the first line with a match decides.
        assert_eq!(parse_number("a_squashed_3\nb_squashed_5"), Some(3));
        assert_eq!(parse_number("a\nb_squashed_5_squashed_6"), Some(6));
        assert_eq!(parse_number("99999999999999999999999_x"), Some(u64::MAX));
    }

    #[test]
    fn next_number_mirrors_arrange_for_graph() {
        assert_eq!(next_number(&["0002_b"]), 3);
        assert_eq!(next_number(&["0001_squashed_0004_x"]), 5);
        assert_eq!(next_number(&["custom"]), 1);
        assert_eq!(next_number(&["0000_zero"]), 1);
        assert_eq!(next_number(&[]), 1);
        // Several leaves: the first in sorted order, as `leaf_nodes()` sorts.
        assert_eq!(next_number(&["0009_z", "0003_a"]), 4);
        assert_eq!(next_number(&["0003_a", "0002_b"]), 3);
        assert_eq!(next_number(&["99999999999_x"]), u32::MAX);
    }

    #[test]
    fn renamed_pads_and_prepends() {
        assert_eq!(renamed("0003_add_total", 5), "0005_add_total");
        assert_eq!(renamed("3_add_total", 12), "0012_add_total");
        assert_eq!(renamed("add_total", 5), "0005_add_total");
        assert_eq!(renamed("0003_x", 12345), "12345_x");
    }

    #[test]
    fn plan_chain_follows_new_parent() {
        let ours = [
            key("orders", "0003_a"),
            key("orders", "0004_b"),
            key("orders", "0005_c"),
        ];
        let plan = plan_reparent(&ours, &key("orders", "0004_upstream"));
        assert_eq!(
            plan,
            vec![
                rename("orders", "0003_a", "0005_a"),
                rename("orders", "0004_b", "0006_b"),
                rename("orders", "0005_c", "0007_c"),
            ]
        );
        // Squash-aware, and unchanged names are left out.
        let plan = plan_reparent(
            &[key("orders", "0005_a"), key("orders", "0005_b")],
            &key("orders", "0001_squashed_0004_x"),
        );
        assert_eq!(plan, vec![rename("orders", "0005_b", "0006_b")]);
        // A name without a number.
        let plan = plan_reparent(&[key("orders", "tweak")], &key("orders", "0002_u"));
        assert_eq!(plan, vec![rename("orders", "tweak", "0003_tweak")]);
    }

    #[test]
    fn quote_styles_kept() {
        let src = "from django.db import migrations\n\n\
                   class Migration(migrations.Migration):\n    \
                   dependencies = [('orders', '0002_base'), (\"orders\", \"0003_a\"),\n        \
                   (u'orders', r'0004_b')]\n    operations = []\n";
        let own = key("orders", "0005_c");
        let renames = [
            rename("orders", "0003_a", "0005_a"),
            rename("orders", "0004_b", "0006_b"),
        ];
        let out = rewrite(src, &renames, &own, None);
        assert!(out.contains("('orders', '0002_base')"));
        assert!(out.contains("(\"orders\", \"0005_a\")"));
        assert!(out.contains("(u'orders', r'0006_b')"));
        // Reparent: the single-quoted dependency on the old parent.
        let (old, new) = (key("orders", "0002_base"), key("orders", "0004_up"));
        let out = rewrite(src, &renames, &own, Some((&old, &new)));
        assert!(out.contains("('orders', '0004_up'), (\"orders\", \"0005_a\")"));
    }

    #[test]
    fn crlf_stays_crlf() {
        let src = "from django.db import migrations\r\n\r\nclass Migration(migrations.Migration):\r\n    dependencies = [\r\n        ('orders', '0002_base'),\r\n    ]\r\n    operations = []\r\n";
        let own = key("orders", "0003_a");
        let (old, new) = (key("orders", "0002_base"), key("orders", "0003_up"));
        let out = rewrite(src, &[], &own, Some((&old, &new)));
        assert_eq!(out, src.replace("0002_base", "0003_up"));
        assert_eq!(out.matches("\r\n").count(), src.matches("\r\n").count());
        assert!(!out.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn chain_of_three() {
        let head = "# -*- coding: utf-8 -*-\nfrom django.db import migrations, models\n\n\n\
                    class Migration(migrations.Migration):\n\n    dependencies = [\n";
        let tail = "    ]\n\n    operations = [\n        migrations.AddField(\n            \
                    model_name='order', name='x', field=models.IntegerField(default=0),\n        \
                    ),\n    ]\n";
        let files = [
            ("0003_a", "        ('orders', '0002_base'),\n"),
            ("0004_b", "        ('orders', '0003_a'),\n"),
            (
                "0005_c",
                "        (\"orders\", \"0004_b\"),  # keep this comment\n",
            ),
        ];
        let ours: Vec<MigrationKey> = files.iter().map(|(n, _)| key("orders", n)).collect();
        let upstream_leaf = key("orders", "0004_up");
        let renames = plan_reparent(&ours, &upstream_leaf);
        let expected = [
            "        ('orders', '0004_up'),\n",
            "        ('orders', '0005_a'),\n",
            "        (\"orders\", \"0006_b\"),  # keep this comment\n",
        ];
        let old_parent = key("orders", "0002_base");
        for (i, (name, deps)) in files.iter().enumerate() {
            let src = format!("{head}{deps}{tail}");
            let reparent = (i == 0).then_some((&old_parent, &upstream_leaf));
            let out = rewrite(&src, &renames, &key("orders", name), reparent);
            assert_eq!(out, format!("{head}{}{tail}", expected[i]));
        }
    }

    #[test]
    fn cross_app_run_before_and_replaces() {
        let src = "from django.db import migrations\n\n\
                   class Migration(migrations.Migration):\n    \
                   replaces = [('orders', '0003_a'), ('orders', '0004_b')]\n    \
                   run_before = [('orders', '0004_b')]\n    \
                   dependencies = [('billing', '0001_initial'), ('orders', '0003_a')]\n    \
                   operations = []\n";
        let renames = [
            rename("orders", "0003_a", "0005_a"),
            rename("orders", "0004_b", "0006_b"),
        ];
        let out = rewrite(src, &renames, &key("billing", "0002_x"), None);
        assert_eq!(
            out,
            src.replace("0003_a", "0005_a").replace("0004_b", "0006_b")
        );
        // Another app's migration of the same name is not touched.
        let other = [rename("billing", "0003_a", "0009_a")];
        assert_eq!(rewrite(src, &other, &key("billing", "0002_x"), None), src);
    }

    #[test]
    fn variable_reference_is_refused() {
        let src = "from django.db import migrations\n\nPARENT = '0003_a'\n\n\
                   class Migration(migrations.Migration):\n    \
                   dependencies = [('orders', PARENT)]\n    operations = []\n";
        let parsed = parse_migration(src.as_bytes());
        let own = key("orders", "0004_b");
        let renames = [rename("orders", "0003_a", "0005_a")];
        let e = rewrite_references(src.as_bytes(), &parsed, &renames, &own, None).unwrap_err();
        assert_eq!(e.line, 6);
        assert!(e.message.contains("not a plain string literal"), "{e}");
        assert!(e.to_string().starts_with("orders.0004_b line 6: "), "{e}");
        // Nothing to rewrite there: fine.
        let unrelated = [rename("orders", "0009_z", "0010_z")];
        let out = rewrite_references(src.as_bytes(), &parsed, &unrelated, &own, None).unwrap();
        assert_eq!(out, src.as_bytes());
    }

    #[test]
    fn unreadable_dependencies_are_refused() {
        let src = "from django.db import migrations\n\n\
                   class Migration(migrations.Migration):\n    \
                   dependencies = [('orders', '0002_x'), compute()]\n    operations = []\n";
        let parsed = parse_migration(src.as_bytes());
        let own = key("orders", "0003_y");
        let e = rewrite_references(src.as_bytes(), &parsed, &[], &own, None).unwrap_err();
        assert!(e.message.contains("dependencies"), "{e}");
    }

    #[test]
    fn missing_old_parent_is_refused() {
        let src = "from django.db import migrations\n\n\
                   class Migration(migrations.Migration):\n    \
                   dependencies = [('orders', '0001_initial')]\n    operations = []\n";
        let parsed = parse_migration(src.as_bytes());
        let own = key("orders", "0003_y");
        let (old, new) = (key("orders", "0002_base"), key("orders", "0003_up"));
        let e =
            rewrite_references(src.as_bytes(), &parsed, &[], &own, Some((&old, &new))).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("orders.0002_base"), "{e}");
    }

    #[test]
    fn escaping_and_latin1() {
        assert_eq!(string_token("r", "'", "a'b", true), "'a\\'b'");
        assert_eq!(
            string_token("", "\"\"\"", "x\"y", true),
            "\"\"\"x\\\"y\"\"\""
        );
        assert_eq!(string_token("", "'", "caf\u{e9}", true), "'caf\u{e9}'");
        assert_eq!(string_token("", "'", "caf\u{e9}", false), "'caf\\u00e9'");
        assert_eq!(token_style(b"'x'"), Some(("", "'")));
        assert_eq!(token_style(b"R\"x\""), Some(("R", "\"")));
        assert_eq!(token_style(b"'''x'''"), Some(("", "'''")));
        assert_eq!(token_style(b"name"), None);
        assert_eq!(token_style(b"f'x'"), None);

        // A Latin-1 file keeps its bytes; offsets are into the original.
        let mut src = b"# coding: latin-1\n# caf\xe9\nfrom django.db import migrations\n\n\
                        class Migration(migrations.Migration):\n    \
                        dependencies = [('orders', '0003_a')]\n"
            .to_vec();
        src.extend_from_slice(b"    operations = []  # \xe9\n");
        let parsed = parse_migration(&src);
        let renames = [rename("orders", "0003_a", "0005_a")];
        let own = key("orders", "0004_b");
        let out = rewrite_references(&src, &parsed, &renames, &own, None).unwrap();
        assert_eq!(out.len(), src.len());
        let pos = src.windows(6).position(|w| w == b"0003_a").unwrap();
        assert_eq!(&out[pos..pos + 6], b"0005_a");
        assert_eq!(out[..pos], src[..pos]);
        assert_eq!(out[pos + 6..], src[pos + 6..]);
    }

    #[test]
    fn apply_edits_any_order() {
        let src = b"abcdef";
        let edits = [
            Edit {
                start: 4,
                end: 5,
                replacement: "XY".into(),
            },
            Edit {
                start: 0,
                end: 1,
                replacement: String::new(),
            },
            Edit {
                start: 2,
                end: 2,
                replacement: "_".into(),
            },
        ];
        assert_eq!(apply_edits(src, &edits), b"b_cdXYf");
        assert_eq!(apply_edits(src, &[]), src);
    }

    #[test]
    #[should_panic(expected = "overlapping")]
    fn apply_edits_rejects_overlap() {
        let e = |s, t| Edit {
            start: s,
            end: t,
            replacement: String::new(),
        };
        apply_edits(b"abcdef", &[e(0, 3), e(2, 4)]);
    }
}
