//! Shell completions, the man page, colour, and the pip install.
//!
//! The completion scripts are committed in `completions/`; a test fails when
//! one differs from what the binary generates. Regenerate them all with
//!
//! ```sh
//! DJMIG_UPDATE_COMPLETIONS=1 cargo test --test it completions
//! ```

use std::fs;
use std::path::Path;

use clap::CommandFactory;

use crate::support::{copy_fixture, djmig, fixture, repo_root};

/// `(shell, file in completions/)`.
const SCRIPTS: [(&str, &str); 5] = [
    ("bash", "djmig.bash"),
    ("zsh", "_djmig"),
    ("fish", "djmig.fish"),
    ("powershell", "_djmig.ps1"),
    ("elvish", "djmig.elv"),
];

fn stdout_of(cmd: &mut assert_cmd::Command) -> Vec<u8> {
    let out = cmd.output().expect("run djmig");
    assert!(
        out.status.success(),
        "{cmd:?} failed\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn committed_completions_are_up_to_date() {
    let update = std::env::var_os("DJMIG_UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    let outside = tempfile::tempdir().unwrap();
    let mut stale = Vec::new();
    for (shell, file) in SCRIPTS {
        // No project needed: run outside any.
        let generated = stdout_of(
            djmig()
                .current_dir(outside.path())
                .args(["completions", shell]),
        );
        assert!(!generated.is_empty(), "{shell}");
        let path = repo_root().join("completions").join(file);
        if update {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &generated).unwrap();
            continue;
        }
        if fs::read(&path).ok().as_deref() != Some(generated.as_slice()) {
            stale.push(format!("completions/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from what `djmig completions` prints (the command line changed).\n\
         Regenerate them with:\n    DJMIG_UPDATE_COMPLETIONS=1 cargo test --test it completions\n\
         or one by one: djmig completions zsh > completions/_djmig",
        stale.join(", ")
    );
}

#[test]
fn completions_know_the_subcommands() {
    let bash = String::from_utf8(stdout_of(djmig().args(["completions", "bash"]))).unwrap();
    for sub in ["check", "graph", "hook", "completions", "man"] {
        assert!(bash.contains(sub), "{sub}");
    }
    let out = djmig().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_page_is_roff_with_every_command() {
    let outside = tempfile::tempdir().unwrap();
    let page =
        String::from_utf8(stdout_of(djmig().current_dir(outside.path()).arg("man"))).unwrap();
    assert!(page.starts_with(".TH"), "{}", &page[..page.len().min(200)]);
    let cli = djmig::cli::Cli::command();
    let mut n = 0;
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        assert!(
            page.contains(&format!(".SH \"DJMIG {}\"", name.to_uppercase())),
            "the man page has no section for {name}"
        );
        n += 1;
    }
    assert!(n >= 5, "{n} subcommands");
    // Options are documented.
    assert!(page.contains("\\-\\-color"));
    assert!(page.contains("\\-\\-hooks"));
}

// ----------------------------------------------------------------- colour

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(dir: &Path, extra: &[&str], no_color: bool) -> Out {
    let mut cmd = djmig();
    if !no_color {
        cmd.env_remove("NO_COLOR");
    }
    cmd.args(extra).arg("-C").arg(dir).arg("check");
    let out = cmd.output().unwrap();
    Out {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let dir = fixture("two_leaves");
    let plain = check(&dir, &[], true);
    assert_eq!(plain.code, 1);
    assert!(!plain.stdout.contains('\x1b') && !plain.stderr.contains('\x1b'));
    // Not a terminal: `auto` is plain even without NO_COLOR, byte for byte.
    for args in [&[][..], &["--color", "auto"], &["--color", "never"]] {
        let o = check(&dir, args, false);
        assert_eq!(o.stdout, plain.stdout, "{args:?}");
        assert_eq!(o.stderr, plain.stderr, "{args:?}");
    }
    let coloured = check(&dir, &["--color", "always"], true);
    assert_eq!(coloured.code, 1);
    assert!(coloured.stdout.contains("\x1b["), "{:?}", coloured.stdout);
    // Without the escape codes, the same text.
    assert_eq!(strip_ansi(&coloured.stdout), plain.stdout);
    assert_eq!(strip_ansi(&coloured.stderr), plain.stderr);
}

#[test]
fn warnings_are_painted_with_color_always() {
    // An app found nowhere gives a warning line on stderr.
    let dir = copy_fixture("linear");
    fs::write(
        dir.path().join("blog/migrations/0004_ext.py"),
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    \
         dependencies = [(\"blog\", \"0003_post_published\"), (\"nowhere\", \"0001_initial\")]\n",
    )
    .unwrap();
    let plain = check(dir.path(), &[], true);
    assert!(plain.stderr.starts_with("warning: "), "{}", plain.stderr);
    let coloured = check(dir.path(), &["--color", "always"], true);
    assert!(
        coloured.stderr.starts_with("\x1b[1;33mwarning:\x1b[0m "),
        "{:?}",
        coloured.stderr
    );
    assert_eq!(strip_ansi(&coloured.stderr), plain.stderr);
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
