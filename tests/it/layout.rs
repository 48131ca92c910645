//! The layering rules, checked on the source: libgit2 is used only by the
//! git adapter (`src/adapters/git/`), processes are started only by the
//! process adapter (`src/adapters/process.rs`), the core (`src/core/`)
//! reaches neither the file system, the adapters nor the terminal, and the
//! adapters never reach the terminal or the commands (ARCHITECTURE.md).
//!
//! Each file under `src/` is read up to its first inline test module
//! (`#[cfg(test)]` followed by `mod NAME {`: test modules sit at the end of
//! files); files that are test code as a whole (`tests.rs`, `*_tests.rs`,
//! `testutil.rs`) are skipped, and `//` comments are left out.

use std::path::{Path, PathBuf};

/// A rule: where a word may appear, and where the code belongs.
struct Rule {
    /// What is looked for.
    words: &'static [&'static str],
    /// The files (paths relative to the crate, '/'-separated) it may
    /// appear in.
    allowed: fn(&str) -> bool,
    /// Said with each offence.
    belongs: &'static str,
}

const RULES: [Rule; 4] = [
    Rule {
        words: &["git2"],
        allowed: |p| p.starts_with("src/adapters/git/"),
        belongs: "libgit2 belongs in the git adapter (src/adapters/git/): add a function there",
    },
    Rule {
        words: &["Command::new", "process::Command", ".spawn("],
        allowed: |p| p == "src/adapters/process.rs",
        belongs: "starting a process belongs in the process adapter (src/adapters/process.rs): build a process::Cmd",
    },
    Rule {
        words: &[
            "std::fs",
            "std::process",
            "crate::adapters",
            "crate::terminal",
            "crate::commands",
            "crate::workspace",
        ],
        allowed: |p| !p.starts_with("src/core/"),
        belongs: "the core is pure: it reads files through the SourceTree trait, and the \
                  commands bring what git, processes and the terminal give",
    },
    Rule {
        words: &["crate::terminal", "crate::commands", "dialoguer"],
        allowed: |p| !p.starts_with("src/adapters/"),
        belongs: "an adapter talks to one outside system and returns data: \
                  what users read and are asked belongs in the command (and src/terminal/)",
    },
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Whole files of test code.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs" || name.ends_with("_tests.rs") || name == "testutil.rs"
}

/// The lines of `text` before its first inline test module, `//` comments
/// left out, with their 1-based numbers.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("#[cfg(test)]") && opens_module(&lines[i + 1..]) {
            break;
        }
        let code = line.find("//").map_or(*line, |at| &line[..at]);
        out.push((i + 1, code));
    }
    out
}

/// Whether the item after an attribute line is an inline module
/// (`mod tests {`), other attributes skipped.
fn opens_module(rest: &[&str]) -> bool {
    rest.iter()
        .map(|l| l.trim())
        .find(|l| !l.starts_with("#["))
        .is_some_and(|l| {
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.starts_with("mod ") && l.ends_with('{')
        })
}

/// Whether `word` occurs in `code` on its own: not inside a longer name
/// (`libgit2` is not `git2`).
fn mentions(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let open_start = word.starts_with(ident) && before.is_some_and(ident);
        let open_end = word.ends_with(ident) && after.is_some_and(ident);
        !open_start && !open_end
    })
}

/// Every offence against [`RULES`] in the sources under `root/src`.
fn offences(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !is_test_file(f)) {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (n, code) in code_lines(&text) {
            for rule in RULES.iter().filter(|r| !(r.allowed)(&rel)) {
                for word in rule.words.iter().filter(|w| mentions(code, w)) {
                    found.push(format!("{rel}:{n}: `{word}`: {}", rule.belongs));
                }
            }
        }
    }
    found
}

#[test]
fn git2_only_in_the_git_adapter_processes_only_in_the_process_adapter_and_a_pure_core() {
    let found = offences(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        found.is_empty(),
        "the layering rules are broken in {} place(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_layout_check_sees_what_it_must_and_nothing_else() {
    let code = |t: &str| -> Vec<usize> { code_lines(t).into_iter().map(|(n, _)| n).collect() };
    // An inline test module ends the scan; a test module in a file of its
    // own (or a test-only item) does not.
    assert_eq!(code("a\n#[cfg(test)]\nmod tests {\nb\n}\n"), [1]);
    assert_eq!(code("#[cfg(test)]\nmod tests;\nb\n"), [1, 2, 3]);
    assert_eq!(
        code("a\n#[cfg(test)]\n#[allow(unused)]\nmod version_tests {\n"),
        [1]
    );
    assert!(mentions("use git2::Oid;", "git2"));
    assert!(!mentions("reads it with libgit2", "git2"));
    assert!(mentions(
        "let c = std::process::Command::new(x);",
        "Command::new"
    ));
    assert!(mentions("cmd.spawn()?", ".spawn("));
    assert!(!mentions("std::thread::spawn(f)", ".spawn("));
    assert_eq!(code_lines("x // git2 in a comment")[0].1, "x ");
    assert!(!is_test_file(Path::new("src/adapters/git/mod.rs")));
    assert!(is_test_file(Path::new("src/adapters/git/history_tests.rs")));
    assert!(is_test_file(Path::new("src/adapters/git/testutil.rs")));
}
