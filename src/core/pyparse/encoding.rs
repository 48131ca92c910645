//! How Python decodes a source file (PEP 263), and what it refuses: an
//! unknown `coding:` declaration, one that is no text encoding, bytes the
//! declared (or default UTF-8) encoding cannot decode, a BOM with another
//! declaration. Importing such a file raises `SyntaxError`.

use super::codecs::{Codec, CODECS};

/// What Python makes of a file's encoding.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Python decodes it.
    Fine,
    /// Python refuses it: 1-based line, message.
    Refused(u32, String),
    /// Declared in an encoding djmig does not decode; non-ASCII bytes are
    /// read as Latin-1 (1-based line of the declaration, its name).
    Unchecked(u32, String),
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Python's verdict on `bytes` as a source file. `in_comment` says whether
/// a byte offset is inside a comment: Python's UTF-8 decoding of source
/// does not look at comments (CPython 3.10 to 3.13 accept `# caf\xe9`).
pub(super) fn verdict(bytes: &[u8], in_comment: &dyn Fn(usize) -> bool) -> Verdict {
    let (bom, body) = match bytes.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, bytes),
    };
    let skip = if bom { BOM.len() } else { 0 };
    let in_comment = |at: usize| in_comment(at + skip);
    let Some((line, declared)) = declaration(body) else {
        return match first_invalid_utf8(body, &in_comment) {
            None => Verdict::Fine,
            Some((line, byte)) => Verdict::Refused(
                line,
                format!(
                    "Non-UTF-8 code starting with '\\x{byte:02x}', but no encoding declared \
                     (see PEP 263): Python cannot import the file"
                ),
            ),
        };
    };
    let name = normal_name(&declared);
    if bom && name != "utf-8" {
        return Verdict::Refused(line, format!("encoding problem: {name} with BOM"));
    }
    let codec = if name == "utf-8" {
        Some(Codec::Utf8)
    } else {
        lookup(&name)
    };
    match codec {
        None => Verdict::Refused(line, format!("unknown encoding: {declared}")),
        Some(Codec::NotText) => Verdict::Refused(
            line,
            format!("'{declared}' is not a text encoding; Python cannot read source in it"),
        ),
        Some(Codec::Unreadable) => Verdict::Refused(
            line,
            format!(
                "the file declares `coding: {declared}`, but its declaration is readable as \
                 ASCII, which no {declared} text is: Python cannot decode it"
            ),
        ),
        Some(Codec::Utf8) => match first_invalid_utf8(body, &in_comment) {
            None => Verdict::Fine,
            Some((at, byte)) => Verdict::Refused(
                at,
                format!(
                    "(unicode error) 'utf-8' codec can't decode byte 0x{byte:02x}: the file \
                     declares `coding: {declared}` and is not valid UTF-8"
                ),
            ),
        },
        Some(Codec::Latin1) => Verdict::Fine,
        Some(Codec::Ascii) => match body.iter().position(|&b| b >= 0x80) {
            None => Verdict::Fine,
            Some(i) => Verdict::Refused(
                line_of(body, i),
                format!(
                    "'ascii' codec can't decode byte 0x{:02x}: the file declares \
                     `coding: {declared}`",
                    body[i]
                ),
            ),
        },
        Some(Codec::Other) if body.is_ascii() => Verdict::Fine,
        Some(Codec::Other) => Verdict::Unchecked(line, declared),
    }
}

/// The encoding declared in the first two lines, as Python's tokenizer
/// finds it (`get_coding_spec`): on line 1, or on line 2 when line 1 is
/// blank or a comment.
fn declaration(body: &[u8]) -> Option<(u32, String)> {
    let mut lines = body.split(|&b| b == b'\n');
    let first = lines.next()?;
    if let Some(name) = coding_spec(first) {
        return Some((1, name));
    }
    let blank_or_comment = first
        .iter()
        .find(|&&b| !matches!(b, b' ' | b'\t' | b'\x0c' | b'\r'))
        .is_none_or(|&b| b == b'#');
    if !blank_or_comment {
        return None;
    }
    coding_spec(lines.next()?).map(|name| (2, name))
}

/// `coding[:=]\s*([-\w.]+)` in a comment line.
fn coding_spec(line: &[u8]) -> Option<String> {
    let start = line
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\x0c'))?;
    if line[start] != b'#' {
        return None;
    }
    let mut i = start;
    while i + 6 < line.len() {
        if &line[i..i + 6] == b"coding" && matches!(line[i + 6], b':' | b'=') {
            let mut j = i + 7;
            while j < line.len() && matches!(line[j], b' ' | b'\t') {
                j += 1;
            }
            let begin = j;
            while j < line.len()
                && (line[j].is_ascii_alphanumeric() || matches!(line[j], b'-' | b'_' | b'.'))
            {
                j += 1;
            }
            if j > begin {
                return Some(String::from_utf8_lossy(&line[begin..j]).into_owned());
            }
        }
        i += 1;
    }
    None
}

/// The tokenizer's `get_normal_name`: UTF-8 and Latin-1 spellings folded.
fn normal_name(name: &str) -> String {
    let buf: String = name
        .chars()
        .take(12)
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if buf == "utf-8" || buf.starts_with("utf-8-") {
        return "utf-8".to_owned();
    }
    let latin = ["latin-1", "iso-8859-1", "iso-latin-1"];
    if latin
        .iter()
        .any(|l| buf == *l || buf.starts_with(&format!("{l}-")))
    {
        return "iso-8859-1".to_owned();
    }
    name.to_owned()
}

/// `codecs.lookup`: lower case, runs of other characters than letters,
/// digits and `.` as one `_` (`encodings.normalize_encoding`).
fn lookup(name: &str) -> Option<Codec> {
    let mut norm = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_alphanumeric() || c == '.' {
            if gap && !norm.is_empty() {
                norm.push('_');
            }
            gap = false;
            norm.push(c);
        } else {
            gap = true;
        }
    }
    let find = |n: &str| {
        CODECS
            .binary_search_by(|(k, _)| (*k).cmp(n))
            .ok()
            .map(|i| CODECS[i].1)
    };
    find(&norm).or_else(|| find(&norm.replace('.', "_")))
}

/// The first byte outside comments that is not part of valid UTF-8: its
/// 1-based line and value.
fn first_invalid_utf8(bytes: &[u8], in_comment: &dyn Fn(usize) -> bool) -> Option<(u32, u8)> {
    let mut from = 0;
    while from < bytes.len() {
        let e = std::str::from_utf8(&bytes[from..]).err()?;
        let at = from + e.valid_up_to();
        if !in_comment(at) {
            return Some((line_of(bytes, at), bytes[at]));
        }
        from = at + e.error_len().unwrap_or(1);
    }
    None
}

fn line_of(bytes: &[u8], at: usize) -> u32 {
    1 + bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(src: &[u8]) -> Verdict {
        // Comments: from `#` to the end of the line (no strings hold one
        // in these tests).
        let comment = |at: usize| {
            let start = src[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            src[start..at].contains(&b'#')
        };
        super::verdict(src, &comment)
    }

    fn refused(src: &[u8]) -> (u32, String) {
        match verdict(src) {
            Verdict::Refused(line, m) => (line, m),
            v => panic!("{src:?}: {v:?}"),
        }
    }

    #[test]
    fn unknown_declared_encoding_is_refused() {
        assert_eq!(
            refused(b"# -*- coding: foobar -*-\nx = 1\n"),
            (1, "unknown encoding: foobar".to_owned())
        );
        assert_eq!(refused(b"#!/usr/bin/env python\n# coding=foobar\n").0, 2);
        assert_eq!(refused(b"\n# vim: fileencoding=foobar\n").0, 2);
        // Not a declaration: on line 2 after code, on line 3, after code.
        for src in [
            &b"x = 1\n# coding: foobar\n"[..],
            b"#\n#\n# coding: foobar\n",
            b"x = 1  # coding: foobar\n",
            b"# codingfoobar: x\n",
        ] {
            assert_eq!(verdict(src), Verdict::Fine, "{src:?}");
        }
    }

    #[test]
    fn invalid_utf8_is_refused_unless_declared_otherwise() {
        assert_eq!(refused(b"x = 1\ny = '\xff'\n").0, 2);
        assert_eq!(refused(b"# coding: utf-8\nx = '\xff'\n").0, 2);
        assert_eq!(refused(b"\xef\xbb\xbfx = '\xff'\n").0, 1);
        // Python does not decode comments as UTF-8.
        assert_eq!(verdict(b"# caf\xe9\nx = 1  # \xff\xfe\n"), Verdict::Fine);
        assert_eq!(verdict(b"\xef\xbb\xbf# caf\xe9\nx = 1\n"), Verdict::Fine);
        assert_eq!(refused(b"x = 1  # caf\xe9\ny = '\xe9'\n").0, 2);
        // Other declared encodings decode the whole file.
        assert_eq!(refused(b"# coding: ascii\n# caf\xc3\xa9\n").0, 2);
        assert_eq!(verdict(b"# coding: latin-1\nx = '\xff'\n"), Verdict::Fine);
        assert_eq!(
            verdict(b"# vim: set fileencoding=ISO_8859-1 :\n\xff\n"),
            Verdict::Fine
        );
        assert_eq!(verdict(b"# coding: UTF8\nx = '\xc3\xa9'\n"), Verdict::Fine);
        assert_eq!(verdict(b"# coding: utf-8-unix\n"), Verdict::Fine);
        assert_eq!(
            verdict(b"# coding: cp1252\nx = '\x80'\n"),
            Verdict::Unchecked(1, "cp1252".to_owned())
        );
    }

    #[test]
    fn encodings_python_cannot_read_source_in_are_refused() {
        assert!(refused(b"# coding: ascii\nx = '\xc3\xa9'\n")
            .1
            .contains("'ascii' codec"));
        assert!(refused(b"# coding: hex\n")
            .1
            .contains("not a text encoding"));
        assert!(refused(b"# coding: rot_13\n")
            .1
            .contains("not a text encoding"));
        assert!(refused(b"# coding: utf-16\nx = 1\n")
            .1
            .contains("cannot decode"));
        assert!(refused(b"# coding: cp037\nx = 1\n")
            .1
            .contains("cannot decode"));
        assert_eq!(
            refused(b"\xef\xbb\xbf# coding: latin-1\n"),
            (1, "encoding problem: iso-8859-1 with BOM".to_owned())
        );
        assert_eq!(verdict(b"\xef\xbb\xbf# coding: utf-8\n"), Verdict::Fine);
        assert_eq!(verdict(b"# coding: euc_jp\nx = 1\n"), Verdict::Fine);
    }
}
