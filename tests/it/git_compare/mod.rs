//! `check --base REV [--head REV]` and `graph --ref REV` against real git
//! repositories built in temporary directories: the virtual merge, the
//! divergence of each side, where the user is (merge, rebase, merge commit,
//! detached HEAD, linked worktree), git problems (unknown ref, shallow clone,
//! unrelated histories, no commits, bare repository), a side that does not
//! parse, the GitHub annotations and the parse cache.
//!
//! Every djmig run goes through [`Repo::dj_at`], which asserts that djmig left
//! the work tree, the index, HEAD and the references as they were (only
//! `<git common dir>/djmig/`, its cache, may appear).
//!
//! git and djmig run hermetically: no system or global git configuration, a
//! `HOME` in the temporary directory, a fixed identity and fixed dates.
//!
//! The shared helpers are here; the tests are in one file per topic.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::{
    self, copy_tree, djmig_std, fixture, fixture_names, hermetic_git, keys, strings, temp_home,
    write, Run,
};

mod broken_sides;
mod caches;
mod git_problems;
mod merge;
mod output;
mod scan;
mod standing;

// ---------------------------------------------------------------- helpers

/// A temporary directory (also `HOME`) holding a repository at `repo/` and
/// whatever the test puts beside it (clones, worktrees).
struct Repo {
    _tmp: TempDir,
    home: PathBuf,
    path: PathBuf,
}

impl Repo {
    /// An empty directory `repo/`, not yet a repository.
    fn empty() -> Repo {
        let (tmp, home) = temp_home("djmig-git-compare-");
        let path = home.join("repo");
        fs::create_dir_all(&path).expect("create repo dir");
        Repo {
            _tmp: tmp,
            home,
            path,
        }
    }

    /// `fixtures/<name>` copied into `repo/<sub>` (`""`: the top), in a
    /// fresh repository on `main`, nothing committed.
    fn init_with(name: &str, sub: &str) -> Repo {
        let r = Repo::empty();
        let dest = if sub.is_empty() {
            r.path.clone()
        } else {
            r.path.join(sub)
        };
        copy_tree(&fixture(name), &dest);
        r.git(&["init", "-q"]);
        r
    }

    /// `fixtures/linear` with a README.txt, committed on `main` as "base".
    fn linear() -> Repo {
        let r = Repo::init_with("linear", "");
        r.write("README.txt", "base\n");
        r.commit("base");
        r
    }

    /// `fixtures/linear` plus an app `notes` (0001_initial), committed on
    /// `main` as "base".
    fn linear_with_notes() -> Repo {
        let r = Repo::init_with("linear", "");
        r.write("README.txt", "base\n");
        add_notes_app(&r.path);
        r.commit("base");
        r
    }

    fn sibling(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    fn git_command(&self, dir: &Path) -> Command {
        let mut c = support::git_command(dir, &self.home);
        c.env("GIT_SEQUENCE_EDITOR", "true");
        c
    }

    fn try_git_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_command(dir).args(args).output().expect("run git")
    }

    /// Run git in `dir`; panics on failure; stdout trimmed.
    #[track_caller]
    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.try_git_in(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed in {}:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    /// Run git where it is expected to fail (a conflict); panics if it
    /// succeeds.
    #[track_caller]
    fn git_fails(&self, args: &[&str]) {
        let out = self.try_git_in(&self.path, args);
        assert!(
            !out.status.success(),
            "git {args:?} was expected to stop on a conflict:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn write(&self, rel: &str, content: &str) -> &Self {
        write(&self.path.join(rel), content);
        self
    }

    fn remove(&self, rel: &str) -> &Self {
        fs::remove_file(self.path.join(rel)).unwrap_or_else(|e| panic!("remove {rel}: {e}"));
        self
    }

    /// `git add -A && git commit`; the new commit id.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.rev("HEAD")
    }

    fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", &format!("{rev}^{{commit}}")])
    }

    fn short(&self, rev: &str) -> String {
        self.rev(rev)[..7].to_string()
    }

    /// `djmig -C repo ARGS...`, asserting the repository is untouched.
    fn dj(&self, args: &[&str]) -> Run {
        self.dj_at(&self.path, args)
    }

    /// `djmig -C dir ARGS...`, asserting that djmig changed nothing git
    /// sees in `dir`: work tree, index, HEAD, references, files in the git
    /// directories (its cache directory excepted).
    fn dj_at(&self, dir: &Path, args: &[&str]) -> Run {
        let before = self.snapshot(dir);
        let run = Run::of(self.djmig_command(dir, args));
        let after = self.snapshot(dir);
        assert_eq!(
            before,
            after,
            "djmig {args:?} changed the repository in {}\n--- stdout\n{}\n--- stderr\n{}",
            dir.display(),
            run.stdout,
            run.stderr
        );
        run
    }

    fn djmig_command(&self, dir: &Path, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = djmig_std();
        hermetic_git(&mut cmd, &self.home);
        cmd.env_remove("GITHUB_ACTIONS")
            .arg("-C")
            .arg(dir)
            .args(args);
        assert_cmd::Command::from_std(cmd)
    }

    /// Everything djmig must not change, as git sees it from `dir`.
    fn snapshot(&self, dir: &Path) -> Snapshot {
        let show = |args: &[&str]| -> String {
            let out = self.try_git_in(dir, args);
            format!(
                "{}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        };
        let dirs = self.try_git_in(
            dir,
            &[
                "rev-parse",
                "--path-format=absolute",
                "--git-dir",
                "--git-common-dir",
                "--git-path",
                "index",
            ],
        );
        let dirs: Vec<PathBuf> = String::from_utf8_lossy(&dirs.stdout)
            .lines()
            .map(PathBuf::from)
            .collect();
        // The index first: `git status` below must not rewrite it either
        // (it runs with --no-optional-locks).
        let index = dirs
            .get(2)
            .and_then(|p| fs::read(p).ok())
            .map(|bytes| git_blob_id(&bytes));
        let mut git_files = Vec::new();
        for d in dirs.iter().take(2) {
            git_files.extend(list_files(d, &["djmig"]));
        }
        git_files.sort();
        git_files.dedup();
        Snapshot {
            head: show(&["rev-parse", "HEAD"]),
            head_ref: show(&["symbolic-ref", "-q", "HEAD"]),
            status: show(&[
                "--no-optional-locks",
                "status",
                "--porcelain=v2",
                "--untracked-files=all",
                "--branch",
            ]),
            refs: show(&["for-each-ref", "--format=%(refname) %(objectname)"]),
            index,
            git_files,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    head: String,
    head_ref: String,
    status: String,
    refs: String,
    /// git's id of the index file's bytes.
    index: Option<String>,
    /// Files (with their git blob ids) of the git directory and the common
    /// git directory, without `djmig/` and `objects/`.
    git_files: Vec<(String, String)>,
}

/// git's blob id of some bytes (a hash of the index's content).
fn git_blob_id(bytes: &[u8]) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .expect("hash bytes")
        .to_string()
}

/// Files under `dir` (recursively, skipping `objects/` and the names in
/// `skip` at the top) with the id of their content.
fn list_files(dir: &Path, skip: &[&str]) -> Vec<(String, String)> {
    fn walk(top: &Path, dir: &Path, skip: &[&str], out: &mut Vec<(String, String)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(top)
                .expect("under top")
                .to_string_lossy()
                .into_owned();
            if dir == top && (skip.contains(&rel.as_str()) || rel == "objects") {
                continue;
            }
            if path.is_dir() {
                walk(top, &path, skip, out);
            } else {
                let id = fs::read(&path).map(|b| git_blob_id(&b)).unwrap_or_default();
                out.push((rel, id));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, skip, &mut out);
    out
}

/// A migration module in the format `makemigrations` writes.
fn migration(deps: &[(&str, &str)], ops: &str) -> String {
    migration_replacing(deps, &[], ops)
}

/// A migration module with `replaces` (a squash).
fn migration_replacing(deps: &[(&str, &str)], replaces: &[(&str, &str)], ops: &str) -> String {
    let list = |pairs: &[(&str, &str)]| -> String {
        pairs
            .iter()
            .map(|(a, n)| format!("        ('{a}', '{n}'),\n"))
            .collect()
    };
    let replaces = if replaces.is_empty() {
        String::new()
    } else {
        format!("    replaces = [\n{}    ]\n\n", list(replaces))
    };
    format!(
        "# Generated by Django 5.2 on 2026-01-01 12:00\n\n\
         from django.db import migrations, models\n\n\n\
         class Migration(migrations.Migration):\n\n\
         {replaces}    dependencies = [\n{}    ]\n\n    operations = [\n{ops}    ]\n",
        list(deps)
    )
}

/// An `AddField` of an integer field `name` on `model`.
fn add_field(model: &str, name: &str) -> String {
    format!(
        "        migrations.AddField(\n            model_name='{model}',\n            name='{name}',\n            field=models.IntegerField(default=0),\n        ),\n"
    )
}

/// A blog migration after `parent` adding the field `field` to Post.
fn blog_migration(parent: &str, field: &str) -> String {
    migration(&[("blog", parent)], &add_field("post", field))
}

const BLOG: &str = "blog/migrations";

fn blog(name: &str) -> String {
    format!("{BLOG}/{name}.py")
}

/// Add an app `notes` (model Note, migration 0001_initial) to the project at
/// `root` and to its INSTALLED_APPS.
fn add_notes_app(root: &Path) {
    let settings = root.join("mysite/settings.py");
    let text = fs::read_to_string(&settings).expect("read settings.py");
    let patched = text.replacen("    'blog',\n]", "    'blog',\n    'notes',\n]", 1);
    assert_ne!(text, patched, "INSTALLED_APPS not found in settings.py");
    write(&settings, &patched);
    write(&root.join("notes/__init__.py"), "");
    write(
        &root.join("notes/apps.py"),
        "from django.apps import AppConfig\n\n\n\
         class NotesConfig(AppConfig):\n    \
         default_auto_field = 'django.db.models.BigAutoField'\n    name = 'notes'\n",
    );
    write(
        &root.join("notes/models.py"),
        "from django.db import models\n\n\nclass Note(models.Model):\n    \
         text = models.TextField()\n",
    );
    write(&root.join("notes/migrations/__init__.py"), "");
    write(
        &root.join("notes/migrations/0001_initial.py"),
        &migration(
            &[],
            "        migrations.CreateModel(\n            name='Note',\n            fields=[\n                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),\n                ('text', models.TextField()),\n            ],\n        ),\n",
        ),
    );
}

/// The classic case: from "base" (linear), `feature` adds 0004_post_a and
/// `main` adds 0004_post_b; with `readme`, both also change README.txt
/// differently (so that a merge or rebase stops on it). `feature` is
/// checked out.
fn diverged(readme: bool) -> Repo {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    if readme {
        r.write("README.txt", "feature\n");
    }
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    if readme {
        r.write("README.txt", "main\n");
    }
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);
    r
}

/// The report's graph keys: what `graph --format json` of the merged
/// project would print.
fn graph_part(report: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "schema_version",
        "apps",
        "edges",
        "external",
        "conflicts",
        "errors",
        "warnings",
    ] {
        out.insert(key.to_string(), report[key].clone());
    }
    Value::Object(out)
}

/// Check that the report of `check --base` carries the keys of the schema
/// and the ids of what it compared.
#[track_caller]
fn assert_comparison_keys(report: &Value, r: &Repo, base: &str, head: &str, source: &str) {
    assert_eq!(report["schema_version"], json!(1), "{report:#}");
    for key in [
        "apps",
        "edges",
        "external",
        "conflicts",
        "errors",
        "warnings",
        "base",
        "head",
        "head_source",
        "merge_base",
        "divergence",
    ] {
        assert!(report.get(key).is_some(), "no {key:?} in {report:#}");
    }
    assert_eq!(report["base"], json!(r.rev(base)), "base");
    assert_eq!(report["head"], json!(r.rev(head)), "head");
    assert_eq!(report["head_source"], json!(source), "head_source");
    let mb = r.git(&["merge-base", head, base]);
    assert_eq!(report["merge_base"], json!(mb), "merge_base");
}

/// The virtual merge of `check --base BASE` (head: the work tree at HEAD,
/// clean) is the graph of the real merge: clone, merge, `graph --format
/// json` there.
#[track_caller]
fn assert_virtual_merge_is_real_merge(r: &Repo, base: &str, report: &Value) {
    let clone = r.sibling("real-merge");
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--no-checkout",
            r.path.to_str().unwrap(),
            "real-merge",
        ],
    );
    let head = r.rev("HEAD");
    let base_oid = r.rev(base);
    r.git_in(&clone, &["checkout", "-q", "--detach", &head]);
    r.git_in(&clone, &["merge", "-q", "--no-edit", &base_oid]);
    let real = r.dj_at(&clone, &["graph", "--format", "json"]);
    assert_eq!(
        graph_part(report),
        real.json(),
        "the virtual merge differs from the real merge"
    );
    fs::remove_dir_all(&clone).expect("remove the merge clone");
}

/// A Python with Django runs `tests/django_graph.py` on `project`.
fn django_graph(project: &Path) -> Value {
    support::django_graph(support::django(), project)
}

/// `app.name` nodes of `app` in a Django graph, sorted.
fn django_nodes(g: &Value, app: &str) -> Vec<String> {
    let mut names: Vec<String> = strings(&g["nodes"])
        .into_iter()
        .filter_map(|k| k.split_once('.').map(|(a, n)| (a.to_owned(), n.to_owned())))
        .filter(|(a, _)| a == app)
        .map(|(_, n)| n)
        .collect();
    names.sort();
    names
}

// ------------------------------------------------- 1. diverged, same app

fn error_messages(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}
