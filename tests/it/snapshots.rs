//! Snapshots of what the commands print (stdout, stderr and the exit code)
//! on every fixture project, on review's cases, and on a small git
//! repository built in a temporary directory — so that a change to any
//! text a user reads shows up in review as a diff of `tests/it/snapshots/`.
//!
//! Temporary paths, commit ids and timings are replaced by placeholders
//! ([`normalise`]). To accept changed output after reading the diff:
//! `INSTA_UPDATE=always cargo test --test it snapshots` (or `cargo insta
//! review` with cargo-insta installed), then commit the `.snap` files.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{
    copy_tree, djmig_std, fixture, fixture_names, fixtures_dir, git_command, hermetic_git,
    temp_home, write,
};

/// What a run printed, as one text: the command, the exit code, stdout and
/// stderr.
fn transcript(args: &[&str], out: &std::process::Output) -> String {
    format!(
        "$ djmig {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Placeholders for what changes from run to run or machine to machine:
/// the temporary directories (`[ROOT]`, `[HOME]`), commit ids (`[COMMIT]`:
/// words of 7 to 40 lowercase hex digits with a digit and a letter, so
/// neither `0001` nor `defaced`), durations (`[TIME]`: `12ms`, `1.5s`),
/// djmig's version.
fn normalise(text: &str, paths: &[(&Path, &str)]) -> String {
    let mut t = text.to_string();
    for (path, name) in paths {
        // The canonical path, then as given.
        let mut forms = vec![path.display().to_string()];
        if let Ok(c) = path.canonicalize() {
            forms.push(c.display().to_string());
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        for f in forms {
            t = t.replace(&f, name);
        }
    }
    let t = dates(&t.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"));
    let mut out = String::with_capacity(t.len());
    let mut rest = t.as_str();
    while let Some(c) = rest.chars().next() {
        let word_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == 'µ'))
            .unwrap_or(rest.len());
        if word_len == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        // A word, dots included (`1.5s`), but not a trailing dot.
        let word = rest[..word_len].trim_end_matches('.');
        let word = if word.is_empty() { &rest[..1] } else { word };
        out.push_str(&placeholder(word).unwrap_or_else(|| word.to_string()));
        rest = &rest[word.len()..];
    }
    out
}

/// `[DATETIME]` for the moments of now djmig writes: a merge migration's
/// header (`2026-01-01 12:00`), its name when the leaves' names are too
/// long (`0005_merge_20260101_1200`), the journal's `2026-01-01T12:00:00Z`.
fn dates(text: &str) -> String {
    const SHAPES: [&str; 3] = ["dddd-dd-ddTdd:dd:ddZ", "dddd-dd-dd dd:dd", "dddddddd_dddd"];
    let fits = |s: &[u8], shape: &str| {
        s.len() >= shape.len()
            && shape.bytes().zip(s).all(|(p, &c)| match p {
                b'd' => c.is_ascii_digit(),
                _ => p == c,
            })
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_digit();
        match SHAPES.iter().find(|s| boundary && fits(&bytes[i..], s)) {
            Some(shape) => {
                out.push_str(&text[copied..i]);
                out.push_str("[DATETIME]");
                i += shape.len();
                copied = i;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn placeholder(word: &str) -> Option<String> {
    let hex = |w: &str| {
        w.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if (7..=40).contains(&word.len())
        && hex(word)
        && word.bytes().any(|b| b.is_ascii_digit())
        && word.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Some("[COMMIT]".into());
    }
    let number = word.trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == 'µ');
    let unit = &word[number.len()..];
    let is_number = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && number.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if is_number && ["ns", "µs", "us", "ms", "s"].contains(&unit) {
        return Some("[TIME]".into());
    }
    None
}

/// Where the snapshots are: `tests/it/snapshots/`, named by the test's
/// own names.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.set_snapshot_path("snapshots");
    s
}

/// Run djmig in `dir` (as `-C dir`), hermetically, with no Python or git
/// on `PATH` (so nothing depends on what this machine has installed).
fn djmig_in(dir: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = djmig_std();
    hermetic_git(&mut cmd, home);
    let empty = home.join("empty-bin");
    fs::create_dir_all(&empty).expect("create empty-bin");
    cmd.current_dir(dir)
        .env("PATH", &empty)
        .env_remove("GITHUB_ACTIONS")
        .arg("-C")
        .arg(dir)
        .args(args);
    cmd.output().expect("run djmig")
}

/// The transcripts of several runs in `dir`, normalised.
fn transcripts(dir: &Path, home: &Path, runs: &[&[&str]]) -> String {
    let mut text = String::new();
    for args in runs {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&transcript(args, &djmig_in(dir, home, args)));
    }
    normalise(&text, &[(dir, "[ROOT]"), (home, "[HOME]")])
}

// ------------------------------------------------------------ fixtures

/// Every command that needs neither git nor a database, on every fixture
/// project (copied outside any repository).
#[test]
fn fixture_projects() {
    let runs: &[&[&str]] = &[
        &["check"],
        &["check", "--format", "json"],
        &["graph"],
        &["graph", "--format", "json"],
        &["graph", "--format", "dot"],
        &["review", "--all"],
    ];
    for name in fixture_names() {
        let (_tmp, home) = temp_home("djmig-snap-");
        let root = home.join("project");
        copy_tree(&fixture(&name), &root);
        let text = transcripts(&root, &home, runs);
        settings().bind(|| insta::assert_snapshot!(format!("fixture__{name}"), text));
    }
}

/// `review` of the files a case adds, each reviewed on its own, for every
/// review case that needs no git (no upstream, nothing deleted or
/// renamed); and `review --all` of review's project in every format.
#[test]
fn review_cases() {
    let review = fixtures_dir().join("review");
    let mut cases: Vec<PathBuf> = fs::read_dir(review.join("cases"))
        .expect("read review cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    for case in cases {
        for side in ["trigger", "clean"] {
            let dir = case.join(side);
            if ["upstream", "delete.txt", "rename.txt"]
                .iter()
                .any(|p| dir.join(p).exists())
            {
                continue;
            }
            let (_tmp, home) = temp_home("djmig-snap-");
            let root = home.join("project");
            copy_tree(&review.join("project"), &root);
            copy_tree(&dir.join("branch"), &root);
            let mut files = Vec::new();
            list_py(&dir.join("branch"), "", &mut files);
            files.sort();
            let mut args: Vec<&str> = vec!["review"];
            args.extend(files.iter().map(String::as_str));
            let text = transcripts(&root, &home, &[&args]);
            let id = case.file_name().unwrap().to_string_lossy().into_owned();
            settings().bind(|| insta::assert_snapshot!(format!("review__{id}__{side}"), text));
        }
    }
    let (_tmp, home) = temp_home("djmig-snap-");
    let root = home.join("project");
    copy_tree(&review.join("project"), &root);
    let text = transcripts(
        &root,
        &home,
        &[
            &["review", "--all"],
            &["review", "--all", "--format", "json"],
            &["review", "--all", "--format", "github"],
            &["review", "--all", "--format", "sarif"],
        ],
    );
    settings().bind(|| insta::assert_snapshot!("review__project", text));
}

fn list_py(dir: &Path, rel: &str, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).expect("read dir") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if e.file_type().expect("file type").is_dir() {
            list_py(&e.path(), &r, out);
        } else if name.ends_with(".py") && r.contains("/migrations/") {
            out.push(r);
        }
    }
}

// ------------------------------------------------------------ git

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let out = git_command(dir, home).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit(dir: &Path, home: &Path, message: &str) {
    git(dir, home, &["add", "-A"]);
    git(dir, home, &["commit", "-q", "-m", message]);
}

fn blog_migration(parent: &str, field: &str) -> String {
    format!(
        "# Generated by Django 5.2 on 2026-01-01 12:00\n\n\
         from django.db import migrations, models\n\n\n\
         class Migration(migrations.Migration):\n\n    \
         dependencies = [\n        ('blog', '{parent}'),\n    ]\n\n    \
         operations = [\n        migrations.AddField(\n            model_name='post',\n            \
         name='{field}',\n            field=models.IntegerField(default=0),\n        ),\n    ]\n"
    )
}

/// `fixtures/linear` committed on `main`; `feature` adds 0004_post_a,
/// `main` adds 0004_post_b; `feature` checked out. Also a branch `other`
/// from the base adding 0004_post_c (for `scan`).
fn diverged(home: &Path) -> PathBuf {
    let root = home.join("repo");
    copy_tree(&fixture("linear"), &root);
    git(&root, home, &["init", "-q"]);
    commit(&root, home, "base");
    let add = |branch: &str, name: &str, field: &str| {
        git(&root, home, &["checkout", "-q", "-b", branch, "main"]);
        write(
            &root.join(format!("blog/migrations/{name}.py")),
            &blog_migration("0003_post_published", field),
        );
        commit(&root, home, &format!("{branch}: {name}"));
    };
    add("feature", "0004_post_a", "a");
    add("other", "0004_post_c", "c");
    git(&root, home, &["checkout", "-q", "main"]);
    write(
        &root.join("blog/migrations/0004_post_b.py"),
        &blog_migration("0003_post_published", "b"),
    );
    commit(&root, home, "main: 0004_post_b");
    git(&root, home, &["checkout", "-q", "feature"]);
    root
}

/// The commands that read git, on a real repository: the conflict to come
/// with upstream, the branches that collide, the plan of a resolution.
#[test]
fn git_repository() {
    let (_tmp, home) = temp_home("djmig-snap-");
    let root = diverged(&home);
    let runs: &[&[&str]] = &[
        &["check"],
        &["check", "--base", "main"],
        &["check", "--base", "main", "--format", "json"],
        &["graph", "--ref", "main"],
        &["scan"],
        &["scan", "--format", "json"],
        &["review", "--base", "main"],
        &["resolve", "--base", "main", "--dry-run"],
        &[
            "resolve",
            "--base",
            "main",
            "--dry-run",
            "--strategy",
            "reparent",
        ],
        &[
            "resolve",
            "--base",
            "main",
            "--dry-run",
            "--strategy",
            "merge",
        ],
        &["resolve", "--base", "main", "--dry-run", "--format", "json"],
    ];
    let text = transcripts(&root, &home, runs);
    settings().bind(|| insta::assert_snapshot!("git__diverged", text));

    // After the merge: the conflict is in the work tree.
    let out = git_command(&root, &home)
        .args(["merge", "-q", "--no-edit", "main"])
        .output()
        .expect("run git merge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs: &[&[&str]] = &[
        &["check"],
        &["graph", "blog"],
        &["resolve", "--dry-run"],
        &["resolve", "--dry-run", "--strategy", "regenerate"],
        &["undo", "--dry-run"],
    ];
    let text = transcripts(&root, &home, runs);
    settings().bind(|| insta::assert_snapshot!("git__merged", text));
}

/// The placeholders themselves.
#[test]
fn normalisation() {
    let home = Path::new("/tmp/djmig-snap-x");
    let text =
        "in /tmp/djmig-snap-x/repo at 0123abc (main), 0123456789abcdef0123456789abcdef01234567;\n\
                0001_initial, defaced, 1234567, deadbeef00. In 12ms or 1.5s, 2 leaves, 3.\n\
                0123456789abcdef0123456789abcdef012345678 abc12\n\
                # Generated by Django 5.2 on 2026-12-01 11:13, 0005_merge_20261201_1113.py, \
                started 2026-12-01T11:13:07Z";
    assert_eq!(
        normalise(text, &[(home, "[HOME]")]),
        "in [HOME]/repo at [COMMIT] (main), [COMMIT];\n\
         0001_initial, defaced, 1234567, [COMMIT]. In [TIME] or [TIME], 2 leaves, 3.\n\
         0123456789abcdef0123456789abcdef012345678 abc12\n\
         # Generated by Django 5.2 on [DATETIME], 0005_merge_[DATETIME].py, \
         started [DATETIME]"
    );
}
