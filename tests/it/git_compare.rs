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

#[test]
fn diverged_same_app_from_the_work_tree() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    let d = &report["divergence"];
    assert_eq!(keys(d), BTreeSet::from(["blog".to_string()]), "{report:#}");
    assert_eq!(
        d["blog"],
        json!({
            "merge_base_leaf": "0003_post_published",
            "ours": ["0004_post_a"],
            "theirs": ["0004_post_b"],
            "published": [],
            "apps_depending_on_ours": [],
        })
    );
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        ["0004_post_a", "0004_post_b"]
    );
    assert_eq!(report["errors"], json!([]));
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog");
    assert!(line.starts_with("blog:"), "{line}");
    for needle in [
        "0004_post_a",
        "0004_post_b",
        "djmig resolve blog",
        "0003_post_published",
    ] {
        assert!(line.contains(needle), "{needle:?} not in {line:?}");
    }
    assert!(
        line.contains("0004_post_a (yours") && line.contains("0004_post_b (upstream"),
        "{line}"
    );
}

#[test]
fn diverged_same_app_between_two_commits() {
    let r = diverged(false);
    let from_feature = r
        .dj(&["check", "--base", "main", "--format", "json"])
        .json();
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&[
        "check", "--head", "feature", "--base", "main", "--format", "json",
    ]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "feature", "commit");
    assert_eq!(report["divergence"], from_feature["divergence"]);
    assert_eq!(graph_part(&report), graph_part(&from_feature));

    let text = r.dj(&["check", "--head", "feature", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(
        line.contains("0004_post_a") && line.contains("0004_post_b"),
        "{line}"
    );
    assert!(line.contains("djmig resolve"), "{line}");
}

/// The work tree side is the files as they are: untracked and deleted
/// files count, HEAD's tree does not.
#[test]
fn the_work_tree_side_is_the_files_not_head() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);
    // Untracked, not committed.
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(
        strings(&report["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
    assert_eq!(
        strings(&report["divergence"]["blog"]["theirs"]),
        ["0004_post_b"]
    );

    // Compared as a commit, HEAD has nothing of its own.
    let run = r.dj(&[
        "check", "--head", "HEAD", "--base", "main", "--format", "json",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["divergence"], json!({}));
    assert_eq!(run.json()["head_source"], json!("commit"));
}

// ------------------------------------------------ 2. different apps

#[test]
fn different_apps_do_not_conflict() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: blog.0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("main: notes.0002_note_x");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(report["conflicts"], json!({}));
    assert_eq!(strings(&report["apps"]["blog"]["leaves"]), ["0004_post_a"]);
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(0);
    assert!(text.stdout.contains("No conflicts"), "{}", text.stdout);
}

// ------------------------------------------------ 3. a local chain

#[test]
fn a_local_chain_is_listed_in_dependency_order() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_a", "c"));
    r.commit("feature: 0005_post_c");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a", "0005_post_c"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);
    assert_eq!(d["merge_base_leaf"], json!("0003_post_published"));
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_b", "0005_post_c"]})
    );
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

/// Dependency order, not name order: 0004_post_z comes before 0004_post_c
/// that depends on it.
#[test]
fn ours_follows_dependencies_not_names() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_z"),
        &blog_migration("0003_post_published", "z"),
    );
    r.write(&blog("0004_post_c"), &blog_migration("0004_post_z", "c"));
    r.commit("feature: z then c");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.write(&blog("0005_post_a"), &blog_migration("0004_post_b", "a"));
    r.commit("main: b then a");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_z", "0004_post_c"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b", "0005_post_a"]);
}

// ------------------------------------------------ 4. a cross-app dependent

#[test]
fn another_apps_migration_depending_on_ours_is_named() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.write(
        "notes/migrations/0002_x.py",
        &migration(
            &[("notes", "0001_initial"), ("blog", "0004_post_a")],
            &add_field("note", "x"),
        ),
    );
    r.commit("feature: blog.0004_post_a, notes.0002_x");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        keys(&report["divergence"]),
        BTreeSet::from(["blog".to_string()]),
        "only blog has two leaves: {report:#}"
    );
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["apps_depending_on_ours"]), ["notes.0002_x"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

// ------------------------------------------------ 5. a deleted migration

#[test]
fn a_migration_deleted_upstream_is_not_in_the_merge() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("feature: notes.0002_note_x");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(
        strings(&report["apps"]["blog"]["nodes"]),
        ["0001_initial", "0002_post_body"]
    );
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        ["0002_post_body"]
    );
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
    assert!(
        !report["edges"].to_string().contains("0003_post_published"),
        "{report:#}"
    );
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

/// Deleted on our side, in the work tree only (not committed).
#[test]
fn a_migration_deleted_in_the_work_tree_is_not_in_the_merge() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.git(&["checkout", "-q", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("main: notes.0002_note_x");
    r.git(&["checkout", "-q", "feature"]);
    r.remove(&blog("0003_post_published"));

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(
        strings(&report["apps"]["blog"]["nodes"]),
        ["0001_initial", "0002_post_body"]
    );
    assert_eq!(strings(&report["apps"]["notes"]["leaves"]), ["0002_note_x"]);
}

/// Upstream deleted the migration ours depends on: the merge cannot be
/// built, as Django's loader would fail on it.
#[test]
fn ours_depending_on_a_migration_deleted_upstream_is_a_graph_error() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let report = run.json();
    assert!(
        report["errors"].to_string().contains("0003_post_published"),
        "{report:#}"
    );
}

/// The same error, named by where it is: neither side has it on its own
/// (0003 is there at the work tree and 0004_post_a is not at main), so the
/// message says it is the merge's.
#[test]
fn an_error_only_the_merge_has_says_so() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0003_post_published"));
    r.commit("main: drop blog.0003");
    r.git(&["checkout", "-q", "feature"]);

    let main = format!("main ({})", r.short("main"));
    let feature = format!("feature ({})", r.short("feature"));
    for (args, head) in [
        (
            &["check", "--base", "main"][..],
            "the work tree".to_string(),
        ),
        (&["check", "--base", "main", "--head", "feature"], feature),
    ] {
        let mut json = args.to_vec();
        json.extend(["--format", "json"]);
        let run = r.dj(&json);
        run.expect_code(3);
        let messages = error_messages(&run.json());
        let prefix = format!("in the merge of {head} and {main}: ");
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(&prefix) && m.contains("nonexistent parent node")),
            "no error `{prefix}…` in {messages:#?}"
        );
        assert!(
            messages.iter().all(|m| !m.starts_with("at ")),
            "an error blamed on a side: {messages:#?}"
        );
        let text = r.dj(args);
        text.expect_code(3);
        assert!(text.stderr.contains(&prefix), "{}", text.stderr);
    }
}

/// An error head's own files have (a dependency on a migration that exists
/// nowhere) is named by head, even though main has nothing to do with it.
#[test]
fn an_error_in_heads_own_files_is_named_by_head() {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(&blog("0004_post_a"), &blog_migration("0099_missing", "a"));
    r.commit("feature: 0004_post_a after a migration that is nowhere");
    r.git(&["checkout", "-q", "main"]);
    r.write("README.txt", "main\n");
    r.commit("main: readme");
    r.git(&["checkout", "-q", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("at the work tree: ") && m.contains("0099_missing")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().all(|m| !m.starts_with("in the merge")),
        "{messages:#?}"
    );
}

// ------------------------------------------------ 6. a squash upstream

/// Main squashes 0001-0003 (keeping the originals, as `squashmigrations`
/// does); feature adds 0004_post_a after 0003. Django uses the squash for
/// the replaced nodes and 0004_post_a is its child: one leaf.
#[test]
fn a_squash_upstream_does_not_conflict_with_a_child_of_what_it_replaces() {
    let squash = "0001_squashed_0003_post_published";
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog(squash),
        &migration_replacing(
            &[],
            &[
                ("blog", "0001_initial"),
                ("blog", "0002_post_body"),
                ("blog", "0003_post_published"),
            ],
            "",
        ),
    );
    r.commit("main: squash");
    r.git(&["checkout", "-q", "feature"]);

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["divergence"], json!({}));
    assert_eq!(report["conflicts"], json!({}));
    let nodes = strings(&report["apps"]["blog"]["nodes"]);
    assert!(nodes.contains(&squash.to_string()), "{nodes:?}");
    assert!(nodes.contains(&"0004_post_a".to_string()), "{nodes:?}");
    assert_eq!(strings(&report["apps"]["blog"]["leaves"]), ["0004_post_a"]);
    assert_virtual_merge_is_real_merge(&r, "main", &report);

    // Django on the real merge agrees.
    let clone = r.sibling("merged");
    r.git_in(
        &r.home,
        &["clone", "-q", r.path.to_str().unwrap(), "merged"],
    );
    r.git_in(&clone, &["merge", "-q", "--no-edit", "origin/main"]);
    let g = django_graph(&clone);
    assert_eq!(g["error"], Value::Null, "{g:#}");
    assert_eq!(g["conflicts"], json!({}), "{g:#}");
    assert_eq!(strings(&g["leaves"]["blog"]), ["0004_post_a"]);
    let mut ours = nodes.clone();
    ours.sort();
    assert_eq!(django_nodes(&g, "blog"), ours);
}

/// The same with the originals deleted by the squash: 0004_post_a still
/// depends on 0003_post_published, which Django maps onto the squash.
#[test]
fn a_squash_without_originals_upstream_takes_over_their_dependents() {
    let squash = "0001_squashed_0003_post_published";
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &blog(squash),
        &migration_replacing(
            &[],
            &[
                ("blog", "0001_initial"),
                ("blog", "0002_post_body"),
                ("blog", "0003_post_published"),
            ],
            "",
        ),
    );
    for name in ["0001_initial", "0002_post_body", "0003_post_published"] {
        r.remove(&blog(name));
    }
    r.commit("main: squash, originals removed");
    r.git(&["checkout", "-q", "feature"]);

    let clone = r.sibling("merged");
    r.git_in(
        &r.home,
        &["clone", "-q", r.path.to_str().unwrap(), "merged"],
    );
    r.git_in(&clone, &["merge", "-q", "--no-edit", "origin/main"]);
    let g = django_graph(&clone);
    assert_eq!(g["error"], Value::Null, "{g:#}");

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["conflicts"], json!({}));
    let mut nodes = strings(&report["apps"]["blog"]["nodes"]);
    nodes.sort();
    assert_eq!(nodes, django_nodes(&g, "blog"));
    assert_eq!(
        strings(&report["apps"]["blog"]["leaves"]),
        strings(&g["leaves"]["blog"])
    );
    fs::remove_dir_all(&clone).expect("remove clone");
    assert_virtual_merge_is_real_merge(&r, "main", &report);
}

// ------------------------------------------------ 7. merge in progress

#[test]
fn a_merge_stopped_on_a_conflict() {
    let r = diverged(true);
    r.git_fails(&["merge", "main"]);
    assert!(r.path.join(".git/MERGE_HEAD").exists());
    let main = r.short("main");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("A merge is in progress"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&main), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py").contains("(upstream"),
        "{}",
        run.stdout
    );
    let json = r.dj(&["check", "--format", "json"]);
    json.expect_code(1);
    assert_eq!(
        json.json()["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    assert_eq!(
        report["conflicts"],
        json!({"blog": ["0004_post_a", "0004_post_b"]})
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(
        text.stdout.contains("A merge is in progress"),
        "{}",
        text.stdout
    );
}

/// During a merge the work tree already has upstream's migration; it is
/// still upstream's, not "only on head".
#[test]
fn a_merge_in_progress_keeps_upstreams_migration_upstream() {
    let r = diverged(true);
    r.git_fails(&["merge", "main"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"], "{d:#}");
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"], "{d:#}");

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(line.contains("0004_post_a (yours"), "{line}");
    assert!(line.contains("0004_post_b (upstream"), "{line}");
}

/// `ours` is "only on head": a migration both sides added (a cherry-pick)
/// is not ours alone.
#[test]
fn a_cherry_picked_migration_is_not_ours_alone() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "main"]);
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_b", "c"));
    r.commit("main: 0005_post_c");
    r.git(&["checkout", "-q", "feature"]);
    r.git(&["cherry-pick", "main~1"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    let ours = strings(&d["ours"]);
    let theirs = strings(&d["theirs"]);
    assert!(
        ours.iter().all(|o| !theirs.contains(o)),
        "ours {ours:?} and theirs {theirs:?} overlap"
    );
    assert_eq!(ours, ["0004_post_a"], "{d:#}");
    assert_eq!(theirs, ["0004_post_b", "0005_post_c"], "{d:#}");
    assert_eq!(
        run.json()["conflicts"],
        json!({"blog": ["0004_post_a", "0005_post_c"]})
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    let line = text.line_with("blog:");
    assert!(!line.contains("0004_post_b (yours"), "{line}");
    assert!(line.contains("0004_post_a (yours"), "{line}");
    assert!(line.contains("0005_post_c (upstream"), "{line}");
}

// ------------------------------------------------ 8. rebase

#[test]
fn a_rebase_stopped_then_finished() {
    let r = diverged(true);
    r.git_fails(&["rebase", "main"]);
    assert!(r.path.join(".git/rebase-merge").is_dir());
    let main = r.short("main");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("rebase"), "{}", run.stdout);
    assert!(run.stdout.contains("\"yours\""), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py")
            .contains(&format!("(upstream, in {main})")),
        "{}",
        run.stdout
    );

    // Comparing with main during the rebase: HEAD is main's tip.
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(text.stdout.contains("rebase"), "{}", text.stdout);

    // Finish it.
    r.write("README.txt", "both\n");
    r.git(&["add", "README.txt"]);
    r.git(&["rebase", "--continue"]);
    assert!(!r.path.join(".git/rebase-merge").exists());
    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("rebased"), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py").contains("(upstream"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("djmig resolve blog"), "{}", run.stdout);
}

// ------------------------------------------------ 9. merge commit

#[test]
fn a_merge_commit_after_a_pull() {
    let r = diverged(false);
    r.git(&["merge", "-q", "--no-edit", "main"]);
    let parents = r.git(&["rev-list", "--parents", "-n", "1", "HEAD"]);
    assert_eq!(parents.split(' ').count(), 3, "a merge commit: {parents}");

    let run = r.dj(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("merge commit"), "{}", run.stdout);
    assert!(
        run.line_with("0004_post_a.py").contains("(yours)"),
        "{}",
        run.stdout
    );
    assert!(
        run.line_with("0004_post_b.py")
            .contains(&format!("(upstream, in {})", r.short("main"))),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("djmig resolve blog"), "{}", run.stdout);
}

// ------------------------------------------------ 10. detached HEAD

#[test]
fn a_detached_head() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "--detach", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_comparison_keys(&report, &r, "main", "HEAD", "worktree");
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);

    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(1);
    assert!(text.stdout.contains("detached"), "{}", text.stdout);
    assert!(text.line_with("blog:").contains("0004_post_a"));
}

// ------------------------------------------------ 11. linked worktree

#[test]
fn a_linked_worktree() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "main"]);
    let wt = r.sibling("wt");
    r.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "feature"]);

    let run = r.dj_at(&wt, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["head"], json!(r.rev("feature")));
    assert_eq!(report["head_source"], json!("worktree"));
    let d = &report["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);

    let run = r.dj_at(&wt, &["graph", "--ref", "main", "--format", "json"]);
    run.expect_code(0);
    let at_main = run.json();
    assert_eq!(strings(&at_main["apps"]["blog"]["leaves"]), ["0004_post_b"]);
    // The same as main's checkout reads.
    let checkout = r.dj(&["graph", "--format", "json"]);
    checkout.expect_code(0);
    assert_eq!(at_main, checkout.json());

    // The cache is shared: in the common git directory, not the worktree's.
    assert!(r.path.join(".git/djmig").is_dir());
    assert!(!r.path.join(".git/worktrees/wt/djmig").exists());
    assert!(!wt.join("djmig").exists());
}

// ------------------------------------------------ 12. shallow clone

#[test]
fn a_shallow_clone_without_the_merge_base() {
    let r = diverged(false);
    let url = format!("file://{}", r.path.display());
    r.git_in(
        &r.home,
        &[
            "clone", "-q", "--depth", "1", "-b", "feature", &url, "shallow",
        ],
    );
    let shallow = r.sibling("shallow");
    r.git_in(
        &shallow,
        &["fetch", "-q", "--depth", "1", "origin", "main:main"],
    );
    assert_eq!(
        r.git_in(&shallow, &["rev-parse", "--is-shallow-repository"]),
        "true"
    );

    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--format", "json"],
        &["check", "--base", "main", "--head", "feature"],
    ] {
        let run = r.dj_at(&shallow, args);
        run.expect_code(4);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        for needle in ["shallow", "fetch-depth: 0", "--unshallow"] {
            assert!(
                run.stderr.contains(needle),
                "{args:?}: {needle:?} not in\n{}",
                run.stderr
            );
        }
    }

    // With the history, the same comparison works.
    r.git_in(&shallow, &["fetch", "-q", "--unshallow", "origin"]);
    let run = r.dj_at(&shallow, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ 13. unknown ref

#[test]
fn an_unknown_ref() {
    let r = diverged(false);
    for args in [
        &["check", "--base", "nope"][..],
        &["check", "--base", "nope", "--format", "json"],
        &["check", "--base", "main", "--head", "nope"],
        &["graph", "--ref", "nope"],
        &["graph", "--ref", "nope", "--format", "json"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(run.stderr.contains("nope"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

// ------------------------------------------------ 14. unrelated histories

#[test]
fn unrelated_histories() {
    let r = diverged(false);
    r.git(&["checkout", "-q", "--orphan", "other"]);
    r.commit("an unrelated root");
    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--head", "other"],
        &["check", "--base", "other", "--head", "feature"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(run.stderr.contains("unrelated"), "{args:?}: {}", run.stderr);
    }
}

// ------------------------------------------------ 15. no commits

#[test]
fn a_repository_with_no_commits() {
    let r = Repo::init_with("linear", "");
    for args in [
        &["check", "--base", "main"][..],
        &["check", "--base", "main", "--format", "json"],
        &["graph", "--ref", "HEAD"],
    ] {
        let run = r.dj(args);
        run.expect_code(4);
        assert!(
            run.stderr.contains("no commits"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("hint:"), "{args:?}: {}", run.stderr);
    }
    let run = r.dj(&["check"]);
    run.expect_code(0);
    assert!(run.stdout.contains("No conflicts"), "{}", run.stdout);
    let run = r.dj(&["graph", "--format", "json"]);
    run.expect_code(0);
}

/// A bare repository has no work tree to be the head side; commits it has.
#[test]
fn a_bare_repository() {
    let r = diverged(false);
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--bare",
            r.path.to_str().unwrap(),
            "bare.git",
        ],
    );
    let bare = r.sibling("bare.git");
    let run = r.dj_at(&bare, &["check", "--base", "main"]);
    run.expect_code(4);
    assert!(run.stderr.contains("bare"), "{}", run.stderr);

    let run = r.dj_at(
        &bare,
        &[
            "check", "--base", "main", "--head", "feature", "--format", "json",
        ],
    );
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
    assert_eq!(strings(&d["theirs"]), ["0004_post_b"]);
}

/// `resolve` works on a checkout of head: after `check --head feature`,
/// the fix is `djmig resolve` as it is when feature is checked out, checks
/// feature out first when it is not, and in a bare repository makes a
/// worktree for it — and what it says to paste works.
#[test]
fn the_fix_makes_the_checkout_resolve_needs() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--head", "feature"];
    let fix = |run: &Run| {
        run.line_with("blog:")
            .split_once("Fix: ")
            .unwrap()
            .1
            .to_string()
    };
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(fix(&run), "djmig resolve blog --base main");

    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(
        fix(&run),
        "git checkout feature && djmig resolve blog --base main"
    );
    let mut gh = args.to_vec();
    gh.extend(["--format", "github"]);
    let run = r.dj(&gh);
    assert!(
        run.stdout
            .contains("Fix: git checkout feature && djmig resolve blog --base main"),
        "{}",
        run.stdout
    );

    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--bare",
            r.path.to_str().unwrap(),
            "bare.git",
        ],
    );
    let bare = r.sibling("bare.git");
    let run = r.dj_at(&bare, &args);
    run.expect_code(1);
    let checkout = r.sibling("bare-feature");
    let want = format!(
        "git -C {} worktree add {} feature && cd {} && djmig resolve blog --base main",
        bare.display(),
        checkout.display(),
        checkout.display()
    );
    assert_eq!(fix(&run), want);
    assert!(!run.stdout.contains("Fix: djmig resolve"), "{}", run.stdout);
    // Pasted up to resolve, it makes the checkout resolve needs there.
    let (make, _) = want.rsplit_once(" && djmig").unwrap();
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(make)
        .env("HOME", &r.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        sh.status.success(),
        "{}",
        String::from_utf8_lossy(&sh.stderr)
    );
    let there = r.dj_at(&checkout, &["check", "--base", "main"]);
    there.expect_code(1);
    assert!(
        there
            .line_with("blog:")
            .ends_with("Fix: djmig resolve blog --base main"),
        "{}",
        there.stdout
    );
    let plan = r.dj_at(
        &checkout,
        &["resolve", "blog", "--base", "main", "--dry-run"],
    );
    assert!(plan.stdout.contains("0004_post_a"), "{}", plan.stdout);
}

// ------------------------------------------------ 16. a side that does not parse

/// A migration module that does not parse (a missing parenthesis).
const BROKEN: &str = "from django.db import migrations\n\nclass Migration(migrations.Migration:\n    dependencies = [('blog', '0003_post_published')]\n";

/// From "base" (linear), feature adds 0004_post_a, main commits a broken
/// 0004_broken; feature checked out.
fn broken_upstream() -> Repo {
    let r = Repo::linear();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("main: a broken migration");
    r.git(&["checkout", "-q", "feature"]);
    r
}

fn error_messages(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_broken_migration_upstream_fails_the_check() {
    let r = broken_upstream();
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let report = run.json();
    assert!(
        !error_messages(&report).is_empty(),
        "no errors in {report:#}"
    );
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["file"] == json!("blog/migrations/0004_broken.py")),
        "{report:#}"
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(3);
    assert!(text.stderr.contains("0004_broken.py"), "{}", text.stderr);
    assert!(text.stdout.contains("cannot be built"), "{}", text.stdout);
    // The same, the broken side given as head.
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&["check", "--base", "feature", "--head", "main"]);
    run.expect_code(3);
}

/// The errors say which revision has the broken file.
#[test]
fn a_broken_migration_upstream_is_named_by_revision() {
    let r = broken_upstream();
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages.iter().any(|m| m.starts_with("at main")),
        "no error `at main…` in {messages:#?}"
    );
    r.git(&["checkout", "-q", "main"]);
    let run = r.dj(&[
        "check", "--base", "feature", "--head", "main", "--format", "json",
    ]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    assert!(
        messages.iter().any(|m| m.starts_with("at main")),
        "no error `at main…` in {messages:#?}"
    );
}

/// A side broken where the merge is not (ours deleted the broken file):
/// still exit 3, the error named by revision.
#[test]
fn a_side_that_does_not_parse_is_named_by_revision() {
    let r = Repo::init_with("linear", "");
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("base: a broken migration");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.remove(&blog("0004_broken"));
    r.commit("feature: drop it");

    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(3);
    let messages = error_messages(&run.json());
    let main = format!("at main ({}): ", r.short("main"));
    assert!(
        messages.iter().any(|m| m.starts_with(&main)),
        "no error `{main}…` in {messages:#?}"
    );
    let text = r.dj(&["check", "--base", "main"]);
    text.expect_code(3);
    assert!(text.stderr.contains(&main), "{}", text.stderr);
}

/// Both sides removed a broken migration: head, base and their merge all
/// build; only the merge base (history) is broken.
#[test]
fn a_broken_merge_base_alone_does_not_fail_the_check() {
    let r = Repo::init_with("linear", "");
    r.write(&blog("0004_broken"), BROKEN);
    r.commit("base: a broken migration");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.remove(&blog("0004_broken"));
    r.commit("feature: drop it");
    r.git(&["checkout", "-q", "main"]);
    r.remove(&blog("0004_broken"));
    r.write("README.txt", "main\n");
    r.commit("main: drop it too");
    r.git(&["checkout", "-q", "feature"]);
    for args in [
        &["check", "--base", "main", "--format", "json"][..],
        &[
            "check", "--base", "main", "--head", "feature", "--format", "json",
        ],
    ] {
        let run = r.dj(args);
        run.expect_code(0);
        assert_eq!(run.json()["errors"], json!([]), "{args:?}");
    }
}

// ------------------------------------------------ 17. graph --ref == work tree

/// For every fixture, committed at the top of a repository and under a
/// subdirectory: `graph --ref HEAD` is what `graph` reads in a checkout of
/// the same commit.
#[test]
fn graph_at_a_revision_equals_graph_of_the_checkout_for_every_fixture() {
    let mut failures = Vec::new();
    for name in fixture_names() {
        for sub in ["", "backend"] {
            let r = Repo::init_with(&name, sub);
            r.commit(&format!("fixture {name}"));
            let project = if sub.is_empty() {
                r.path.clone()
            } else {
                r.path.join(sub)
            };
            let at_ref = r.dj_at(&project, &["graph", "--ref", "HEAD", "--format", "json"]);
            at_ref.no_crash();
            // A fresh checkout of the commit: exactly what git stores.
            let url = r.path.to_str().unwrap().to_owned();
            r.git_in(&r.home, &["clone", "-q", &url, "checkout"]);
            let checkout = r.sibling("checkout");
            let checkout_project = if sub.is_empty() {
                checkout.clone()
            } else {
                checkout.join(sub)
            };
            let in_tree = r.dj_at(&checkout_project, &["graph", "--format", "json"]);
            in_tree.no_crash();
            let what = format!("fixture {name} (under {sub:?})");
            if at_ref.code != in_tree.code {
                failures.push(format!(
                    "{what}: exit {} with --ref, {} from the work tree\n{}\n{}",
                    at_ref.code, in_tree.code, at_ref.stderr, in_tree.stderr
                ));
                continue;
            }
            let (Ok(a), Ok(b)) = (
                serde_json::from_str::<Value>(&at_ref.stdout),
                serde_json::from_str::<Value>(&in_tree.stdout),
            ) else {
                failures.push(format!(
                    "{what}: no JSON\n--- --ref\n{}{}\n--- work tree\n{}{}",
                    at_ref.stdout, at_ref.stderr, in_tree.stdout, in_tree.stderr
                ));
                continue;
            };
            if a != b {
                failures.push(format!(
                    "{what}: the graphs differ\n--- --ref HEAD\n{a:#}\n--- work tree\n{b:#}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ------------------------------------------------ 18. GitHub annotations

#[test]
fn github_annotations_on_both_leaves() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    for leaf in ["0004_post_a", "0004_post_b"] {
        let prefix = format!("::error file=blog/migrations/{leaf}.py,line=1,");
        let lines: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert_eq!(lines.len(), 1, "{prefix:?} in\n{}", run.stdout);
        assert!(lines[0].contains("title="), "{}", lines[0]);
    }
}

/// Each side is linear; only the merge would have two leaves. The
/// annotation says so, names each leaf's side as the text does, and its fix
/// keeps `--base` (without it, `resolve` would find nothing to fix here).
#[test]
fn github_annotation_of_a_predicted_conflict_says_the_merge_would_leave_it_and_keeps_base() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::error file=blog/migrations/"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    for line in lines {
        for needle in [
            "would leave blog with 2 leaf migrations after 0003_post_published",
            "0004_post_a (yours, only in the work tree)",
            "0004_post_b (upstream, from main)",
            "Fix: djmig resolve blog --base main",
            "title=Migrations in blog would conflict after merging main",
        ] {
            assert!(line.contains(needle), "{needle:?} not in {line}");
        }
        assert!(!line.contains("blog has 2 leaf"), "{line}");
        assert!(!line.ends_with("djmig resolve blog"), "{line}");
    }
    // The text says the same.
    let text = r.dj(&["check", "--base", "main"]);
    let line = text.line_with("blog:");
    assert!(line.contains("0004_post_b (upstream, from main)"), "{line}");
    assert!(
        line.ends_with("Fix: djmig resolve blog --base main"),
        "{line}"
    );
}

/// With the project in a subdirectory, the annotations' paths are from the
/// repository top, as GitHub wants them.
#[test]
fn github_annotations_in_a_subdirectory_project() {
    let r = Repo::init_with("linear", "backend");
    r.commit("base");
    let b = |n: &str| format!("backend/{}", blog(n));
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        &b("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.commit("feature: 0004_post_a");
    r.git(&["checkout", "-q", "main"]);
    r.write(
        &b("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: 0004_post_b");
    r.git(&["checkout", "-q", "feature"]);

    let project = r.path.join("backend");
    let run = r.dj_at(&project, &["check", "--base", "main", "--format", "github"]);
    run.expect_code(1);
    for leaf in ["0004_post_a", "0004_post_b"] {
        let prefix = format!("::error file=backend/blog/migrations/{leaf}.py,line=1,");
        assert!(
            run.stdout.lines().any(|l| l.starts_with(&prefix)),
            "{prefix:?} in\n{}",
            run.stdout
        );
    }
    let run = r.dj_at(&project, &["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["apps"]["blog"]["path"], json!("blog/migrations"));
    assert_eq!(
        strings(&report["divergence"]["blog"]["ours"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ published

#[test]
fn published_lists_ours_on_a_remote_tracking_branch() {
    let r = diverged(false);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    assert_eq!(run.json()["divergence"]["blog"]["published"], json!([]));

    r.git_in(&r.home, &["init", "-q", "--bare", "origin.git"]);
    let origin = r.sibling("origin.git");
    r.git(&["remote", "add", "origin", origin.to_str().unwrap()]);
    r.git(&["push", "-q", "origin", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let d = &run.json()["divergence"]["blog"];
    assert_eq!(strings(&d["published"]), ["0004_post_a"]);
    assert_eq!(strings(&d["ours"]), ["0004_post_a"]);
}

#[test]
fn published_lists_ours_in_a_tag() {
    let r = diverged(false);
    r.git(&["tag", "v1", "feature"]);
    let run = r.dj(&["check", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["published"]),
        ["0004_post_a"]
    );
}

// ------------------------------------------------ 19. the parse cache

#[test]
fn a_corrupt_cache_is_ignored() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--format", "json"];
    let first = r.dj(&args);
    first.expect_code(1);
    let cache_dir = r.path.join(".git/djmig");
    let files: Vec<PathBuf> = fs::read_dir(&cache_dir)
        .unwrap_or_else(|e| panic!("no cache directory {}: {e}", cache_dir.display()))
        .map(|e| e.expect("cache dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !files.is_empty(),
        "no cache file in {}",
        cache_dir.display()
    );

    // A warm run gives the same.
    let warm = r.dj(&args);
    warm.expect_code(1);
    assert_eq!(warm.json(), first.json());

    // Garbage, a truncated file, an empty file.
    let original = fs::read(&files[0]).expect("read cache file");
    let corruptions: Vec<Vec<u8>> = vec![
        b"garbage, not a cache".repeat(100),
        original[..original.len() / 2].to_vec(),
        Vec::new(),
        {
            let mut flipped = original.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0xff;
            flipped
        },
    ];
    for (i, bytes) in corruptions.into_iter().enumerate() {
        for f in &files {
            fs::write(f, &bytes).expect("corrupt the cache");
        }
        let run = r.dj(&args);
        run.expect_code(1);
        assert_eq!(run.json(), first.json(), "corruption {i}");
        let graph = r.dj(&["graph", "--ref", "main", "--format", "json"]);
        graph.expect_code(0);
        assert_eq!(
            strings(&graph.json()["apps"]["blog"]["leaves"]),
            ["0004_post_b"],
            "corruption {i}"
        );
    }
}

/// A cache directory that cannot be used (a file in its place) costs the
/// cache, not the answer.
#[test]
fn an_unusable_cache_directory_is_not_an_error() {
    let r = diverged(false);
    let args = ["check", "--base", "main", "--format", "json"];
    let first = r.dj(&args);
    first.expect_code(1);
    let cache_dir = r.path.join(".git/djmig");
    fs::remove_dir_all(&cache_dir).expect("remove the cache");
    fs::write(&cache_dir, "not a directory").expect("block the cache dir");
    let run = r.dj(&args);
    run.expect_code(1);
    assert_eq!(run.json(), first.json());
    assert_eq!(
        fs::read_to_string(&cache_dir).expect("still a file"),
        "not a directory"
    );
}

// ------------------------------------------------ 20. the result cache

const TRACE: &str = "DJMIG_TRACE_CACHE";

impl Repo {
    /// [`Repo::dj`] with the result cache saying what it did on stderr.
    fn dj_traced(&self, args: &[&str]) -> Run {
        let before = self.snapshot(&self.path);
        let mut cmd = self.djmig_command(&self.path, args);
        cmd.env(TRACE, "1");
        let run = Run::of(cmd);
        assert_eq!(
            before,
            self.snapshot(&self.path),
            "djmig {args:?} changed the repository"
        );
        run
    }
}

/// What the result cache said it did.
fn cache_said(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("djmig: result cache: "))
        .collect()
}

/// stderr without the cache's own lines.
fn stderr_proper(run: &Run) -> String {
    run.stderr
        .lines()
        .filter(|l| !l.starts_with("djmig: result cache: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Let files just written age past the window in which their stat data
/// cannot vouch for them (the run's own time, plus a clock tick).
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(200));
}

/// Runs `args` twice: stored, then answered from the cache with the same
/// output and exit code. Returns the second run.
#[track_caller]
fn stored_then_hit(r: &Repo, args: &[&str]) -> Run {
    let first = r.dj_traced(args);
    assert_eq!(
        cache_said(&first).last(),
        Some(&"stored"),
        "{}",
        first.stderr
    );
    let second = r.dj_traced(args);
    assert_eq!(cache_said(&second), ["hit"], "{}", second.stderr);
    assert_eq!(second.code, first.code);
    assert_eq!(second.stdout, first.stdout);
    assert_eq!(stderr_proper(&second), stderr_proper(&first));
    second
}

#[test]
fn an_unchanged_work_tree_is_answered_from_the_result_cache() {
    let r = diverged(false);
    settle();
    let results = r.path.join(".git/djmig/results-v1");
    for format in ["json", "text", "github"] {
        let _ = fs::remove_dir_all(&results);
        stored_then_hit(&r, &["check", "--format", format]).expect_code(0);
    }
    // The format is not part of what is stored.
    assert_eq!(
        cache_said(&r.dj_traced(&["check", "--format", "json"])),
        ["hit"]
    );
    let run = stored_then_hit(&r, &["check", "blog", "--format", "json"]);
    assert_eq!(
        keys(&run.json()["apps"]),
        BTreeSet::from(["blog".to_string()])
    );
    assert!(results.is_dir());
}

#[test]
fn a_cached_error_keeps_its_line_and_column() {
    let r = diverged(false);
    r.write(&blog("0005_broken"), "class Migration(:\n");
    settle();
    let run = stored_then_hit(&r, &["check"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("blog/migrations/0005_broken.py:1:"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_change_to_what_was_read_is_seen() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    r.dj_traced(&args).expect_code(0);

    // A new file in a migrations directory: a second leaf.
    let b = r.path.join(blog("0004_post_b"));
    let b_text = blog_migration("0003_post_published", "b");
    r.write(&blog("0004_post_b"), &b_text);
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(1);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["conflicts"]["blog"]),
        ["0004_post_a", "0004_post_b"]
    );
    assert_eq!(cache_said(&r.dj_traced(&args)), ["hit"]);

    // The same size and modification time, other bytes: 0004_post_b now
    // follows 0004_post_a. Only the change time (and what git would hash)
    // tells.
    let before = fs::metadata(&b).expect("stat 0004_post_b");
    let mut text = blog_migration("0004_post_a", "b");
    assert!(text.len() < b_text.len());
    text.push_str(&"#".repeat(b_text.len() - text.len() - 1));
    text.push('\n');
    fs::write(&b, &text).expect("rewrite 0004_post_b");
    fs::File::options()
        .write(true)
        .open(&b)
        .and_then(|f| f.set_modified(before.modified()?))
        .expect("restore the mtime");
    let after = fs::metadata(&b).expect("stat 0004_post_b");
    assert_eq!(after.len(), before.len());
    assert_eq!(after.modified().ok(), before.modified().ok());
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(0);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["apps"]["blog"]["leaves"]),
        ["0004_post_b"]
    );

    // A removed file.
    r.remove(&blog("0004_post_a"));
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(3);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");

    // The settings alone: MIGRATION_MODULES turns blog's migrations off.
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    settle();
    r.dj_traced(&args).expect_code(0);
    let settings = r.path.join("mysite/settings.py");
    let mut text = fs::read_to_string(&settings).expect("read settings");
    text.push_str("\nMIGRATION_MODULES = {'blog': None}\n");
    write(&settings, &text);
    settle();
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert!(run.json()["apps"].get("blog").is_none(), "{}", run.stdout);
}

#[test]
fn another_configuration_is_another_result() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    r.dj_traced(&args).expect_code(0);
    r.write(".djmig.yml", "exclude:\n  - blog\n");
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run)[0], "miss (nothing stored)");
    let run = r.dj_traced(&["--strict", "check", "--format", "json"]);
    assert_eq!(cache_said(&run)[0], "miss (nothing stored)");
}

#[test]
fn a_corrupt_result_file_is_ignored() {
    let r = diverged(false);
    settle();
    let args = ["check", "--format", "json"];
    let first = r.dj_traced(&args);
    let dir = r.path.join(".git/djmig/results-v1");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("results directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let original = fs::read(&files[0]).expect("read the result file");
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    for (bytes, said) in [
        (flipped, "miss (bad checksum)"),
        (
            original[..original.len() - 9].to_vec(),
            "miss (bad checksum)",
        ),
        (b"not a result".to_vec(), "miss (not a result file)"),
        (Vec::new(), "miss (not a result file)"),
    ] {
        fs::write(&files[0], &bytes).expect("corrupt the result file");
        let run = r.dj_traced(&args);
        run.expect_code(0);
        assert_eq!(cache_said(&run)[0], said);
        assert_eq!(run.stdout, first.stdout);
    }
}

#[test]
fn what_stat_data_cannot_vouch_for_is_not_stored() {
    let r = diverged(false);
    // A file stamped in the future: within any run's window.
    let a = r.path.join(blog("0004_post_a"));
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&a)
        .and_then(|f| f.set_modified(later))
        .expect("set the mtime");
    let args = ["check", "--format", "json"];
    for _ in 0..2 {
        let run = r.dj_traced(&args);
        run.expect_code(0);
        let said = cache_said(&run);
        assert_eq!(said[0], "miss (nothing stored)");
        assert!(
            said[1].starts_with("not stored: ") && said[1].contains("racy"),
            "{said:?}"
        );
    }

    // A migration that is a symbolic link: its target may change.
    let r = diverged(false);
    #[cfg(unix)]
    {
        r.write(
            "elsewhere/0005_post_c.py",
            &blog_migration("0004_post_a", "c"),
        );
        std::os::unix::fs::symlink(
            r.path.join("elsewhere/0005_post_c.py"),
            r.path.join(blog("0005_post_c")),
        )
        .expect("symlink");
        settle();
        let run = r.dj_traced(&args);
        run.expect_code(0);
        assert_eq!(
            cache_said(&run)[1],
            "not stored: a symbolic link or special file was read"
        );
        assert_eq!(
            strings(&run.json()["apps"]["blog"]["leaves"]),
            ["0005_post_c"]
        );

        // A link to a directory is never walked, whatever it points to: it
        // does not stand in the way.
        let r = diverged(false);
        fs::create_dir_all(r.sibling("docs")).expect("docs dir");
        std::os::unix::fs::symlink(r.sibling("docs"), r.path.join("docs")).expect("symlink");
        r.git(&["add", "docs"]);
        r.commit("docs link");
        settle();
        stored_then_hit(&r, &args).expect_code(0);
    }
}

#[test]
fn check_base_is_answered_from_the_result_cache_with_what_the_refs_say_now() {
    let r = diverged(false);
    settle();
    let results = r.path.join(".git/djmig/results-v1");
    for args in [
        &["check", "--base", "main", "--format", "json"][..],
        &["check", "--base", "main", "--format", "text"],
        &[
            "check", "--head", "feature", "--base", "main", "--format", "json",
        ],
        &[
            "check", "--head", "feature", "--base", "main", "--format", "github",
        ],
    ] {
        let _ = fs::remove_dir_all(&results);
        stored_then_hit(&r, args).expect_code(1);
    }
    // Published is read from the refs on every run, stored or not.
    let args = [
        "check", "--head", "feature", "--base", "main", "--format", "json",
    ];
    r.git(&["tag", "v1", "feature"]);
    let run = r.dj_traced(&args);
    assert_eq!(cache_said(&run), ["hit"]);
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["published"]),
        ["0004_post_a"]
    );
    // So is where the user is.
    r.git(&["checkout", "-q", "--detach"]);
    let text = r.dj_traced(&["check", "--head", "feature", "--base", "main"]);
    assert_eq!(cache_said(&text), ["hit"]);
    text.stdout_has("HEAD is detached");

    // Another base commit is another result.
    r.git(&["checkout", "-q", "main"]);
    r.write("README.txt", "moved on\n");
    r.commit("main: readme");
    r.git(&["checkout", "-q", "feature"]);
    let run = r.dj_traced(&args);
    assert_ne!(cache_said(&run)[0], "hit");
    run.expect_code(1);
}

#[test]
fn check_base_sees_a_changed_work_tree() {
    let r = diverged(false);
    settle();
    let args = ["check", "--base", "main", "--format", "json"];
    r.dj_traced(&args).expect_code(1);
    r.write(&blog("0005_post_c"), &blog_migration("0004_post_a", "c"));
    settle();
    let run = r.dj_traced(&args);
    run.expect_code(1);
    assert_eq!(cache_said(&run)[0], "miss (files changed)");
    assert_eq!(
        strings(&run.json()["divergence"]["blog"]["ours"]),
        ["0004_post_a", "0005_post_c"]
    );
}

// ---------------------------------------------------------------------------
// djmig check after an interrupted resolution

/// What `djmig resolve` killed half-way leaves: a journal still in
/// progress, and upstream's migration set aside (deleted from the work
/// tree).
fn interrupt_a_resolution(r: &Repo, set_aside: &str) {
    let file = r.path.join(set_aside);
    let journal =
        djmig::testing::Journal::begin(&r.path, "resolve blog", std::slice::from_ref(&file))
            .expect("begin a journal");
    fs::remove_file(&file).expect("set the file aside");
    drop(journal); // never finished
}

#[test]
fn check_after_an_interrupted_resolution_exits_5_and_says_to_undo() {
    let r = diverged(false);
    r.git(&["merge", "-q", "--no-edit", "main"]);
    // An answer stored before: it must not be taken.
    settle();
    r.dj(&["check"]).expect_code(1);
    r.dj(&["check", "--base", "main"]).expect_code(1);

    interrupt_a_resolution(&r, &blog("0004_post_b"));
    for args in [
        &["check"][..],
        &["check", "--format", "json"],
        &["check", "--base", "main"],
        &["check", "--base", "main", "--format", "github"],
    ] {
        let run = r.dj(args);
        run.expect_code(5);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        run.stderr_has("error: the last resolution did not finish: resolve blog (started ")
            .stderr_has("hint: run `djmig undo`");
    }
    // Two commits: the work tree is not read, the answer stands.
    r.dj(&["check", "--head", "HEAD", "--base", "main"])
        .expect_code(1);

    // undo changes the work tree: run it without dj's "nothing changed".
    Run::of(r.djmig_command(&r.path, &["undo"])).expect_code(0);
    r.dj(&["check"])
        .expect_code(1)
        .stdout_has("2 leaf migrations");
}

// ---------------------------------------------------------------------------
// djmig scan

/// On `main` (linear): branches `feature/a` and `feature/b` each add a blog
/// migration after 0003; `feature/c` adds to `notes` only; `feature/a2` is
/// `feature/a` again; `feature/a-more` builds on `feature/a`.
fn branches_for_scan() -> Repo {
    let r = Repo::linear_with_notes();
    for (branch, from, name, parent) in [
        ("feature/a", "main", "0004_post_a", "0003_post_published"),
        ("feature/b", "main", "0004_post_b", "0003_post_published"),
        (
            "feature/a-more",
            "feature/a",
            "0005_post_more",
            "0004_post_a",
        ),
    ] {
        r.git(&["checkout", "-q", "-b", branch, from]);
        r.write(&blog(name), &blog_migration(parent, name));
        r.commit(branch);
    }
    r.git(&["checkout", "-q", "-b", "feature/c", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("feature/c");
    r.git(&["branch", "feature/a2", "feature/a"]);
    r.git(&["checkout", "-q", "main"]);
    r
}

#[test]
fn scan_reports_branches_adding_after_the_same_migration() {
    let r = branches_for_scan();
    let run = r.dj(&["scan", "--base", "main", "feature/*", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["base"], r.rev("main"));
    let collisions = j["collisions"].as_array().expect("collisions");
    // a (= a2) with b; a-more with b (it adds 0004_post_a too, after 0003).
    // Never a with a2 (one commit), a with a-more (one builds on the
    // other), nor c (another app).
    let pairs: BTreeSet<(String, String)> = collisions
        .iter()
        .map(|c| {
            let b = strings(&c["branches"]);
            (b[0].clone(), b[1].clone())
        })
        .collect();
    assert!(
        pairs.contains(&(
            "feature/a = feature/a2".to_string(),
            "feature/b".to_string()
        )),
        "{pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .all(|(x, y)| !x.contains("feature/c") && !y.contains("feature/c")),
        "{pairs:?}"
    );
    assert!(
        pairs
            .iter()
            .all(|(x, y)| !(x.contains("feature/a") && y.contains("feature/a"))),
        "{pairs:?}"
    );
    for c in collisions {
        assert_eq!(c["app"], "blog");
        assert_eq!(c["after"], "0003_post_published");
    }
    let text = r.dj(&["scan", "--base", "main", "feature/*"]);
    text.expect_code(1);
    text.line_with(
        "feature/a = feature/a2 and feature/b both add blog migrations after 0003_post_published",
    );
}

#[test]
fn scan_without_collisions_exits_zero_and_unknown_globs_are_usage_errors() {
    let r = branches_for_scan();
    let run = r.dj(&["scan", "--base", "main", "feature/a*", "feature/c"]);
    run.expect_code(0);
    run.line_with("No collisions");
    r.dj(&["scan", "--base", "main", "nothing/*"])
        .expect_code(2);
    r.dj(&["scan", "--base", "nope"]).expect_code(4);
}

/// `feature/x` adds 0004_post_x after 0003; since it forked, `main` added
/// 0004_post_y after 0003: the branch conflicts with the base itself, with
/// no other branch in sight. Branches forked after 0004_post_y, or already
/// merged into main, do not.
#[test]
fn scan_reports_a_branch_that_already_conflicts_with_the_base() {
    let r = Repo::linear_with_notes();
    r.git(&["checkout", "-q", "-b", "merged", "main"]);
    r.write(
        "notes/migrations/0002_note_x.py",
        &migration(&[("notes", "0001_initial")], &add_field("note", "x")),
    );
    r.commit("merged: notes 0002");
    r.git(&["checkout", "-q", "-b", "feature/x", "main"]);
    r.write(
        &blog("0004_post_x"),
        &blog_migration("0003_post_published", "x"),
    );
    r.commit("feature/x");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-edit", "merged"]);
    r.write(
        &blog("0004_post_y"),
        &blog_migration("0003_post_published", "y"),
    );
    r.commit("main: 0004_post_y");
    r.git(&["checkout", "-q", "-b", "feature/later", "main"]);
    r.write(
        &blog("0005_post_later"),
        &blog_migration("0004_post_y", "later"),
    );
    r.commit("feature/later");
    r.git(&["checkout", "-q", "main"]);

    let text = r.dj(&["scan"]);
    text.expect_code(1);
    text.line_with(
        "feature/x and main both add blog migrations after 0003_post_published (0004_post_x / 0004_post_y)",
    );
    text.stdout_has("djmig resolve --base main");
    assert_eq!(text.lines_with(" both add ").len(), 1, "{}", text.stdout);

    let run = r.dj(&["scan", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(
        j["collisions"],
        json!([{
            "app": "blog",
            "after": "0003_post_published",
            "branches": ["feature/x", "main"],
            "adds": [["0004_post_x"], ["0004_post_y"]],
            "with_base": true,
        }])
    );
    // Only the branches that do not conflict: nothing to say.
    let run = r.dj(&["scan", "--base", "main", "feature/later", "merged"]);
    run.expect_code(0);
    run.line_with("No collisions");
}

/// Pull requests as GitHub serves them, fetched with the line the README
/// gives: `scan 'refs/pull/*/head'` compares the open ones, leaves out the
/// one merged into the base, and with `--since` those not updated since.
#[test]
fn scan_over_pull_request_refs() {
    let r = Repo::linear_with_notes();
    let pr = |n: u32, from: &str, file: &str, content: &str, date: Option<&str>| {
        r.git(&["checkout", "-q", "-b", &format!("pr{n}"), from]);
        r.write(file, content);
        r.git(&["add", "-A"]);
        let mut c = r.git_command(&r.path);
        if let Some(d) = date {
            c.env("GIT_COMMITTER_DATE", d).env("GIT_AUTHOR_DATE", d);
        }
        let out = c
            .args(["commit", "-q", "-m", &format!("pr {n}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        r.git(&["update-ref", &format!("refs/pull/{n}/head"), "HEAD"]);
        r.git(&["checkout", "-q", "main"]);
    };
    let notes = |name: &str| {
        (
            format!("notes/migrations/{name}.py"),
            migration(&[("notes", "0001_initial")], &add_field("note", name)),
        )
    };
    pr(
        1,
        "main",
        &blog("0004_post_one"),
        &blog_migration("0003_post_published", "one"),
        None,
    );
    pr(
        2,
        "main",
        &blog("0004_post_two"),
        &blog_migration("0003_post_published", "two"),
        None,
    );
    r.git(&["merge", "-q", "--no-ff", "--no-edit", "pr1"]);
    for (n, name, date) in [
        (3, "0002_note_three", None),
        (4, "0002_note_four", None),
        (5, "0002_note_five", Some("2020-06-01T00:00:00Z")),
    ] {
        let (file, content) = notes(name);
        pr(n, "main", &file, &content, date);
    }
    let clone = r.sibling("clone");
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            r.path.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    r.git_in(
        &clone,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/pull/*/head:refs/pull/*/head",
        ],
    );

    let run = r.dj_at(
        &clone,
        &[
            "scan",
            "--base",
            "origin/main",
            "refs/pull/*/head",
            "--format",
            "json",
        ],
    );
    run.expect_code(1);
    let j = run.json();
    assert_eq!(
        strings(&j["branches"]),
        [
            "refs/pull/2/head",
            "refs/pull/3/head",
            "refs/pull/4/head",
            "refs/pull/5/head"
        ]
    );
    assert_eq!(j["skipped"], json!({"merged": 1, "older": 0}));
    let pairs: Vec<(String, String, bool)> = j["collisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let b = strings(&c["branches"]);
            (b[0].clone(), b[1].clone(), c["with_base"] == json!(true))
        })
        .collect();
    let p = |a: &str, b: &str, base: bool| (a.to_string(), b.to_string(), base);
    assert_eq!(
        pairs,
        [
            p("refs/pull/2/head", "origin/main", true),
            p("refs/pull/3/head", "refs/pull/4/head", false),
            p("refs/pull/3/head", "refs/pull/5/head", false),
            p("refs/pull/4/head", "refs/pull/5/head", false),
        ]
    );
    let base = &j["collisions"][0];
    assert_eq!(base["adds"], json!([["0004_post_two"], ["0004_post_one"]]));

    let text = r.dj_at(
        &clone,
        &[
            "scan",
            "--base",
            "origin/main",
            "--since",
            "2023-01-01",
            "refs/pull/*/head",
        ],
    );
    text.expect_code(1);
    let scanned = text.line_with("Scanned 3 ref(s) against origin/main");
    assert!(
        scanned.contains("Left out: 1 already merged into it, 1 not updated since 2023-01-01."),
        "{scanned}"
    );
    text.line_with(
        "refs/pull/3/head and refs/pull/4/head both add notes migrations after 0001_initial",
    );
    assert!(!text.stdout.contains("pull/5"), "{}", text.stdout);

    // Not a branch glob: the hint says how pull requests are fetched.
    let none = r.dj_at(&clone, &["scan", "pull/*"]);
    none.expect_code(2);
    assert!(
        none.stderr
            .contains("git fetch origin '+refs/pull/*/head:refs/pull/*/head'"),
        "{}",
        none.stderr
    );
    r.dj_at(&clone, &["scan", "--since", "last tuesday"])
        .expect_code(2);
}

/// Checked out on the base itself, with nothing in progress, both leaves are
/// the base's: no side is named.
#[test]
fn on_the_base_itself_no_side_is_named() {
    let r = Repo::linear();
    r.write(
        &blog("0004_post_a"),
        &blog_migration("0003_post_published", "a"),
    );
    r.write(
        &blog("0004_post_b"),
        &blog_migration("0003_post_published", "b"),
    );
    r.commit("main: two leaves");
    let run = r.dj(&["check"]);
    run.expect_code(1);
    for leaf in ["0004_post_a.py", "0004_post_b.py"] {
        let line = run.line_with(leaf);
        assert!(
            !line.contains("(upstream") && !line.contains("(yours"),
            "{line}"
        );
    }
}
