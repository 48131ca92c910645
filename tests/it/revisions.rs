//! A revision read the same way as the checkout of the same commit: the
//! settings module, `manage.py` one directory down, `.djmig.yml` and the
//! root directory's name come from the revision (a bare clone, a
//! `--no-checkout` clone), so `graph --ref` gives byte-identical JSON.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{copy_tree, djmig_std, fixture, git_command, temp_home, write, Run};

fn git(dir: &Path, home: &Path, args: &[&str]) {
    let out = git_command(dir, home).args(args).output().expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn dj(dir: &Path, home: &Path, args: &[&str]) -> Run {
    let mut cmd = djmig_std();
    crate::scenario::hermetic(&mut cmd, home);
    cmd.arg("-C").arg(dir).args(args);
    Run::from_output(cmd.output().expect("run djmig"))
}

/// A repository at `home/<name>` whose files are `files` (a function that
/// fills the directory), committed.
fn repo(home: &Path, name: &str, fill: impl FnOnce(&Path)) -> PathBuf {
    let root = home.join(name);
    std::fs::create_dir_all(&root).unwrap();
    fill(&root);
    git(&root, home, &["init", "-q"]);
    git(&root, home, &["add", "-A"]);
    git(&root, home, &["commit", "-q", "-m", "init"]);
    root
}

/// The work-tree graph and the graph at HEAD of a bare and of a
/// `--no-checkout` clone: the same JSON, byte for byte.
fn same_everywhere(home: &Path, root: &Path) -> Value {
    let wt = dj(root, home, &["graph", "--format", "json"]);
    wt.expect_code(0);
    let bare = home.join("bare.git");
    git(
        home,
        home,
        &[
            "clone",
            "-q",
            "--bare",
            root.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let empty = home.join("no-checkout");
    git(
        home,
        home,
        &[
            "clone",
            "-q",
            "--no-checkout",
            root.to_str().unwrap(),
            empty.to_str().unwrap(),
        ],
    );
    for dir in [&bare, &empty] {
        let at = dj(dir, home, &["graph", "--ref", "HEAD", "--format", "json"]);
        at.expect_code(0);
        assert_eq!(
            at.stdout,
            wt.stdout,
            "graph --ref HEAD in {} differs from the work tree",
            dir.display()
        );
    }
    wt.json()
}

/// `site/manage.py` names `mysite.settings` (`site/mysite/settings.py`),
/// which sets `AUTH_USER_MODEL = 'accounts.User'`: at a revision too, the
/// swappable dependencies point at the custom user app's first migration.
#[test]
fn settings_one_directory_down_are_read_at_a_revision() {
    let (_tmp, home) = temp_home("djmig-revisions-");
    let root = repo(&home, "project", |r| {
        copy_tree(&fixture("custom_user"), &r.join("site"));
        // Only the revision's own .djmig.yml keeps this broken example out.
        write(&r.join("docs/example/migrations/__init__.py"), "");
        write(
            &r.join("docs/example/migrations/0001_x.py"),
            "class Migration(:\n",
        );
        write(&r.join(".djmig.yml"), "exclude: [docs]\n");
    });
    let j = same_everywhere(&home, &root);
    let edges: Vec<(String, String)> = serde_json::from_value(j["edges"].clone()).unwrap();
    assert!(
        edges.contains(&(
            "blog.0001_initial".to_string(),
            "accounts.0001_initial".to_string()
        )),
        "no edge to the custom user app: {edges:?}"
    );
    assert!(
        !edges
            .iter()
            .any(|(c, p)| c.starts_with("blog.") && p.starts_with("auth.")),
        "blog's swappable dependency points at auth: {edges:?}"
    );
    assert!(j["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| !w["message"].as_str().unwrap_or("").contains("assumed")));
}

/// No settings module anywhere: the swappable dependency is taken as
/// Django's default, and a warning says so.
#[test]
fn an_assumed_user_model_is_said() {
    let (_tmp, home) = temp_home("djmig-revisions-");
    let root = repo(&home, "project", |r| {
        copy_tree(&fixture("custom_user"), r);
        std::fs::remove_file(r.join("manage.py")).unwrap();
    });
    let run = dj(&root, &home, &["graph", "--format", "json"]);
    let j = run.json();
    let said = assumed_warnings(&j);
    assert_eq!(said.len(), 1, "{}", run.stdout);
    assert!(
        said[0].contains("auth.User") && said[0].contains("settings:"),
        "{said:?}"
    );
}

/// The `AUTH_USER_MODEL assumed` warnings of a graph report.
fn assumed_warnings(j: &Value) -> Vec<String> {
    j["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["message"].as_str())
        .filter(|m| m.contains("AUTH_USER_MODEL assumed"))
        .map(str::to_string)
        .collect()
}

/// A settings module that does not set `AUTH_USER_MODEL` means Django's
/// default for certain: the swappable dependencies point at `auth`, and
/// nothing is said to be assumed.
#[test]
fn a_settings_module_without_the_user_model_is_djangos_default_unsaid() {
    let (_tmp, home) = temp_home("djmig-revisions-");
    let root = repo(&home, "project", |r| {
        copy_tree(&fixture("custom_user"), r);
        let settings = r.join("mysite/settings.py");
        let text = std::fs::read_to_string(&settings).unwrap();
        assert!(text.contains("AUTH_USER_MODEL = 'accounts.User'"));
        write(
            &settings,
            &text.replace("AUTH_USER_MODEL = 'accounts.User'\n", ""),
        );
    });
    let run = dj(&root, &home, &["graph", "--format", "json"]);
    let j = run.json();
    assert!(assumed_warnings(&j).is_empty(), "{}", run.stdout);
    let edges: Vec<(String, String)> = serde_json::from_value(j["edges"].clone()).unwrap();
    assert!(
        edges
            .iter()
            .any(|(c, p)| c == "blog.0001_initial" && p.starts_with("auth.")),
        "{edges:?}"
    );
}

/// A reusable app's repository laid out flat (`migrations/` next to
/// `apps.py`): labelled after the directory, or its AppConfig, in the work
/// tree and at a revision (a bare clone named `polls.git` too).
#[test]
fn a_migrations_package_at_the_root_is_labelled_as_django_labels_it() {
    let (_tmp, home) = temp_home("djmig-revisions-");
    let root = repo(&home, "polls", |r| {
        write(&r.join("__init__.py"), "");
        write(&r.join("migrations/__init__.py"), "");
        write(
            &r.join("migrations/0001_initial.py"),
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = []\n",
        );
        write(
            &r.join("migrations/0002_more.py"),
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('polls', '0001_initial')]\n    operations = []\n",
        );
    });
    let wt = dj(&root, &home, &["graph", "--format", "json"]);
    wt.expect_code(0);
    let j = wt.json();
    assert_eq!(
        j["edges"][0],
        serde_json::json!(["polls.0002_more", "polls.0001_initial"]),
        "{}",
        wt.stdout
    );
    let bare = home.join("polls.git");
    git(
        &home,
        &home,
        &[
            "clone",
            "-q",
            "--bare",
            root.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let at = dj(
        &bare,
        &home,
        &["graph", "--ref", "HEAD", "--format", "json"],
    );
    at.expect_code(0);
    assert_eq!(at.stdout, wt.stdout);

    // An AppConfig label wins over the directory's name.
    write(
        &root.join("apps.py"),
        "from django.apps import AppConfig\n\n\nclass PollsConfig(AppConfig):\n    name = 'polls'\n    label = 'mypolls'\n",
    );
    let j = dj(&root, &home, &["graph", "--format", "json"]).json();
    assert!(j["apps"]["mypolls"].is_object(), "{j:#}");
}

/// A revision whose own `.djmig.yml` does not parse: error `config` naming
/// the file and line (exit 3), while the work tree's good one still reads.
#[test]
fn a_broken_configuration_at_a_revision_is_a_config_error() {
    let (_tmp, home) = temp_home("djmig-revisions-");
    let root = repo(&home, "project", |r| {
        copy_tree(&fixture("custom_user"), r);
        write(&r.join(".djmig.yml"), "strict: false\nexclude: [docs\n");
    });
    write(&root.join(".djmig.yml"), "strict: false\n");
    dj(&root, &home, &["graph", "--format", "json"]).expect_code(0);
    // `--config` applies to every revision read: the revision's own file
    // is not consulted.
    dj(
        &root,
        &home,
        &[
            "--config",
            ".djmig.yml",
            "graph",
            "--ref",
            "HEAD",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    let at = dj(
        &root,
        &home,
        &["graph", "--ref", "HEAD", "--format", "json"],
    );
    at.expect_code(3);
    let j = at.json();
    let errors = j["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["kind"] == "config" && e["file"].as_str() == Some(".djmig.yml")),
        "{}",
        at.stdout
    );
}
