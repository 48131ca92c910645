//! `djmig review` on real git repositories built from
//! `fixtures/review/project`: every rule's fixtures (`fixtures/review/cases`,
//! one that triggers it and one that does not), branches that edit a
//! deployed migration, add a locking index or are clean, every output
//! format (SARIF checked against the 2.1.0 schema's rules for what djmig
//! writes), suppressions, `--fix` with `djmig undo`, the exit codes, and
//! the fixed file loaded and run by Django on PostgreSQL.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{self, copy_tree, djmig_std, fixtures_dir, temp_home, write, Run};

/// Every rule id, in the README's order.
const RULES: [&str; 15] = [
    "deployed-edited",
    "deployed-renamed",
    "deployed-deleted",
    "number-behind-base",
    "duplicate-number",
    "add-field-not-null",
    "index-locks-table",
    "concurrent-in-transaction",
    "data-loss",
    "rename-breaks-deploy",
    "alter-column-type",
    "irreversible",
    "model-import",
    "mixed-atomic",
    "bad-suppression",
];

// ---------------------------------------------------------------- helpers

/// `fixtures/review/project` in a fresh repository, committed on `main`.
struct Repo {
    _tmp: TempDir,
    home: PathBuf,
    path: PathBuf,
}

fn review_dir() -> PathBuf {
    fixtures_dir().join("review")
}

impl Repo {
    fn new() -> Repo {
        let (tmp, home) = temp_home("djmig-review-");
        let path = home.join("repo");
        copy_tree(&review_dir().join("project"), &path);
        let r = Repo {
            _tmp: tmp,
            home,
            path,
        };
        r.git(&["init", "-q"]);
        r.commit("base");
        r
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = support::git_command(&self.path, &self.home)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn write(&self, rel: &str, text: &str) {
        write(&self.path.join(rel), text);
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn dj(&self, args: &[&str]) -> Run {
        let mut cmd = djmig_std();
        cmd.current_dir(&self.path)
            .env("HOME", &self.home)
            .env_remove("GITHUB_ACTIONS")
            .arg("-C")
            .arg(&self.path)
            .args(args);
        let run = Run::from_output(cmd.output().expect("run djmig"));
        run.no_crash();
        run
    }

    /// Copy a directory of files over the work tree.
    fn overlay(&self, dir: &Path) {
        if dir.is_dir() {
            copy_tree(dir, &self.path);
        }
    }
}

/// `(rule, file:line)` of each finding of a JSON report.
fn findings(run: &Run) -> BTreeSet<String> {
    run.json()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"]
            )
        })
        .collect()
}

/// A migration of `app` after `parent` with `ops`.
fn migration(app: &str, parent: &str, ops: &str) -> String {
    format!(
        "from django.db import migrations, models\n\n\n\
         class Migration(migrations.Migration):\n\n    \
         dependencies = [\n        ('{app}', '{parent}'),\n    ]\n\n    \
         operations = [\n{ops}    ]\n"
    )
}

const ADD_INDEX: &str = "        migrations.AddIndex(\n            model_name='post',\n            \
                         index=models.Index(fields=['views'], name='post_views_idx'),\n        ),\n";

const INDEX_FILE: &str = "blog/migrations/0003_post_views_idx.py";

// ---------------------------------------------------------------- fixtures

/// Play one case of `fixtures/review/cases`: the project on `main`, the
/// branch `feature` forked from it, `upstream/` committed on `main` after
/// the fork, then `branch/` written, `delete.txt` deleted and `rename.txt`
/// renamed in the work tree of `feature`. The findings must be exactly
/// those of `expect.txt`, in the work tree and once committed.
fn play(case: &Path) -> Result<(), String> {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    if case.join("upstream").is_dir() {
        r.git(&["checkout", "-q", "main"]);
        r.overlay(&case.join("upstream"));
        r.commit("upstream");
        r.git(&["checkout", "-q", "feature"]);
    }
    r.overlay(&case.join("branch"));
    let lines = |name: &str| -> Vec<String> {
        fs::read_to_string(case.join(name))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    for d in lines("delete.txt") {
        fs::remove_file(r.path.join(&d)).map_err(|e| format!("delete {d}: {e}"))?;
    }
    for line in lines("rename.txt") {
        let (from, to) = line.split_once(' ').expect("rename.txt: `from to`");
        fs::rename(r.path.join(from), r.path.join(to)).map_err(|e| e.to_string())?;
    }
    let expected: BTreeSet<String> = lines("expect.txt").into_iter().collect();
    for (what, args) in [
        (
            "work tree",
            vec!["review", "--base", "main", "--format", "json"],
        ),
        (
            "committed",
            vec![
                "review", "--head", "feature", "--base", "main", "--format", "json",
            ],
        ),
    ] {
        if what == "committed" {
            r.commit("feature");
        }
        let run = r.dj(&args);
        let got = findings(&run);
        let errors = expected
            .iter()
            .any(|e| RULES.iter().any(|id| e.starts_with(id) && is_error(id)));
        let code = if errors { 1 } else { 0 };
        if got != expected || run.code != code {
            return Err(format!(
                "{what}: expected {expected:?} (exit {code}), got {got:?} (exit {})\n{}{}",
                run.code, run.stdout, run.stderr
            ));
        }
    }
    Ok(())
}

fn is_error(id: &str) -> bool {
    matches!(
        id,
        "deployed-edited"
            | "deployed-renamed"
            | "deployed-deleted"
            | "add-field-not-null"
            | "concurrent-in-transaction"
            | "data-loss"
            | "rename-breaks-deploy"
            | "alter-column-type"
            | "model-import"
    )
}

#[test]
fn every_rule_has_a_fixture_that_triggers_it_and_one_that_does_not() {
    let cases = review_dir().join("cases");
    let mut failures = Vec::new();
    let dirs: BTreeSet<String> = fs::read_dir(&cases)
        .expect("fixtures/review/cases")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        dirs,
        RULES.iter().map(|s| s.to_string()).collect(),
        "one case directory per rule"
    );
    for rule in RULES {
        for kind in ["trigger", "clean"] {
            let case = cases.join(rule).join(kind);
            let expect = fs::read_to_string(case.join("expect.txt"))
                .unwrap_or_else(|e| panic!("{rule}/{kind}/expect.txt: {e}"));
            let has_rule = expect
                .lines()
                .any(|l| l.split_whitespace().next() == Some(rule));
            assert_eq!(
                has_rule,
                kind == "trigger",
                "{rule}/{kind}: a trigger expects the rule, a clean case does not"
            );
            if let Err(e) = play(&case) {
                failures.push(format!("{rule}/{kind}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------- branches

#[test]
fn a_branch_that_edits_a_deployed_migration() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    let file = "blog/migrations/0002_post_body.py";
    r.write(file, &r.read(file).replace("default=''", "default='-'"));
    r.commit("edit a deployed migration");
    let mb = r.git(&["rev-parse", "--short=7", "main"]);

    let run = r.dj(&["review", "--base", "main"]);
    run.expect_code(1)
        .stdout_has("Reviewing what the work tree adds or changes relative to main (")
        .stdout_has(&format!("merge base {mb}: 1 migration file(s)"))
        .stdout_has(&format!("\n{file}\n"))
        .stdout_has("  16:1    error    deployed-edited  blog.0002_post_body exists on main")
        .stdout_has(&format!(
            "fix: put it back as it is on the base (git checkout {mb} -- {file})"
        ))
        .stdout_has("1 finding(s): 1 error(s), 0 warning(s), 0 info in 1 file(s).");

    // The same, committed, between two revisions, as annotations.
    let run = r.dj(&[
        "review", "--head", "feature", "--base", "main", "--format", "github",
    ]);
    run.expect_code(1);
    let line = run.line_with("deployed-edited");
    assert!(
        line.starts_with(&format!(
            "::error file={file},line=16,col=1,title=djmig review%3A deployed-edited::blog.0002_post_body exists on main (merge base {mb})"
        )),
        "{line}"
    );
    assert!(line.contains("%0AFix: put it back"), "{line}");

    // Only formatting changed: a note, and exit 0.
    r.git(&["checkout", "-q", "main", "--", file]);
    r.write(file, &r.read(file).replace("default=''", "default=\"\""));
    let run = r.dj(&["review", "--base", "main", "--format", "json"]);
    run.expect_code(0);
    let j = run.json();
    assert_eq!(j["findings"][0]["severity"], "info");
    assert!(j["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("only in formatting or comments"));
}

#[test]
fn a_branch_that_adds_a_locking_index_and_its_fix() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    let original = migration("blog", "0002_post_body", ADD_INDEX);
    r.write(INDEX_FILE, &original);

    let run = r.dj(&["review", "--base", "main"]);
    run.expect_code(0)
        .stdout_has("  11:9    warning  index-locks-table  AddIndex blog.post.post_views_idx builds an index on the existing table of blog.post")
        .stdout_has("1 fixable with `djmig review --fix`");

    // --dry-run: the diff, nothing written.
    let run = r.dj(&["review", "--base", "main", "--fix", "--dry-run"]);
    run.expect_code(0)
        .stdout_has("Would fix 1 finding(s) in 1 file(s) (--dry-run: nothing written):")
        .stdout_has("-        migrations.AddIndex(\n+        AddIndexConcurrently(");
    assert_eq!(r.read(INDEX_FILE), original);

    // --fix: only the tokens that change.
    let run = r.dj(&["review", "--base", "main", "--fix"]);
    run.expect_code(0)
        .stdout_has("Fixed 1 finding(s) in 1 file(s); `djmig undo` puts them back:")
        .stdout_has("+from django.contrib.postgres.operations import AddIndexConcurrently")
        .stdout_has("No findings.");
    let fixed = r.read(INDEX_FILE);
    assert_eq!(
        fixed,
        original
            .replace(
                "from django.db import migrations, models\n",
                "from django.db import migrations, models\n\
                 from django.contrib.postgres.operations import AddIndexConcurrently\n"
            )
            .replace("    dependencies", "    atomic = False\n\n    dependencies")
            .replace("migrations.AddIndex(", "AddIndexConcurrently(")
    );
    r.dj(&["review", "--base", "main"])
        .expect_code(0)
        .stdout_has("No findings.");

    // djmig undo gives back every byte.
    let mut undo = djmig_std();
    undo.arg("-C").arg(&r.path).args(["undo", "--yes"]);
    Run::from_output(undo.output().unwrap())
        .expect_code(0)
        .stdout_has("djmig review --fix");
    assert_eq!(r.read(INDEX_FILE), original);
}

#[test]
fn a_clean_branch() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "blog/migrations/0003_post_rating.py",
        &migration(
            "blog",
            "0002_post_body",
            "        migrations.AddField(\n            model_name='post',\n            name='rating',\n            field=models.IntegerField(null=True),\n        ),\n",
        ),
    );
    r.commit("a nullable column");
    for args in [
        &["review", "--base", "main"][..],
        &["review", "--head", "feature", "--base", "main"],
        &["review"],
    ] {
        r.dj(args)
            .expect_code(0)
            .stdout_has("1 migration file(s)")
            .stdout_has("\nNo findings.\n");
    }
    // No base to compare with on main itself: nothing added.
    r.git(&["checkout", "-q", "main"]);
    r.dj(&["review", "--base", "main"])
        .expect_code(0)
        .stdout_has("0 migration file(s)")
        .stdout_has("No findings.");
}

// ---------------------------------------------------------------- outputs

/// A branch with findings of every severity and a suppressed one.
fn busy_branch() -> Repo {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(INDEX_FILE, &migration("blog", "0002_post_body", ADD_INDEX));
    r.write(
        "shop/migrations/0002_order_quantity.py",
        &migration(
            "shop",
            "0001_initial",
            "        migrations.AddField('order', 'quantity', models.IntegerField()),\n        \
             migrations.RemoveField('order', 'code'),  # djmig: ignore[data-loss] unused since v3\n",
        ),
    );
    let file = "blog/migrations/0001_initial.py";
    r.write(file, &format!("# reformatted\n{}", r.read(file)));
    r.commit("busy");
    r
}

#[test]
fn json_output() {
    let r = busy_branch();
    let run = r.dj(&["review", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["mode"], "branch");
    assert_eq!(j["head_source"], "worktree");
    assert_eq!(j["base"], r.git(&["rev-parse", "main"]));
    assert_eq!(j["merge_base"], r.git(&["rev-parse", "main"]));
    assert_eq!(j["base_name"], "main");
    assert_eq!(
        support::keys(&j),
        [
            "base",
            "base_name",
            "errors",
            "findings",
            "head",
            "head_source",
            "merge_base",
            "mode",
            "reviewed",
            "schema_version",
            "summary",
            "suppressed"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    assert_eq!(
        support::strings(&j["reviewed"]),
        [
            "blog/migrations/0001_initial.py",
            INDEX_FILE,
            "shop/migrations/0002_order_quantity.py"
        ]
    );
    assert_eq!(
        j["summary"],
        serde_json::json!({"error": 1, "warning": 1, "info": 1, "suppressed": 1})
    );
    let f = &j["findings"][2];
    assert_eq!(f["rule"], "add-field-not-null");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(11), Some(9))
    );
    assert_eq!(f["fixable"], Value::Null);
    assert_eq!(j["findings"][1]["fixable"], "fix");
    assert_eq!(
        j["suppressed"][0],
        serde_json::json!({"rule": "data-loss", "file": "shop/migrations/0002_order_quantity.py",
                           "line": 12, "comment_line": 12, "reason": "unused since v3"})
    );
}

#[test]
fn github_annotations_on_the_exact_lines() {
    let r = busy_branch();
    let mut cmd = djmig_std();
    cmd.env("GITHUB_ACTIONS", "true")
        .arg("-C")
        .arg(&r.path)
        .args(["review", "--base", "main"]);
    let run = Run::from_output(cmd.output().unwrap());
    run.expect_code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("::notice file=blog/migrations/0001_initial.py,line=1,col=1,title=djmig review%3A deployed-edited::"));
    assert!(lines[1].starts_with(&format!(
        "::warning file={INDEX_FILE},line=11,col=9,title=djmig review%3A index-locks-table::"
    )));
    assert!(lines[2].starts_with("::error file=shop/migrations/0002_order_quantity.py,line=11,col=9,title=djmig review%3A add-field-not-null::"));
}

/// What SARIF 2.1.0's schema allows in each object djmig writes: its
/// properties (the schema forbids any other), the required ones, and the
/// checks on values.
fn sarif_check(kind: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
    let obj = match v.as_object() {
        Some(o) => o,
        None => return errors.push(format!("{at}: {kind} must be an object")),
    };
    let (allowed, required): (&[&str], &[&str]) = match kind {
        "log" => (
            &[
                "$schema",
                "version",
                "runs",
                "inlineExternalProperties",
                "properties",
            ],
            &["version", "runs"],
        ),
        "run" => (
            &[
                "tool",
                "invocations",
                "conversion",
                "language",
                "versionControlProvenance",
                "originalUriBaseIds",
                "artifacts",
                "logicalLocations",
                "graphs",
                "results",
                "automationDetails",
                "runAggregates",
                "baselineGuid",
                "redactionTokens",
                "defaultEncoding",
                "defaultSourceLanguage",
                "newlineSequences",
                "columnKind",
                "externalPropertyFileReferences",
                "threadFlowLocations",
                "taxonomies",
                "addresses",
                "translations",
                "policies",
                "webRequests",
                "webResponses",
                "specialLocations",
                "properties",
            ],
            &["tool"],
        ),
        "tool" => (&["driver", "extensions", "properties"], &["driver"]),
        "toolComponent" => (
            &[
                "guid",
                "name",
                "organization",
                "product",
                "productSuite",
                "shortDescription",
                "fullDescription",
                "fullName",
                "version",
                "semanticVersion",
                "dottedQuadFileVersion",
                "releaseDateUtc",
                "downloadUri",
                "informationUri",
                "globalMessageStrings",
                "notifications",
                "rules",
                "taxa",
                "locations",
                "language",
                "contents",
                "isComprehensive",
                "localizedDataSemanticVersion",
                "minimumRequiredLocalizedDataSemanticVersion",
                "associatedComponent",
                "translationMetadata",
                "supportedTaxonomies",
                "properties",
            ],
            &["name"],
        ),
        "reportingDescriptor" => (
            &[
                "id",
                "deprecatedIds",
                "guid",
                "deprecatedGuids",
                "name",
                "deprecatedNames",
                "shortDescription",
                "fullDescription",
                "messageStrings",
                "defaultConfiguration",
                "helpUri",
                "help",
                "relationships",
                "properties",
            ],
            &["id"],
        ),
        "multiformatMessageString" => (&["text", "markdown", "properties"], &["text"]),
        "reportingConfiguration" => (
            &["enabled", "level", "rank", "parameters", "properties"],
            &[],
        ),
        "invocation" => (
            &[
                "commandLine",
                "arguments",
                "responseFiles",
                "startTimeUtc",
                "endTimeUtc",
                "exitCode",
                "ruleConfigurationOverrides",
                "notificationConfigurationOverrides",
                "toolExecutionNotifications",
                "toolConfigurationNotifications",
                "exitCodeDescription",
                "exitSignalName",
                "exitSignalNumber",
                "processStartFailureMessage",
                "executionSuccessful",
                "machine",
                "account",
                "processId",
                "executableLocation",
                "workingDirectory",
                "environmentVariables",
                "stdin",
                "stdout",
                "stderr",
                "stdoutStderr",
                "properties",
            ],
            &["executionSuccessful"],
        ),
        "notification" => (
            &[
                "locations",
                "message",
                "level",
                "threadId",
                "timeUtc",
                "exception",
                "descriptor",
                "associatedRule",
                "properties",
            ],
            &["message"],
        ),
        "result" => (
            &[
                "ruleId",
                "ruleIndex",
                "rule",
                "kind",
                "level",
                "message",
                "analysisTarget",
                "locations",
                "guid",
                "correlationGuid",
                "occurrenceCount",
                "partialFingerprints",
                "fingerprints",
                "stacks",
                "codeFlows",
                "graphs",
                "graphTraversals",
                "relatedLocations",
                "suppressions",
                "baselineState",
                "rank",
                "attachments",
                "hostedViewerUri",
                "workItemUris",
                "provenance",
                "fixes",
                "taxa",
                "webRequest",
                "webResponse",
                "properties",
            ],
            &["message"],
        ),
        "message" => (&["text", "markdown", "id", "arguments", "properties"], &[]),
        "location" => (
            &[
                "id",
                "physicalLocation",
                "logicalLocations",
                "message",
                "annotations",
                "relationships",
                "properties",
            ],
            &[],
        ),
        "physicalLocation" => (
            &[
                "address",
                "artifactLocation",
                "region",
                "contextRegion",
                "properties",
            ],
            &[],
        ),
        "artifactLocation" => (
            &["uri", "uriBaseId", "index", "description", "properties"],
            &[],
        ),
        "region" => (
            &[
                "startLine",
                "startColumn",
                "endLine",
                "endColumn",
                "charOffset",
                "charLength",
                "byteOffset",
                "byteLength",
                "snippet",
                "message",
                "sourceLanguage",
                "properties",
            ],
            &[],
        ),
        other => panic!("no rules for {other}"),
    };
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            errors.push(format!("{at}: {kind} does not allow {k:?}"));
        }
    }
    for k in required {
        if !obj.contains_key(*k) {
            errors.push(format!("{at}: {kind} requires {k:?}"));
        }
    }
    let string = |k: &str, errors: &mut Vec<String>| {
        if let Some(x) = obj.get(k) {
            if !x.is_string() {
                errors.push(format!("{at}.{k}: must be a string"));
            }
        }
    };
    let level = |errors: &mut Vec<String>| {
        if let Some(l) = obj.get("level") {
            if !["none", "note", "warning", "error"].contains(&l.as_str().unwrap_or("")) {
                errors.push(format!("{at}.level: {l} is not a level"));
            }
        }
    };
    let array = |k: &str, item: &str, errors: &mut Vec<String>| {
        if let Some(x) = obj.get(k) {
            match x.as_array() {
                Some(items) => {
                    for (i, it) in items.iter().enumerate() {
                        sarif_check(item, it, &format!("{at}.{k}[{i}]"), errors);
                    }
                }
                None => errors.push(format!("{at}.{k}: must be an array")),
            }
        }
    };
    let child = |k: &str, kind: &str, errors: &mut Vec<String>| {
        if let Some(x) = obj.get(k) {
            sarif_check(kind, x, &format!("{at}.{k}"), errors);
        }
    };
    match kind {
        "log" => {
            if obj.get("version") != Some(&Value::from("2.1.0")) {
                errors.push(format!("{at}.version must be \"2.1.0\""));
            }
            string("$schema", errors);
            array("runs", "run", errors);
        }
        "run" => {
            child("tool", "tool", errors);
            array("results", "result", errors);
            array("invocations", "invocation", errors);
            if let Some(c) = obj.get("columnKind") {
                if !["utf16CodeUnits", "unicodeCodePoints"].contains(&c.as_str().unwrap_or("")) {
                    errors.push(format!("{at}.columnKind: {c}"));
                }
            }
        }
        "tool" => child("driver", "toolComponent", errors),
        "toolComponent" => {
            for k in ["name", "version", "semanticVersion", "informationUri"] {
                string(k, errors);
            }
            array("rules", "reportingDescriptor", errors);
            if let Some(rules) = obj.get("rules").and_then(Value::as_array) {
                let ids: BTreeSet<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
                if ids.len() != rules.len() {
                    errors.push(format!("{at}.rules: ids must be unique"));
                }
            }
        }
        "reportingDescriptor" => {
            for k in ["id", "name", "helpUri"] {
                string(k, errors);
            }
            for k in ["shortDescription", "fullDescription", "help"] {
                child(k, "multiformatMessageString", errors);
            }
            child("defaultConfiguration", "reportingConfiguration", errors);
        }
        "multiformatMessageString" => string("text", errors),
        "reportingConfiguration" => level(errors),
        "invocation" => {
            if !obj["executionSuccessful"].is_boolean() {
                errors.push(format!("{at}.executionSuccessful must be a boolean"));
            }
            array("toolExecutionNotifications", "notification", errors);
        }
        "notification" => {
            level(errors);
            child("message", "message", errors);
            array("locations", "location", errors);
        }
        "result" => {
            string("ruleId", errors);
            if let Some(i) = obj.get("ruleIndex") {
                if i.as_i64().is_none_or(|i| i < -1) {
                    errors.push(format!("{at}.ruleIndex: {i}"));
                }
            }
            level(errors);
            child("message", "message", errors);
            array("locations", "location", errors);
        }
        "message" => {
            if !obj.contains_key("text") && !obj.contains_key("id") {
                errors.push(format!("{at}: message requires text or id"));
            }
            string("text", errors);
        }
        "location" => child("physicalLocation", "physicalLocation", errors),
        "physicalLocation" => {
            if !obj.contains_key("artifactLocation") && !obj.contains_key("address") {
                errors.push(format!(
                    "{at}: physicalLocation requires artifactLocation or address"
                ));
            }
            child("artifactLocation", "artifactLocation", errors);
            child("region", "region", errors);
        }
        "artifactLocation" => {
            string("uri", errors);
            string("uriBaseId", errors);
            if let Some(u) = obj.get("uri").and_then(Value::as_str) {
                if u.contains(' ') || u.starts_with('/') || u.contains('\\') {
                    errors.push(format!("{at}.uri: {u:?} is not a relative URI reference"));
                }
            }
        }
        "region" => {
            if !["startLine", "charOffset", "byteOffset"]
                .iter()
                .any(|k| obj.contains_key(*k))
            {
                errors.push(format!(
                    "{at}: region requires startLine, charOffset or byteOffset"
                ));
            }
            for k in ["startLine", "startColumn", "endLine", "endColumn"] {
                if let Some(n) = obj.get(k) {
                    if n.as_i64().is_none_or(|n| n < 1) {
                        errors.push(format!("{at}.{k}: {n} must be an integer of at least 1"));
                    }
                }
            }
        }
        _ => {}
    }
}

#[test]
fn sarif_output_follows_the_2_1_0_schema() {
    let r = busy_branch();
    // A file that does not parse, reported as a tool notification.
    r.write("blog/migrations/0004_broken.py", "class Migration(:\n");
    let run = r.dj(&["review", "--base", "main", "--format", "sarif"]);
    run.expect_code(3);
    let v = run.json();
    let mut errors = Vec::new();
    sarif_check("log", &v, "$", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let run0 = &v["runs"][0];
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, RULES, "every rule described, in order");
    for r in run0["tool"]["driver"]["rules"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let level = if is_error(id) { "error" } else { "warning" };
        assert_eq!(r["defaultConfiguration"]["level"], level, "{id}");
        assert_eq!(r["helpUri"], format!("https://github.com/djmig/djmig#{id}"));
    }
    let results = run0["results"].as_array().unwrap();
    let got: Vec<(&str, &str, i64, &str)> = results
        .iter()
        .map(|x| {
            let idx = x["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(x["ruleId"], rules[idx], "ruleIndex points at the rule");
            let loc = &x["locations"][0]["physicalLocation"];
            (
                x["ruleId"].as_str().unwrap(),
                x["level"].as_str().unwrap(),
                loc["region"]["startLine"].as_i64().unwrap(),
                loc["artifactLocation"]["uri"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "deployed-edited",
                "note",
                1,
                "blog/migrations/0001_initial.py"
            ),
            ("index-locks-table", "warning", 11, INDEX_FILE),
            (
                "add-field-not-null",
                "error",
                11,
                "shop/migrations/0002_order_quantity.py"
            ),
        ]
    );
    let n = &run0["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(run0["invocations"][0]["executionSuccessful"], false);
    assert_eq!(
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "blog/migrations/0004_broken.py"
    );
    assert!(n["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("syntax error: "));
}

/// `review --base` keeps its answer as `check --base` does: taken again
/// while nothing it read changed, read again as soon as a file changes.
#[test]
fn the_answer_is_kept_until_a_file_it_read_changes() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(INDEX_FILE, &migration("blog", "0002_post_body", ADD_INDEX));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let traced = |args: &[&str]| {
        let mut cmd = djmig_std();
        cmd.env("DJMIG_TRACE_CACHE", "1")
            .arg("-C")
            .arg(&r.path)
            .args(args);
        Run::from_output(cmd.output().unwrap())
    };
    let first = traced(&["review", "--base", "main", "--format", "json"]);
    first
        .expect_code(0)
        .stderr_has("djmig: result cache: stored");
    let second = traced(&["review", "--base", "main", "--format", "json"]);
    second.expect_code(0).stderr_has("djmig: result cache: hit");
    assert_eq!(first.stdout, second.stdout);
    // Another question (a rule left out) is another answer.
    traced(&["review", "--base", "main", "--ignore", "irreversible"]).stderr_has("miss");
    // The file changes: read again.
    r.write(
        INDEX_FILE,
        &migration(
            "blog",
            "0002_post_body",
            "        migrations.RemoveField('post', 'views'),\n",
        ),
    );
    let third = traced(&["review", "--base", "main", "--format", "json"]);
    third.expect_code(1).stderr_has("miss (files changed)");
    assert_eq!(
        findings(&third),
        [format!("data-loss {INDEX_FILE}:11")].into()
    );
    // A new file in an app's migrations: read again too.
    std::thread::sleep(std::time::Duration::from_millis(200));
    traced(&["review", "--base", "main"]).stderr_has("stored");
    r.write(
        "shop/migrations/0002_order_quantity.py",
        &migration(
            "shop",
            "0001_initial",
            "        migrations.AddField('order', 'quantity', models.IntegerField()),\n",
        ),
    );
    let run = traced(&["review", "--base", "main", "--format", "json"]);
    run.expect_code(1).stderr_has("miss (files changed)");
    assert_eq!(findings(&run).len(), 2);
}

// ---------------------------------------------------------------- settings

#[test]
fn configuration_and_flags_choose_rules_and_severities() {
    let r = busy_branch();
    // --select, --ignore.
    let run = r.dj(&[
        "review",
        "--base",
        "main",
        "--format",
        "json",
        "--select",
        "index-locks-table,deployed-edited",
    ]);
    run.expect_code(0);
    assert_eq!(
        findings(&run),
        [
            "deployed-edited blog/migrations/0001_initial.py:1".to_string(),
            format!("index-locks-table {INDEX_FILE}:11")
        ]
        .into()
    );
    let run = r.dj(&[
        "review",
        "--base",
        "main",
        "--format",
        "json",
        "--ignore",
        "add-field-not-null",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["findings"].as_array().unwrap().len(), 2);
    // .djmig.yml: ignore, and a warning made an error.
    r.write(
        ".djmig.yml",
        "review:\n  ignore: [add-field-not-null, deployed-edited]\n  severity:\n    index-locks-table: error\n",
    );
    let run = r.dj(&["review", "--base", "main", "--format", "json"]);
    run.expect_code(1);
    let j = run.json();
    assert_eq!(j["findings"].as_array().unwrap().len(), 1);
    assert_eq!(j["findings"][0]["severity"], "error");
    // A wrong rule or severity: exit 2 naming the key and the line.
    r.write(
        ".djmig.yml",
        "strict: false\nreview:\n  ignore: [dataloss]\n",
    );
    r.dj(&["review", "--base", "main"])
        .expect_code(2)
        .stderr_has(".djmig.yml:3: review.ignore: unknown rule \"dataloss\"");
    r.write(".djmig.yml", "review:\n  severity:\n    data-loss: fatal\n");
    r.dj(&["review", "--base", "main"])
        .expect_code(2)
        .stderr_has(".djmig.yml:3")
        .stderr_has("review.severity");
    fs::remove_file(r.path.join(".djmig.yml")).unwrap();
    r.dj(&["review", "--select", "nope"])
        .expect_code(2)
        .stderr_has("error: --select: unknown rule \"nope\"")
        .stderr_has("hint: the rules are: deployed-edited, ");
}

#[test]
fn exit_codes() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    // 0: clean; 1: an error finding (deleting a deployed migration).
    r.dj(&["review", "--base", "main"]).expect_code(0);
    fs::remove_file(r.path.join("shop/migrations/0001_initial.py")).unwrap();
    r.dj(&["review", "--base", "main"])
        .expect_code(1)
        .stdout_has("deployed-deleted");
    r.git(&["checkout", "--", "."]);
    // 2: usage.
    r.dj(&["review", "--dry-run"])
        .expect_code(2)
        .stderr_has("--dry-run goes with --fix");
    r.dj(&["review", "blog", "blog/migrations/0001_initial.py"])
        .expect_code(2)
        .stderr_has("not both");
    r.dj(&["review", "nosuchapp"])
        .expect_code(2)
        .stderr_has("no app labelled \"nosuchapp\"");
    r.dj(&["review", "--fix", "--head", "main"]).expect_code(2);
    r.dj(&["review", "--fix", "--all"])
        .expect_code(2)
        .stderr_has("--fix does not go with --all");
    // 3: a new migration that does not parse.
    r.write(
        "blog/migrations/0003_broken.py",
        "from django.db import migrations\nclass Migration(\n",
    );
    r.dj(&["review", "--base", "main"])
        .expect_code(3)
        .stderr_has("error: blog/migrations/0003_broken.py:3:1: syntax error: ");
    fs::remove_file(r.path.join("blog/migrations/0003_broken.py")).unwrap();
    // 4: an unknown base, with the way to review without git.
    r.dj(&["review", "--base", "nosuchbranch"])
        .expect_code(4)
        .stderr_has("hint: to review without git, name the files or pass --all");
    // 5: the last resolution did not finish.
    let journal = djmig::testing::Journal::begin(&r.path, "resolve blog", &[]).expect("begin");
    drop(journal);
    r.dj(&["review", "--base", "main"])
        .expect_code(5)
        .stderr_has("the last resolution did not finish");
    r.dj(&["review", "--head", "feature", "--base", "main"])
        .expect_code(0);
}

#[test]
fn all_migrations_or_the_files_named_without_git() {
    let (tmp, _) = temp_home("djmig-review-nogit-");
    let root = tmp.path().join("project");
    copy_tree(&review_dir().join("project"), &root);
    write(
        &root.join(INDEX_FILE),
        &migration("blog", "0002_post_body", ADD_INDEX),
    );
    let run_in = |args: &[&str]| {
        let mut cmd = djmig_std();
        cmd.current_dir(&root).args(args);
        let run = Run::from_output(cmd.output().unwrap());
        run.no_crash();
        run
    };
    run_in(&["review", "--all"])
        .expect_code(0)
        .stdout_has("Reviewing every migration of the project: 4 file(s).")
        .stdout_has("index-locks-table");
    run_in(&["review", "--all", "shop"])
        .expect_code(0)
        .stdout_has("1 file(s)")
        .stdout_has("No findings.");
    run_in(&["review", INDEX_FILE])
        .expect_code(0)
        .stdout_has("Reviewing 1 file(s).")
        .stdout_has("index-locks-table");
    run_in(&["review", "blog/models.py"])
        .expect_code(2)
        .stderr_has("is not a migration of any app");
    // Not a repository: the default needs git (exit 4) and says so.
    run_in(&["review"]).expect_code(4).stderr_has("--all");
    // --fix on a file named: the same rewrite.
    run_in(&["review", INDEX_FILE, "--fix"])
        .expect_code(0)
        .stdout_has("No findings.");
    assert!(fs::read_to_string(root.join(INDEX_FILE))
        .unwrap()
        .contains("AddIndexConcurrently("));
}

#[test]
fn names_from_the_repository_are_shown_not_obeyed() {
    let r = Repo::new();
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(
        "blog/migrations/0003_x.py",
        &migration(
            "blog",
            "0002_post_body",
            "        migrations.RemoveField(model_name='post\\x1b]0;pwned\\x07\\n::error::x', name='views'),\n",
        ),
    );
    let run = r.dj(&["review", "--base", "main"]);
    run.expect_code(1);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
    assert!(
        run.stdout.contains("post\\x1b]0;pwned\\x07\\n::error::x"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.lines().any(|l| l.trim_start().starts_with("::")));
    let run = r.dj(&["review", "--base", "main", "--format", "github"]);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("%0A::error::x"), "{}", run.stdout);
    let run = r.dj(&["review", "--base", "main", "--format", "json"]);
    let msg = run.json()["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("post\x1b]0;pwned\x07\n::error::x"),
        "JSON keeps names exact"
    );
}

// ---------------------------------------------------------------- Django

/// `python manage.py ARGS` with the test Django; (success, stdout, stderr).
fn manage(project: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(support::django_python())
        .current_dir(project)
        .arg("manage.py")
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .output()
        .expect("run python manage.py");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fixed migration is what Django runs: `migrate --plan` loads it,
/// `sqlmigrate` on PostgreSQL shows `CREATE INDEX CONCURRENTLY` outside a
/// transaction, and `migrate` builds the index on a real server.
#[test]
fn the_fixed_migration_runs_on_postgresql() {
    let r = Repo::new();
    let pg = crate::pg::postgres();
    let dbname = pg.create_database("review_fix");
    let settings = r.path.join("mysite/settings.py");
    let mut text = fs::read_to_string(&settings).unwrap();
    text.push_str(&pg.django_settings(&dbname));
    fs::write(&settings, text).unwrap();
    r.commit("on postgresql");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write(INDEX_FILE, &migration("blog", "0002_post_body", ADD_INDEX));
    // Before the fix: a plain CREATE INDEX in a transaction.
    let (ok, sql, err) = manage(&r.path, &["sqlmigrate", "blog", "0003_post_views_idx"]);
    assert!(ok, "{err}");
    assert!(
        sql.contains("BEGIN;") && sql.contains("CREATE INDEX \"post_views_idx\""),
        "{sql}"
    );

    r.dj(&["review", "--base", "main", "--fix"])
        .expect_code(0)
        .stdout_has("Fixed 1 finding(s)");

    let (ok, plan, err) = manage(&r.path, &["migrate", "--plan"]);
    assert!(ok, "{err}");
    assert!(plan.contains("blog.0003_post_views_idx"), "{plan}");
    assert!(
        plan.contains("Concurrently create index post_views_idx on field(s) views of model post"),
        "{plan}"
    );
    let (ok, sql, err) = manage(&r.path, &["sqlmigrate", "blog", "0003_post_views_idx"]);
    assert!(ok, "{err}");
    assert!(
        sql.contains("CREATE INDEX CONCURRENTLY \"post_views_idx\" ON \"blog_post\" (\"views\");"),
        "{sql}"
    );
    assert!(!sql.contains("BEGIN;"), "not in a transaction: {sql}");
    let (ok, out, err) = manage(&r.path, &["migrate", "--no-input"]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        pg.psql(&dbname, "SELECT indexname FROM pg_indexes WHERE tablename = 'blog_post' AND indexname = 'post_views_idx'"),
        "post_views_idx"
    );
}
