//! Text from a repository, made safe to print.
//!
//! File names, app labels, migration names, ref names and whatever quotes
//! them come from whoever wrote the repository, and djmig runs in CI on
//! untrusted pull requests and in hooks on whatever `git pull` brings. A
//! name is shown, never obeyed:
//!
//! - [`term`]: for a terminal or a CI log. Control characters (ESC, CR,
//!   line breaks, …) and invisible direction marks are shown as `\x1b`,
//!   `\n`, `\u{202e}`; a value whose first non-blank characters are `::`
//!   shows its first colon as `\x3a`, and `##[` shows as `##\x5b`, so no
//!   value can be read as a GitHub workflow command. It is idempotent.
//! - [`gh_data`] and [`gh_prop`]: a GitHub workflow command's message and
//!   property values, encoded as GitHub documents (`%25`, `%0D`, `%0A`;
//!   `%3A` and `%2C` in properties), other control characters shown. A
//!   `##[` inside such a command is left as it is: the runner reads the
//!   line as the `::` command it starts with, and the file a property
//!   names must stay exact for the annotation to point at it.
//! - [`shell_word`]: one word of a command djmig suggests: bare when it
//!   is plain, else `'…'`, and `$'…'` (bash, zsh, ksh) when it holds
//!   control characters — correct to paste, and visible.
//! - [`Guard`]: the last line of defence on an output stream, under all of
//!   the above: it lets through no control character but the line break
//!   (and, on a coloured stream, SGR colour codes), no line starting with
//!   `:` and no `##[`.

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` would steer a terminal or hide itself: a control character
/// (C0, DEL, C1), a line or paragraph separator, or a bidirectional mark,
/// embedding, override or isolate.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `c` as visible text: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// Whether the text, after leading blanks, starts a GitHub workflow
/// command (the runner trims leading white space before looking for `::`).
fn starts_command(s: &str) -> bool {
    s.trim_start().starts_with("::")
}

/// A repository's text for the terminal (see the module doc).
pub fn term(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hidden) && !starts_command(s) && !s.contains("##[") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    if starts_command(&out) {
        let at = out.len() - out.trim_start().len();
        out.replace_range(at..at + 1, "\\x3a");
    }
    Cow::Owned(out.replace("##[", "##\\x5b"))
}

/// A workflow command's message: `%`, CR and LF encoded as GitHub
/// documents; other control characters shown.
pub fn gh_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's property value: as [`gh_data`], and `:` and `,`
/// encoded too, so that a value can end neither the property nor the
/// command.
pub fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One word of a command shown to the user, quoted for a POSIX shell:
/// bare when it is made of plain characters; else in single quotes (`'`
/// as `'\''`, and `##[` split as `#''#[`); with control characters, as
/// `$'…'` with escapes, which bash, zsh and ksh read back as the word.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return s.to_string();
    }
    if !s.chars().any(hidden) {
        let body = s.replace('\'', r"'\''").replace("##[", "#''#[");
        return format!("'{body}'");
    }
    let mut out = String::from("$'");
    let mut prev_hash = 0;
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '[' if prev_hash >= 2 => out.push_str("\\x5b"),
            c if hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
        prev_hash = if c == '#' { prev_hash + 1 } else { 0 };
    }
    out.push('\'');
    out
}

/// A command line of [`shell_word`]s.
pub fn shell_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a [`Guard`] lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Text for a terminal or a log: control characters shown (SGR colour
    /// codes kept when `colour`), a line's leading `:` shown as `\x3a`,
    /// `##[` as `##\x5b`.
    Text { colour: bool },
    /// JSON: exact, but `##[` written `##\u005b` (the same string).
    Json,
    /// Untouched: output that is workflow commands already, or generated
    /// files (completions, the man page).
    Raw,
}

/// A writer that passes on only what [`Mode`] allows. Whole writes or
/// pieces (a colour code split over several writes, a character split
/// between two) come out the same.
pub struct Guard<W: Write> {
    inner: W,
    mode: Mode,
    /// Bytes of a character not yet complete.
    carry: Vec<u8>,
    /// An escape sequence being read (colour mode).
    seq: String,
    /// Only blanks since the line began.
    blank: bool,
    /// `#`s just before.
    hashes: u8,
}

impl<W: Write> Guard<W> {
    pub fn new(inner: W, mode: Mode) -> Guard<W> {
        Guard {
            inner,
            mode,
            carry: Vec::new(),
            seq: String::new(),
            blank: true,
            hashes: 0,
        }
    }

    fn text(&mut self, s: &str, out: &mut String) {
        for c in s.chars() {
            self.char(c, out);
        }
    }

    fn char(&mut self, c: char, out: &mut String) {
        let colour = matches!(self.mode, Mode::Text { colour: true });
        if !self.seq.is_empty() {
            let csi = self.seq.len() > 1;
            if (!csi && c == '[')
                || (csi && (c.is_ascii_digit() || c == ';') && self.seq.len() < 16)
            {
                self.seq.push(c);
                return;
            }
            if csi && c == 'm' {
                out.push_str(&self.seq);
                out.push('m');
                self.seq.clear();
                return;
            }
            self.drop_seq(out);
        }
        if self.mode == Mode::Json {
            if c == '[' && self.hashes >= 2 {
                out.push_str("\\u005b");
            } else {
                out.push(c);
            }
            self.hashes = if c == '#' {
                self.hashes.saturating_add(1)
            } else {
                0
            };
            return;
        }
        match c {
            '\n' => {
                out.push('\n');
                self.blank = true;
            }
            '\x1b' if colour => self.seq.push(c),
            '\t' => out.push('\t'),
            c if hidden(c) => {
                push_visible(out, c);
                self.blank = false;
            }
            ':' if self.blank => {
                out.push_str("\\x3a");
                self.blank = false;
            }
            '[' if self.hashes >= 2 => {
                out.push_str("\\x5b");
                self.blank = false;
            }
            c => {
                out.push(c);
                if !c.is_whitespace() {
                    self.blank = false;
                }
            }
        }
        self.hashes = if c == '#' {
            self.hashes.saturating_add(1)
        } else {
            0
        };
    }

    /// An escape sequence that is not a colour code: shown.
    fn drop_seq(&mut self, out: &mut String) {
        for c in std::mem::take(&mut self.seq).chars() {
            if hidden(c) {
                push_visible(out, c);
            } else {
                out.push(c);
            }
        }
        self.blank = false;
    }

    /// What is held back (an unfinished sequence or character), shown.
    fn settle(&mut self) -> io::Result<()> {
        let mut out = String::new();
        if !self.seq.is_empty() {
            self.drop_seq(&mut out);
        }
        for b in std::mem::take(&mut self.carry) {
            out.push_str(&format!("\\x{b:02x}"));
        }
        self.inner.write_all(out.as_bytes())
    }
}

impl<W: Write> Write for Guard<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.mode == Mode::Raw {
            return self.inner.write(buf);
        }
        self.carry.extend_from_slice(buf);
        let bytes = std::mem::take(&mut self.carry);
        let mut out = String::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    self.text(s, &mut out);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // Checked valid just above.
                    self.text(std::str::from_utf8(good).unwrap_or_default(), &mut out);
                    match e.error_len() {
                        // Not UTF-8: shown byte by byte.
                        Some(n) => {
                            for b in &bad[..n] {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                            self.blank = false;
                            rest = &bad[n..];
                        }
                        // A character continued in the next write.
                        None => {
                            self.carry = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        self.inner.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Guard<W> {
    fn drop(&mut self) {
        let _ = self.settle();
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_shows_control_characters() {
        assert_eq!(term("0001_initial"), "0001_initial");
        assert!(matches!(term("blog"), Cow::Borrowed(_)));
        assert_eq!(
            term("a\x1b]0;title\x07\x1b[31m"),
            r"a\x1b]0;title\x07\x1b[31m"
        );
        assert_eq!(term("a\nb\rc\td\x7f"), r"a\nb\rc\td\x7f");
        assert_eq!(term("\u{9b}31m"), r"\u{9b}31m");
        assert_eq!(
            term("evil\u{202e}txt.py\u{2028}"),
            r"evil\u{202e}txt.py\u{2028}"
        );
        // Unicode letters are names like any other.
        assert_eq!(term("0002_café_ß"), "0002_café_ß");
    }

    #[test]
    fn term_never_starts_a_workflow_command() {
        assert_eq!(term("::add-mask::x"), r"\x3a:add-mask::x");
        assert_eq!(term("  ::error::x"), r"  \x3a:error::x");
        assert_eq!(term("\u{a0}::error::x"), "\u{a0}\\x3a:error::x");
        // Not at the start: the line break is shown, so no new line.
        assert_eq!(term("a\n::add-mask::x"), r"a\n::add-mask::x");
        assert_eq!(term("a::b"), "a::b");
        assert_eq!(term(":memory:"), ":memory:");
        assert_eq!(term("x##[add-mask]y"), r"x##\x5badd-mask]y");
        assert_eq!(term("###[a"), r"###\x5ba");
    }

    #[test]
    fn term_is_idempotent() {
        for s in [
            "a\x1b[2J",
            "::add-mask::x",
            "##[set-output name=a;]b",
            "x\n::y",
            "plain",
        ] {
            let once = term(s).into_owned();
            assert_eq!(term(&once), once, "{s:?}");
        }
    }

    #[test]
    fn github_values_are_encoded() {
        assert_eq!(gh_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(gh_data("a\x1b[31m"), r"a\x1b[31m");
        assert_eq!(gh_data("a::b"), "a::b");
        assert_eq!(
            gh_prop("blog/0004_b\n::add-mask::x,y.py"),
            "blog/0004_b%0A%3A%3Aadd-mask%3A%3Ax%2Cy.py"
        );
        assert_eq!(gh_prop("100%"), "100%25");
    }

    /// What `sh -c 'printf %s WORD'` prints: the word read back.
    fn read_back(shell: &str, word: &str) -> Option<String> {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(format!("printf %s {word}"))
            .output()
            .ok()?;
        assert!(out.status.success(), "{shell}: {word}");
        Some(String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn shell_words_read_back_as_themselves() {
        assert_eq!(shell_word("blog"), "blog");
        assert_eq!(shell_word("origin/main"), "origin/main");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("$(touch PWNED)"), "'$(touch PWNED)'");
        assert_eq!(shell_word("c##[x]"), "'c#''#[x]'");
        assert_eq!(shell_word("a\x1b[2J\n"), r"$'a\x1b[2J\n'");
        assert_eq!(shell_word("a\\'\n##[b"), r"$'a\\\'\n##\x5bb'");
        for w in ["$(touch PWNED)", "`id`", "it's", "c##[x]", "a;b|c&d", "*?"] {
            let q = shell_word(w);
            assert!(!q.contains("##["), "{q}");
            if let Some(back) = read_back("sh", &q) {
                assert_eq!(back, w, "sh read {q} back");
            }
        }
        for w in ["a\x1b[2J\n::x", "it's\ta\\b", "x##[y\x07"] {
            let q = shell_word(w);
            assert_eq!(term(&q), q, "visible as it is");
            assert!(!q.contains("##["), "{q}");
            if let Some(back) = read_back("bash", &q) {
                assert_eq!(back, w, "bash read {q} back");
            }
        }
        assert_eq!(
            shell_line(&["djmig", "resolve", "a b"]),
            "djmig resolve 'a b'"
        );
    }

    fn guarded(mode: Mode, pieces: &[&[u8]]) -> String {
        let mut buf = Vec::new();
        {
            let mut g = Guard::new(&mut buf, mode);
            for p in pieces {
                g.write_all(p).unwrap();
            }
        }
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn the_guard_passes_plain_text_and_colour_codes() {
        let text = "blog: 2 leaf migrations\n  0004_a  blog/0004_a.py\n";
        assert_eq!(
            guarded(Mode::Text { colour: false }, &[text.as_bytes()]),
            text
        );
        // A colour code split over writes, as `write!` splits it.
        let pieces: [&[u8]; 5] = [b"\x1b[", b"1;31", b"m", b"error:", b"\x1b[0m\n"];
        assert_eq!(
            guarded(Mode::Text { colour: true }, &pieces),
            "\x1b[1;31merror:\x1b[0m\n"
        );
        // Without colour, or when it is not a colour code: shown.
        assert_eq!(
            guarded(Mode::Text { colour: false }, &pieces),
            "\\x1b[1;31merror:\\x1b[0m\n"
        );
        assert_eq!(
            guarded(
                Mode::Text { colour: true },
                &[b"a\x1b]0;t\x07b\x1b[2Jc\x1b"]
            ),
            r"a\x1b]0;t\x07b\x1b[2Jc\x1b"
        );
    }

    #[test]
    fn the_guard_stops_workflow_commands_and_control_characters() {
        let t = Mode::Text { colour: false };
        assert_eq!(
            guarded(t, &[b"name\n::add-mask::x\n  ::error::y\n"]),
            "name\n\\x3a:add-mask::x\n  \\x3a:error::y\n"
        );
        assert_eq!(
            guarded(t, &[b"a #", b"#[add-mask]b"]),
            r"a ##\x5badd-mask]b"
        );
        assert_eq!(guarded(t, &[b"a\rb\x07\tc"]), "a\\rb\\x07\tc");
        assert_eq!(guarded(t, &["x\u{2028}::y".as_bytes()]), r"x\u{2028}::y");
        // A character split between writes; bytes that are not UTF-8.
        let e = "é".as_bytes();
        assert_eq!(guarded(t, &[&e[..1], &e[1..]]), "é");
        assert_eq!(guarded(t, &[b"a\xffb"]), r"a\xffb");
        assert_eq!(guarded(t, &[b"a\xc3"]), r"a\xc3");
        // JSON: exact but for `##[`, which parses the same.
        let json = "{\n  \"a\": \"x##[add-mask]y\\u001b\"\n}\n";
        let out = guarded(Mode::Json, &[json.as_bytes()]);
        assert_eq!(out, "{\n  \"a\": \"x##\\u005badd-mask]y\\u001b\"\n}\n");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["a"], "x##[add-mask]y\x1b");
        assert_eq!(
            guarded(Mode::Raw, &[b"::error::x\x1b\n"]),
            "::error::x\x1b\n"
        );
    }
}
