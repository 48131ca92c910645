//! Tests over real repositories made with the `git` tool.

use std::collections::{BTreeMap, BTreeSet};

use super::testutil::TestRepo;
use super::*;
use crate::adapters::fs::tree::FsTree;
use crate::core::tree::{join, EntryKind, SourceTree};
use crate::error::Exit;

/// Every file under a tree (skipping `.git`): path → bytes.
fn files(tree: &dyn SourceTree) -> BTreeMap<String, Vec<u8>> {
    fn walk(tree: &dyn SourceTree, dir: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in tree.list_dir(dir).unwrap_or_default() {
            let p = join(dir, &e.name);
            match e.kind {
                EntryKind::Dir if e.name != ".git" => walk(tree, &p, out),
                EntryKind::File => {
                    // A link that leads nowhere is listed, and says so.
                    let bytes = tree.read(&p).unwrap_or_else(|e| {
                        assert!(crate::core::limits::refusal(&e).is_some(), "{p}: {e}");
                        format!("refused: {e}").into_bytes()
                    });
                    out.insert(p.clone(), bytes);
                }
                _ => {}
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(tree, "", &mut out);
    out
}

fn text(map: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect()
}

fn oid(s: &str) -> Oid {
    Oid::from_str(s).unwrap()
}

fn small_project(r: &TestRepo) {
    r.write("manage.py", "import os\n")
        .write("shop/__init__.py", "")
        .write("shop/migrations/__init__.py", "")
        .write(
            "shop/migrations/0001_initial.py",
            &TestRepo::migration(&[], ""),
        )
        .write(
            "shop/migrations/0002_order.py",
            &TestRepo::migration(&[("shop", "0001_initial")], ""),
        )
        .write("blog/migrations/__init__.py", "")
        .write("docs/readme.txt", "hello\n");
}

/// Set every file's mtime in the work tree well in the past, so the index
/// written after is not racy.
fn age_files(r: &TestRepo) {
    let out = std::process::Command::new("find")
        .arg(&r.path)
        .args([
            "-path",
            "*/.git",
            "-prune",
            "-o",
            "-type",
            "f",
            "-exec",
            "touch",
            "-d",
            "2020-01-01 00:00:00",
            "{}",
            "+",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn tree_at_a_ref_reads_like_the_checkout() {
    let r = TestRepo::new();
    small_project(&r);
    r.write("tools/run.sh", "#!/bin/sh\necho\n");
    r.git(&["update-index", "--add", "--chmod=+x", "tools/run.sh"]);
    std::os::unix::fs::symlink("0001_initial.py", r.path.join("shop/migrations/link.py")).unwrap();
    std::os::unix::fs::symlink("../nowhere", r.path.join("docs/dangling")).unwrap();
    std::os::unix::fs::symlink("../shop", r.path.join("docs/shopdir")).unwrap();
    let head = r.commit("initial");

    let repo = Repo::discover(&r.path).unwrap();
    assert_eq!(repo.project_prefix(), "");
    let res = repo.resolve("HEAD").unwrap();
    assert_eq!(res.oid.to_string(), head);
    let gt = repo.tree(res.oid).unwrap();
    let fs = FsTree::new(&r.path);
    assert_eq!(text(&files(&gt)), text(&files(&fs)));
    assert!(files(&gt).contains_key("shop/migrations/link.py"));
    // Listings agree, directory by directory.
    for dir in ["", "shop", "shop/migrations", "docs", "blog/migrations"] {
        let mut fsl = fs.list_dir(dir).unwrap();
        fsl.retain(|e| e.name != ".git");
        assert_eq!(gt.list_dir(dir).unwrap(), fsl, "{dir}");
    }
    assert!(gt.list_dir("nope").is_none());
    assert!(gt.list_dir("manage.py").is_none());
    assert!(gt.is_dir("shop/migrations") && !gt.is_dir("manage.py"));
    assert!(gt.is_file("manage.py") && !gt.is_file("shop"));
    assert!(gt.read("missing.py").is_err());
    // Blob ids are git's.
    let want = r.git(&["rev-parse", "HEAD:shop/migrations/0002_order.py"]);
    assert_eq!(
        gt.blob_id("shop/migrations/0002_order.py"),
        Some(oid_bytes(oid(&want)))
    );
    assert_eq!(
        gt.blob_id("shop/migrations/link.py"),
        gt.blob_id("shop/migrations/0001_initial.py")
    );
    assert_eq!(
        hash_blob(&gt.read("shop/migrations/0002_order.py").unwrap()),
        oid_bytes(oid(&want))
    );
    assert_eq!(gt.blob_id("shop"), None);
    assert_eq!(
        gt.dir_id("shop").map(|b| blob_oid(&b).to_string()),
        Some(r.git(&["rev-parse", "HEAD:shop"]))
    );
}

#[test]
fn gittree_reads_in_parallel() {
    use rayon::prelude::*;
    let r = TestRepo::new();
    for i in 0..200 {
        r.write(&format!("app/migrations/{i:04}_m.py"), &format!("# {i}\n"));
    }
    r.commit("many");
    let repo = Repo::discover(&r.path).unwrap();
    let gt = repo.tree(repo.resolve("main").unwrap().oid).unwrap();
    let names: Vec<String> = gt
        .list_dir("app/migrations")
        .unwrap()
        .into_iter()
        .map(|e| format!("app/migrations/{}", e.name))
        .collect();
    assert_eq!(names.len(), 200);
    let ok = names
        .par_iter()
        .all(|p| gt.read(p).unwrap().starts_with(b"# "));
    assert!(ok);
}

#[test]
fn project_in_a_subdirectory() {
    let r = TestRepo::new();
    r.write("README", "top\n");
    r.write("backend/manage.py", "x\n");
    r.write("backend/app/migrations/0001_initial.py", "y\n");
    r.commit("c1");
    let repo = Repo::discover(&r.path.join("backend")).unwrap();
    assert_eq!(repo.project_prefix(), "backend");
    assert_eq!(repo.project_root(), r.path.join("backend"));
    let gt = repo.tree(repo.resolve("HEAD").unwrap().oid).unwrap();
    assert!(gt.exists());
    assert_eq!(
        text(&files(&gt)),
        text(&files(&FsTree::new(r.path.join("backend"))))
    );
    assert!(!gt.is_file("README"));
    age_files(&r);
    r.git(&["update-index", "--really-refresh"]);
    let wt = repo.worktree_tree().unwrap();
    let want = r.git(&["rev-parse", ":backend/app/migrations/0001_initial.py"]);
    assert_eq!(
        wt.blob_id("app/migrations/0001_initial.py"),
        Some(oid_bytes(oid(&want)))
    );
    assert_eq!(wt.blob_id("README"), None);

    r.write("backend/app/migrations/deep/x.py", "z\n");
    let repo = Repo::discover(&r.path.join("backend/app/migrations/deep")).unwrap();
    assert_eq!(repo.project_prefix(), "backend/app/migrations/deep");
    // Not in that commit: an empty tree.
    let gt = repo.tree(repo.resolve("HEAD").unwrap().oid).unwrap();
    assert!(!gt.exists());
    assert_eq!(gt.list_dir(""), Some(vec![]));

    let e = Repo::discover(&r.path.join(".git")).unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    let outside = tempfile::tempdir().unwrap();
    let e = Repo::discover(outside.path()).unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert!(e.message.contains("not in a git repository"), "{e:?}");
}

#[test]
fn resolves_revisions() {
    let r = TestRepo::new();
    r.write("a.py", "1\n");
    let c1 = r.commit("one");
    r.write("a.py", "2\n");
    let c2 = r.commit("two");
    r.git(&["tag", "v1", &c1]);
    r.git(&["tag", "-a", "v2", "-m", "annotated", &c2]);
    r.write("a.py", "3\n");
    let c3 = r.commit("three");
    let repo = Repo::discover(&r.path).unwrap();

    assert_eq!(repo.resolve("HEAD~1").unwrap().oid.to_string(), c2);
    assert_eq!(repo.resolve("HEAD~2").unwrap().oid.to_string(), c1);
    assert_eq!(repo.resolve("main").unwrap().oid.to_string(), c3);
    let v1 = repo.resolve("v1").unwrap();
    assert_eq!(v1.oid.to_string(), c1);
    assert_eq!(v1.refname.as_deref(), Some("refs/tags/v1"));
    assert_eq!(v1.summary, "one");
    assert_eq!(repo.resolve("v2").unwrap().oid.to_string(), c2);
    let full = repo.resolve(&c1).unwrap();
    assert_eq!(full.oid.to_string(), c1);
    assert_eq!(full.describe(), full.short);
    let short = repo.resolve(&c2[..8]).unwrap();
    assert_eq!(short.oid.to_string(), c2);
    assert_eq!(
        repo.resolve("main").unwrap().describe(),
        format!("main ({})", &c3[..7])
    );
    // A tree is not a commit.
    let e = repo.resolve("HEAD^{tree}").unwrap_err();
    assert_eq!(e.exit, Exit::Git);

    let head = repo.head().unwrap();
    assert_eq!(head.branch.as_deref(), Some("main"));
    assert!(!head.detached);
    r.git(&["checkout", "-q", "--detach", &c1]);
    let head = repo.head().unwrap();
    assert_eq!(head.branch, None);
    assert!(head.detached);
    assert_eq!(head.oid.map(|o| o.to_string()), Some(c1));
}

#[test]
fn unknown_ref_is_a_git_error_naming_it() {
    let r = TestRepo::new();
    r.write("a.py", "1\n");
    r.commit("one");
    let repo = Repo::discover(&r.path).unwrap();
    let e = repo.resolve("no-such-branch").unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert_eq!(e.exit.code(), 4);
    assert!(e.message.contains("no-such-branch"), "{e:?}");
    assert!(e.hints.iter().any(|h| h.contains("git branch -a")), "{e:?}");
    assert!(e.hints.iter().any(|h| h.contains("git fetch")), "{e:?}");
    let e = repo.resolve("HEAD~5").unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert!(e.message.contains("HEAD~5"));
}

#[test]
fn empty_repository_is_a_git_error() {
    let r = TestRepo::new();
    let repo = Repo::discover(&r.path).unwrap();
    assert!(repo.has_no_commits());
    let e = repo.resolve("main").unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert!(e.message.contains("no commits"), "{e:?}");
    assert!(!e.hints.is_empty());
    let head = repo.head().unwrap();
    assert_eq!(head.branch.as_deref(), Some("main"));
    assert_eq!(head.oid, None);
    let e = repo.standpoint(None, None).unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert!(e.hints.iter().any(|h| h.contains("--base")));
}

/// main: c1 — c2; feature: c1 — f1.
fn diverged(r: &TestRepo) -> (String, String, String) {
    r.write("app/migrations/0001_initial.py", "initial\n");
    let c1 = r.commit("c1");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("app/migrations/0002_feature.py", "feature\n");
    let f1 = r.commit("f1");
    r.git(&["checkout", "-q", "main"]);
    r.write("app/migrations/0002_main.py", "main\n");
    let c2 = r.commit("c2");
    (c1, c2, f1)
}

#[test]
fn merge_base_of_diverged_and_unrelated_histories() {
    let r = TestRepo::new();
    let (c1, c2, f1) = diverged(&r);
    let repo = Repo::discover(&r.path).unwrap();
    assert_eq!(repo.merge_base(oid(&c2), oid(&f1)).unwrap(), Some(oid(&c1)));
    r.git(&["checkout", "-q", "--orphan", "other"]);
    r.git(&["rm", "-rq", "--cached", "."]);
    r.write("x.py", "x\n");
    let o1 = r.commit("orphan");
    assert_eq!(repo.merge_base(oid(&c2), oid(&o1)).unwrap(), None);
}

#[test]
fn shallow_clone_without_the_merge_base_is_an_error() {
    let r = TestRepo::new();
    let (_c1, _c2, _f1) = diverged(&r);
    let url = format!("file://{}", r.path.display());
    let clone = r.sibling("shallow");
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            &url,
            clone.to_str().unwrap(),
        ],
    );
    let repo = Repo::discover(&clone).unwrap();
    assert!(repo.is_shallow());
    let a = repo.resolve("origin/main").unwrap().oid;
    let b = repo.resolve("origin/feature").unwrap().oid;
    let e = repo.merge_base(a, b).unwrap_err();
    assert_eq!(e.exit, Exit::Git);
    assert!(e.message.contains("shallow"), "{e:?}");
    assert!(e.hints.iter().any(|h| h.contains("git fetch --unshallow")));
    assert!(e.hints.iter().any(|h| h.contains("fetch-depth: 0")));
    assert!(e.hints.iter().any(|h| h.contains("GIT_DEPTH: 0")));
    let e = repo.resolve("HEAD~3").unwrap_err();
    assert!(e.hints.iter().any(|h| h.contains("unshallow")), "{e:?}");
}

/// base: keep, del_theirs, del_ours, mod_ours, mod_theirs, mod_both,
/// same_both, del_mod, gone/x.
fn merge_fixture(r: &TestRepo) -> (String, String, String) {
    for f in [
        "keep",
        "del_theirs",
        "del_ours",
        "mod_ours",
        "mod_theirs",
        "mod_both",
        "same_both",
        "del_mod",
        "mod_del",
    ] {
        r.write(&format!("m/{f}.py"), &format!("{f} base\n"));
    }
    r.write("gone/x.py", "x\n");
    r.write("gone/sub/y.py", "y\n");
    let base = r.commit("base");
    r.git(&["checkout", "-q", "-b", "theirs"]);
    r.remove("m/del_theirs.py");
    r.write("m/mod_theirs.py", "theirs\n");
    r.write("m/mod_both.py", "theirs version\n");
    r.write("m/same_both.py", "same\n");
    r.write("m/add_theirs.py", "added by theirs\n");
    r.write("m/add_both.py", "theirs add\n");
    r.write("m/add_same.py", "same add\n");
    r.write("m/mod_del.py", "theirs changed\n");
    r.remove("m/del_mod.py");
    r.write("newdir/t.py", "t\n");
    std::fs::remove_dir_all(r.path.join("gone")).unwrap();
    let theirs = r.commit("theirs");
    r.git(&["checkout", "-q", "main"]);
    r.remove("m/del_ours.py");
    r.write("m/mod_ours.py", "ours\n");
    r.write("m/mod_both.py", "ours version\n");
    r.write("m/same_both.py", "same\n");
    r.write("m/add_ours.py", "added by ours\n");
    r.write("m/add_both.py", "ours add\n");
    r.write("m/add_same.py", "same add\n");
    r.write("m/del_mod.py", "ours changed\n");
    r.remove("m/mod_del.py");
    let ours = r.commit("ours");
    (base, ours, theirs)
}

fn expected_merge() -> BTreeMap<String, String> {
    [
        ("m/keep.py", "keep base\n"),
        ("m/mod_ours.py", "ours\n"),
        ("m/mod_theirs.py", "theirs\n"),
        ("m/mod_both.py", "ours version\n"),
        ("m/same_both.py", "same\n"),
        ("m/add_theirs.py", "added by theirs\n"),
        ("m/add_ours.py", "added by ours\n"),
        ("m/add_both.py", "ours add\n"),
        ("m/add_same.py", "same add\n"),
        ("m/del_mod.py", "ours changed\n"),
        ("m/mod_del.py", "theirs changed\n"),
        ("newdir/t.py", "t\n"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

const CONFLICTS: [&str; 4] = [
    "m/add_both.py",
    "m/del_mod.py",
    "m/mod_both.py",
    "m/mod_del.py",
];

#[test]
fn merged_tree_of_two_commits() {
    let r = TestRepo::new();
    let (base, ours, theirs) = merge_fixture(&r);
    let repo = Repo::discover(&r.path).unwrap();
    let bt = repo.tree(oid(&base)).unwrap();
    let ot = repo.tree(oid(&ours)).unwrap();
    let tt = repo.tree(oid(&theirs)).unwrap();
    let m = MergedTree::new(&bt, &ot, &tt);
    assert_eq!(text(&files(&m)), expected_merge());
    assert!(!m.is_dir("gone"));
    assert!(m.list_dir("gone").is_none());
    assert!(m.is_dir("newdir"));
    assert!(!m.is_file("m/del_theirs.py") && !m.is_file("m/del_ours.py"));
    assert_eq!(m.conflicted_paths(), CONFLICTS.to_vec());
    assert!(m.is_conflicted("m/mod_both.py"));
    assert!(!m.is_conflicted("m/mod_ours.py"));
    // Blob ids carry through, so the cache applies.
    assert_eq!(m.blob_id("m/mod_theirs.py"), tt.blob_id("m/mod_theirs.py"));
    assert_eq!(m.blob_id("m/mod_ours.py"), ot.blob_id("m/mod_ours.py"));
    assert_eq!(m.blob_id("m/keep.py"), bt.blob_id("m/keep.py"));

    // A fresh tree asked for conflicts first finds them all.
    let m2 = MergedTree::new(
        Side::Owned(Box::new(repo.tree(oid(&base)).unwrap())),
        &ot,
        &tt,
    );
    assert_eq!(m2.conflicted_paths(), CONFLICTS.to_vec());

    // What git itself makes of it.
    let out = r.try_git(&["merge", "--no-edit", "-q", "theirs"]);
    assert!(!out.status.success());
    let unmerged: BTreeSet<String> = r
        .git(&["diff", "--name-only", "--diff-filter=U"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(unmerged, CONFLICTS.iter().map(|s| s.to_string()).collect());
}

#[test]
fn merged_tree_with_the_work_tree_as_ours() {
    let r = TestRepo::new();
    let (base, _ours, theirs) = merge_fixture(&r);
    // Uncommitted changes count as ours.
    r.write("m/keep.py", "edited in the work tree\n");
    r.write("m/untracked.py", "new\n");
    let repo = Repo::discover(&r.path).unwrap();
    let bt = repo.tree(oid(&base)).unwrap();
    let tt = repo.tree(oid(&theirs)).unwrap();
    let wt = repo.worktree_tree().unwrap();
    let m = MergedTree::new(&bt, &wt, &tt);
    let mut want = expected_merge();
    want.insert("m/keep.py".into(), "edited in the work tree\n".into());
    want.insert("m/untracked.py".into(), "new\n".into());
    let mut got = text(&files(&m));
    got.retain(|k, _| !k.starts_with(".git/"));
    assert_eq!(got, want);
    assert_eq!(m.conflicted_paths(), CONFLICTS.to_vec());
}

#[test]
fn worktree_blob_ids_come_from_the_index_when_unchanged() {
    let r = TestRepo::new();
    small_project(&r);
    age_files(&r);
    r.commit("c1");
    let repo = Repo::discover(&r.path).unwrap();
    let wt = repo.worktree_tree().unwrap();
    let p = "shop/migrations/0001_initial.py";
    let want = oid_bytes(oid(&r.git(&["rev-parse", &format!(":{p}")])));
    assert_eq!(wt.blob_id(p), Some(want));
    assert_eq!(wt.blob_id("manage.py"), Some(hash_blob(b"import os\n")));
    assert!(!wt.conversion_possible());

    // Modified (same size even), untracked, deleted: not from the index.
    r.write(p, &TestRepo::migration(&[], "").replace("models", "MODELS"));
    r.write("shop/migrations/0003_new.py", "new\n");
    r.remove("docs/readme.txt");
    let wt = repo.worktree_tree().unwrap();
    assert_eq!(wt.blob_id(p), None);
    assert_eq!(wt.blob_id("shop/migrations/0003_new.py"), None);
    assert_eq!(wt.blob_id("docs/readme.txt"), None);
    assert_eq!(wt.blob_id("manage.py"), Some(hash_blob(b"import os\n")));
    // Reading still sees the work tree.
    assert!(wt
        .read(p)
        .unwrap()
        .starts_with(b"from django.db import migrations, MODELS"));
    assert!(wt.is_file("shop/migrations/0003_new.py"));

    // Racily clean: the file's mtime is not older than the index.
    r.write("racy.py", "r\n");
    let touch = std::process::Command::new("touch")
        .args(["-d", "2099-01-01 00:00:00"])
        .arg(r.path.join("racy.py"))
        .status()
        .unwrap();
    assert!(touch.success());
    r.git(&["add", "racy.py"]);
    let wt = repo.worktree_tree().unwrap();
    assert_eq!(wt.blob_id("racy.py"), None);
    assert_eq!(wt.blob_id("manage.py"), Some(hash_blob(b"import os\n")));
}

#[test]
fn worktree_gives_no_blob_ids_when_eol_conversion_may_apply() {
    let r = TestRepo::new();
    r.write(".gitattributes", "*.py text eol=crlf\n");
    r.write("a.py", "x = 1\n");
    age_files(&r);
    r.commit("c1");
    // The checkout has CRLF, the blob LF.
    r.remove("a.py");
    r.git(&["checkout", "--", "a.py"]);
    assert_eq!(std::fs::read(r.path.join("a.py")).unwrap(), b"x = 1\r\n");
    age_files(&r);
    r.git(&["update-index", "--really-refresh"]);
    let repo = Repo::discover(&r.path).unwrap();
    let wt = repo.worktree_tree().unwrap();
    assert!(wt.conversion_possible());
    assert_eq!(wt.blob_id("a.py"), None);
    assert_eq!(wt.blob_id(".gitattributes"), None);
    // Without such attributes, the same file has its blob id.
    r.write(".gitattributes", "*.png binary\n");
    r.write("a.py", "x = 1\n");
    age_files(&r);
    r.commit("c2");
    let wt = repo.worktree_tree().unwrap();
    assert!(!wt.conversion_possible());
    assert_eq!(wt.blob_id("a.py"), Some(hash_blob(b"x = 1\n")));
}

#[test]
fn linked_worktree_and_bare_repository() {
    let r = TestRepo::new();
    let (_c1, c2, f1) = diverged(&r);
    let wt_dir = r.sibling("wt");
    r.git(&["worktree", "add", "-q", wt_dir.to_str().unwrap(), "feature"]);
    let repo = Repo::discover(&wt_dir).unwrap();
    assert_eq!(repo.project_prefix(), "");
    assert!(repo.git_dir().ends_with("worktrees/wt"));
    assert_eq!(repo.common_dir(), r.path.join(".git"));
    assert_eq!(repo.cache_dir(), r.path.join(".git/djmig"));
    assert_eq!(repo.resolve("main").unwrap().oid.to_string(), c2);
    assert_eq!(repo.resolve("HEAD").unwrap().oid.to_string(), f1);
    assert_eq!(repo.head().unwrap().branch.as_deref(), Some("feature"));
    let gt = repo.tree(oid(&c2)).unwrap();
    assert!(gt.is_file("app/migrations/0002_main.py"));
    age_files(&r.at(&wt_dir));
    r.git_in(&wt_dir, &["update-index", "--really-refresh"]);
    let wt = repo.worktree_tree().unwrap();
    let want = r.git_in(&wt_dir, &["rev-parse", ":app/migrations/0002_feature.py"]);
    assert_eq!(
        wt.blob_id("app/migrations/0002_feature.py"),
        Some(oid_bytes(oid(&want)))
    );
    assert_eq!(
        repo.state().unwrap().head.branch.as_deref(),
        Some("feature")
    );

    let bare = r.sibling("bare.git");
    r.git_in(
        &r.home,
        &[
            "clone",
            "-q",
            "--bare",
            r.path.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let repo = Repo::discover(&bare).unwrap();
    assert!(repo.is_bare());
    let c = repo.resolve("feature").unwrap();
    assert_eq!(c.oid.to_string(), f1);
    let gt = repo.tree(c.oid).unwrap();
    assert_eq!(
        gt.read("app/migrations/0002_feature.py").unwrap(),
        b"feature\n"
    );
    assert_eq!(repo.worktree_tree().unwrap_err().exit, Exit::Git);
}

#[test]
fn state_merge_in_progress_and_merge_commit() {
    let r = TestRepo::new();
    r.write("a.py", "base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write("a.py", "other\n");
    let other = r.commit("other");
    r.git(&["checkout", "-q", "main"]);
    r.write("a.py", "main\n");
    r.commit("main");
    let out = r.try_git(&["merge", "-q", "other"]);
    assert!(!out.status.success(), "the merge should conflict");
    let repo = Repo::discover(&r.path).unwrap();
    let st = repo.state().unwrap();
    assert_eq!(
        st.in_progress,
        Some(InProgress::Merge {
            heads: vec![oid(&other)]
        })
    );
    assert!(!st.head_is_merge());
    r.write("a.py", "resolved\n");
    r.git(&["add", "a.py"]);
    r.git(&["commit", "-q", "--no-edit"]);
    let st = repo.state().unwrap();
    assert_eq!(st.in_progress, None);
    assert!(st.head_is_merge());
    assert_eq!(st.head_parents.len(), 2);
    assert_eq!(st.head_parents[1], oid(&other));
}

#[test]
fn state_rebase_in_progress_then_finished() {
    let r = TestRepo::new();
    r.write("a.py", "base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "topic"]);
    r.write("a.py", "topic\n");
    let topic = r.commit("topic");
    r.git(&["checkout", "-q", "main"]);
    r.write("a.py", "main\n");
    let main = r.commit("main");
    r.git(&["checkout", "-q", "topic"]);
    let out = r.try_git(&["rebase", "main"]);
    assert!(!out.status.success(), "the rebase should stop");
    let repo = Repo::discover(&r.path).unwrap();
    let st = repo.state().unwrap();
    match &st.in_progress {
        Some(InProgress::Rebase(info)) => {
            assert_eq!(info.onto, Some(oid(&main)));
            assert_eq!(info.orig_head, Some(oid(&topic)));
            assert_eq!(info.head_name.as_deref(), Some("topic"));
        }
        other => panic!("{other:?}"),
    }
    assert!(st.is_detached());
    r.write("a.py", "resolved\n");
    r.git(&["add", "a.py"]);
    r.git(&["-c", "core.editor=true", "rebase", "--continue"]);
    let st = repo.state().unwrap();
    assert_eq!(st.in_progress, None);
    assert_eq!(st.head.branch.as_deref(), Some("topic"));
    let jr = st.just_rebased.expect("just rebased");
    assert_eq!(jr.orig_head, Some(oid(&topic)));
    assert_eq!(jr.onto, Some(oid(&main)));
    assert_eq!(jr.head_name.as_deref(), Some("topic"));
    // Any later move of HEAD ends "just rebased".
    r.write("b.py", "b\n");
    r.commit("after");
    assert_eq!(repo.state().unwrap().just_rebased, None);
}

#[test]
fn state_cherry_pick_in_progress() {
    let r = TestRepo::new();
    r.write("a.py", "base\n");
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "other"]);
    r.write("a.py", "other\n");
    let pick = r.commit("other");
    r.git(&["checkout", "-q", "main"]);
    r.write("a.py", "main\n");
    r.commit("main");
    let out = r.try_git(&["cherry-pick", &pick]);
    assert!(!out.status.success());
    let repo = Repo::discover(&r.path).unwrap();
    assert_eq!(
        repo.state().unwrap().in_progress,
        Some(InProgress::CherryPick { head: oid(&pick) })
    );
}

#[test]
fn standpoint_order_and_upstream() {
    use crate::core::standpoint::How;
    let r = TestRepo::new();
    r.write("a.py", "1\n");
    r.commit("c1");
    r.git(&["branch", "develop"]);
    let repo = Repo::discover(&r.path).unwrap();
    let base = |repo: &Repo, cfg: Option<&str>| {
        repo.standpoint(None, cfg)
            .map(|(r, how)| (r.rev, how))
            .map_err(|e| e.message)
    };
    assert_eq!(
        base(&repo, Some("develop")).unwrap(),
        ("develop".to_string(), How::Configured)
    );
    assert_eq!(
        base(&repo, None).unwrap(),
        ("main".to_string(), How::Fallback)
    );
    r.git(&["branch", "-m", "main", "master"]);
    assert_eq!(base(&repo, None).unwrap().0, "master");
    r.git(&["branch", "-m", "master", "trunk"]);
    assert!(base(&repo, None).is_err());

    // A clone: origin/HEAD, then the branch's upstream.
    r.git(&["branch", "-m", "trunk", "main"]);
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
    r.git_in(&clone, &["checkout", "-q", "-b", "work"]);
    let repo = Repo::discover(&clone).unwrap();
    r.git_in(&clone, &["branch", "-D", "main"]);
    assert_eq!(
        base(&repo, None).unwrap(),
        ("origin/main".to_string(), How::OriginHead)
    );
    r.git(&["branch", "release"]);
    r.git_in(&clone, &["fetch", "-q", "origin"]);
    r.git_in(
        &clone,
        &["branch", "-q", "--set-upstream-to", "origin/release"],
    );
    assert_eq!(
        base(&repo, None).unwrap(),
        ("origin/release".to_string(), How::Upstream)
    );
    let st = repo.state().unwrap();
    assert_eq!(st.upstream.as_deref(), Some("origin/release"));
    assert_eq!(st.head.branch.as_deref(), Some("work"));
    assert_eq!(repo.own_remote_copy(), None);

    // A branch tracking its own remote copy: not upstream.
    r.git(&["branch", "work"]);
    r.git_in(&clone, &["fetch", "-q", "origin"]);
    r.git_in(
        &clone,
        &["branch", "-q", "--set-upstream-to", "origin/work"],
    );
    assert_eq!(
        base(&repo, None).unwrap(),
        ("origin/main".to_string(), How::OriginHead)
    );
    assert_eq!(
        repo.own_remote_copy().as_deref(),
        Some("refs/remotes/origin/work")
    );

    r.git_in(&clone, &["remote", "set-head", "origin", "-d"]);
    r.git_in(&clone, &["branch", "-q", "--unset-upstream"]);
    assert_eq!(
        base(&repo, None).unwrap(),
        ("origin/main".to_string(), How::Fallback)
    );
}

#[test]
fn published_paths_and_commits() {
    let r = TestRepo::new();
    r.write("app/migrations/0001_initial.py", "one\n");
    let c1 = r.commit("c1");
    r.git(&["tag", "v1"]);
    r.write("app/migrations/0002_second.py", "two\n");
    let c2 = r.commit("c2");
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
    let cl = r.at(&clone);
    cl.write("app/migrations/0003_local.py", "three\n");
    let c3 = cl.commit("c3");
    cl.write("app/migrations/0002_second.py", "two changed\n");
    let c4 = cl.commit("c4");
    let repo = Repo::discover(&clone).unwrap();
    assert!(repo.is_published(oid(&c1)).unwrap());
    assert!(repo.is_published(oid(&c2)).unwrap());
    assert!(!repo.is_published(oid(&c3)).unwrap());
    let paths = [
        "app/migrations/0001_initial.py",
        "app/migrations/0002_second.py",
        "app/migrations/0003_local.py",
    ];
    let got = repo.published_paths(oid(&c4), &paths).unwrap();
    assert_eq!(
        got.iter().map(String::as_str).collect::<Vec<_>>(),
        paths[..2].to_vec()
    );
    // Head itself published: everything it has is.
    let got = repo.published_paths(oid(&c2), &paths).unwrap();
    assert_eq!(got.len(), 2);
    // A file not in head's history at all (the work tree's) is not.
    assert!(repo
        .published_paths(oid(&c4), &["app/migrations/0004_new.py"])
        .unwrap()
        .is_empty());

    let origin_main = repo.resolve("origin/main").unwrap().oid;
    assert_eq!(
        repo.commit_adding("app/migrations/0003_local.py", oid(&c4), Some(origin_main))
            .unwrap(),
        Some(oid(&c3))
    );
    assert_eq!(
        repo.commit_adding("app/migrations/0002_second.py", oid(&c4), Some(origin_main))
            .unwrap(),
        None
    );
    assert_eq!(
        repo.commit_adding("app/migrations/0002_second.py", oid(&c4), None)
            .unwrap(),
        Some(oid(&c2))
    );
}

/// Thousands of tags, on a history where head merged published work in
/// and has its own on top: what head's own commits added is not published,
/// what came in through a published commit is — also a file that the tips
/// have since deleted, and not a file of the same name that only another
/// remote branch added on its own.
#[test]
fn published_paths_follow_history_not_tip_trees() {
    let r = TestRepo::new();
    r.write("app/migrations/0001_initial.py", "one\n");
    r.commit("c1");
    // A tag on every commit of a long line (dated as the other commits).
    let mut fast = String::new();
    for i in 0..2000 {
        fast.push_str(&format!(
            "commit refs/heads/main\ncommitter t <t@e> 1704110400 +0000\ndata 1\nx\nfrom refs/heads/main^0\nM 100644 inline notes.txt\ndata {}\n{i}\n\nreset refs/tags/t{i}\nfrom refs/heads/main^0\n\n",
            i.to_string().len() + 1
        ));
    }
    let mut child = super::testutil::git_command(&r.path, &r.home)
        .args(["fast-import", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), fast.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    r.git(&["reset", "-q", "--hard", "main"]);
    r.git(&["tag", "-a", "-m", "release", "v1"]);
    // Published later: 0002 on main, then deleted there.
    r.write("app/migrations/0002_merged.py", "two\n");
    r.commit("c2");
    r.git(&["tag", "v2"]);
    r.remove("app/migrations/0002_merged.py");
    r.commit("main: drop 0002");
    r.git(&["tag", "v3"]);
    // Another line adds a file of the name ours will have.
    r.git(&["checkout", "-q", "-b", "other", "v1"]);
    r.write("app/migrations/0003_ours.py", "theirs\n");
    r.commit("other: 0003");
    r.git(&["tag", "other-tip"]);
    // Ours: forked before 0002, merges v2 in, adds 0003 of its own.
    r.git(&["checkout", "-q", "-b", "feature", "v1"]);
    r.git(&["merge", "-q", "--no-edit", "v2"]);
    r.write("app/migrations/0003_ours.py", "ours\n");
    let head = r.commit("feature: 0003");
    let repo = Repo::discover(&r.path).unwrap();
    assert_eq!(repo.raw().tag_names(None).unwrap().len(), 2004);
    let paths = [
        "app/migrations/0001_initial.py",
        "app/migrations/0002_merged.py",
        "app/migrations/0003_ours.py",
    ];
    assert_eq!(
        repo.published_paths(oid(&head), &paths).unwrap(),
        paths[..2]
            .iter()
            .map(|p| p.to_string())
            .collect::<BTreeSet<_>>()
    );
    assert!(!repo.is_published(oid(&head)).unwrap());
    assert!(repo
        .is_published(repo.resolve("t1000").unwrap().oid)
        .unwrap());
    // Once a tag holds head, all of it is published.
    r.git(&["tag", "-a", "-m", "shipped", "v4", "feature"]);
    let repo = Repo::discover(&r.path).unwrap();
    assert_eq!(repo.published_paths(oid(&head), &paths).unwrap().len(), 3);
}

#[test]
fn lists_branches_by_glob() {
    let r = TestRepo::new();
    r.write("a.py", "1\n");
    r.commit("c1");
    r.git(&["branch", "feature/a"]);
    r.git(&["branch", "feature/b"]);
    r.git(&["branch", "release-1"]);
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
    let repo = Repo::discover(&clone).unwrap();
    let names = |globs: &[&str]| -> Vec<String> {
        let g: Vec<String> = globs.iter().map(|s| s.to_string()).collect();
        repo.list_branches(&g)
            .unwrap()
            .into_iter()
            .map(|b| b.name)
            .collect()
    };
    assert_eq!(
        names(&[]),
        [
            "main",
            "origin/feature/a",
            "origin/feature/b",
            "origin/main",
            "origin/release-1"
        ]
    );
    assert_eq!(
        names(&["origin/feature/*"]),
        ["origin/feature/a", "origin/feature/b"]
    );
    assert_eq!(names(&["*release*", "main"]), ["main", "origin/release-1"]);
    assert_eq!(names(&["refs/heads/*"]), ["main"]);
    let all = repo.list_branches(&[]).unwrap();
    assert!(all
        .iter()
        .all(|b| b.remote == b.refname.starts_with("refs/remotes/")));
    assert_eq!(
        repo.list_branches(&["[".to_string()]).unwrap_err().exit,
        Exit::Usage
    );
}

/// Timings on 10,000 migration files (run with `--ignored --nocapture`,
/// preferably in release mode).
#[test]
#[ignore]
fn perf_10000_files() {
    use crate::adapters::store::parse_cache::{cache_file, CachingReader};
    use crate::core::config::Config;
    use crate::core::load::{load_project, LoadOptions, MigrationReader, PlainReader};
    use rayon::prelude::*;
    use std::io::{Read, Write};
    use std::time::Instant;

    let r = TestRepo::new();
    let mut paths = Vec::new();
    for app in 0..50 {
        r.write(&format!("app{app}/__init__.py"), "");
        r.write(&format!("app{app}/migrations/__init__.py"), "");
        for i in 0..200 {
            let p = format!("app{app}/migrations/{i:04}_step.py");
            let deps: Vec<(String, String)> = if i == 0 {
                vec![]
            } else {
                vec![(format!("app{app}"), format!("{:04}_step", i - 1))]
            };
            let deps: Vec<(&str, &str)> =
                deps.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let ops = format!(
                "        migrations.AddField(\n            model_name='model{i}',\n            name='field_{app}_{i}',\n            field=models.CharField(max_length={i}, default='x', blank=True),\n        ),\n        migrations.AlterField(model_name='model{i}', name='other', field=models.IntegerField(default={app})),\n"
            );
            r.write(&p, &TestRepo::migration(&deps, &ops));
            paths.push(p);
        }
    }
    age_files(&r);
    r.commit("many");
    r.git(&["gc", "-q"]);
    let repo = Repo::discover(&r.path).unwrap();
    let head = repo.resolve("HEAD").unwrap().oid;
    let total_bytes: usize = paths
        .iter()
        .map(|p| std::fs::metadata(r.path.join(p)).unwrap().len() as usize)
        .sum();
    eprintln!("{} files, {} bytes", paths.len(), total_bytes);

    // Blob reads: GitTree (fresh each time: listing included).
    let t = Instant::now();
    let gt = repo.tree(head).unwrap();
    let n: usize = paths.iter().map(|p| gt.read(p).unwrap().len()).sum();
    eprintln!("GitTree sequential read: {:?} ({n} bytes)", t.elapsed());
    let t = Instant::now();
    let gt = repo.tree(head).unwrap();
    let n: usize = paths.par_iter().map(|p| gt.read(p).unwrap().len()).sum();
    eprintln!("GitTree parallel read:   {:?} ({n} bytes)", t.elapsed());

    // git cat-file --batch on the same blob ids.
    let ids: String = paths
        .iter()
        .map(|p| format!("{}\n", blob_oid(&gt.blob_id(p).unwrap())))
        .collect();
    let t = Instant::now();
    let mut child = super::testutil::git_command(&r.path, &r.home)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()).unwrap());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    child.wait().unwrap();
    eprintln!(
        "git cat-file --batch:    {:?} ({} bytes)",
        t.elapsed(),
        out.len()
    );

    // Work tree: index stat check.
    let t = Instant::now();
    let wt = repo.worktree_tree().unwrap();
    let open = t.elapsed();
    let known = paths.par_iter().filter(|p| wt.blob_id(p).is_some()).count();
    eprintln!(
        "WorktreeTree: open {:?}, blob_id of all {:?} ({known} from the index)",
        open,
        t.elapsed()
    );
    assert_eq!(known, paths.len());
    let t = Instant::now();
    for p in &paths {
        std::fs::symlink_metadata(r.path.join(p)).unwrap();
    }
    eprintln!("lstat of all, sequential: {:?}", t.elapsed());
    let t = Instant::now();
    let known = paths.iter().filter(|p| wt.blob_id(p).is_some()).count();
    eprintln!("blob_id of all, sequential: {:?} {known}", t.elapsed());

    // Parsing: plain vs cold cache vs warm cache.
    let contents: Vec<Vec<u8>> = paths.iter().map(|p| wt.read(p).unwrap()).collect();
    let t = Instant::now();
    contents.par_iter().for_each(|c| {
        hash_blob(c);
    });
    eprintln!("hash_blob of all:        {:?}", t.elapsed());
    let t = Instant::now();
    contents.par_iter().for_each(|c| {
        crate::core::pyparse::parse_migration_graph(c);
    });
    eprintln!("parse_graph of all (in memory): {:?}", t.elapsed());
    let t = Instant::now();
    paths.par_iter().for_each(|p| {
        PlainReader.parse(&wt, p).unwrap();
    });
    let plain = t.elapsed();
    eprintln!("parse, no cache:         {plain:?}");
    let t = Instant::now();
    let mem = CachingReader::in_memory();
    paths.par_iter().for_each(|p| {
        mem.parse(wt.fs(), p).unwrap();
    });
    eprintln!(
        "parse, cold in-memory cache, no blob ids: {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    paths.par_iter().for_each(|p| {
        PlainReader.parse(&wt, p).unwrap();
    });
    eprintln!("parse, no cache (again): {:?}", t.elapsed());
    let t = Instant::now();
    let kept: Vec<_> = paths
        .par_iter()
        .map(|p| PlainReader.parse(&wt, p).unwrap())
        .collect();
    let plain_kept = t.elapsed();
    eprintln!("parse, no cache, results kept (as the loader does): {plain_kept:?}");
    drop(kept);
    let file = cache_file(&repo.cache_dir());
    let t = Instant::now();
    let c = CachingReader::open(&file);
    let kept: Vec<_> = paths.par_iter().map(|p| c.parse(&wt, p).unwrap()).collect();
    let parsed = t.elapsed();
    c.save().unwrap();
    let cold = t.elapsed();
    drop(kept);
    eprintln!("  cold parse {parsed:?}, save {:?}", cold - parsed);
    eprintln!(
        "parse, cold cache + save: {cold:?} ({:.2}x plain, {:.2}x plain kept), file {} bytes",
        cold.as_secs_f64() / plain.as_secs_f64(),
        cold.as_secs_f64() / plain_kept.as_secs_f64(),
        std::fs::metadata(&file).unwrap().len()
    );
    let t = Instant::now();
    let wt = repo.worktree_tree().unwrap();
    let c = CachingReader::open(&file);
    let opened = t.elapsed();
    paths.par_iter().for_each(|p| {
        c.parse(&wt, p).unwrap();
    });
    c.save().unwrap();
    eprintln!(
        "parse, warm cache:       {:?} (open index + cache {opened:?}); {:?}",
        t.elapsed(),
        c.stats()
    );
    assert_eq!(c.stats().misses, 0);
    let t = Instant::now();
    let c = CachingReader::open(&file);
    paths.par_iter().for_each(|p| {
        c.parse(wt.fs(), p).unwrap();
    });
    eprintln!(
        "parse, warm cache, no blob ids (read + hash): {:?}; {:?}",
        t.elapsed(),
        c.stats()
    );

    // Whole project loads.
    let config = Config::default();
    let cold_file = r.home.join("cold-cache.bin");
    for (what, mode) in [
        ("plain", 0),
        ("cold cache + save", 1),
        ("plain", 0),
        ("warm cache", 2),
    ] {
        let _ = std::fs::remove_file(&cold_file);
        let t = Instant::now();
        let wt = repo.worktree_tree().unwrap();
        let c = CachingReader::open(if mode == 1 { &cold_file } else { &file });
        let reader: &dyn MigrationReader = if mode > 0 { &c } else { &PlainReader };
        let p = load_project(
            &wt,
            &LoadOptions {
                root_name: "",
                config: &config,
                env: None,
                reader,
            },
        );
        c.save().unwrap();
        eprintln!(
            "load_project work tree, {what}: {:?} ({} migrations)",
            t.elapsed(),
            p.migrations.len()
        );
    }
    // With `* text=auto`, blob sizes are checked too.
    r.write(".gitattributes", "* text=auto\n");
    age_files(&r);
    r.commit("attributes");
    let t = Instant::now();
    let wt = repo.worktree_tree().unwrap();
    assert!(wt.conversion_possible());
    let c = CachingReader::open(&file);
    paths.par_iter().for_each(|p| {
        c.parse(&wt, p).unwrap();
    });
    eprintln!(
        "parse, warm cache, with text=auto (read + hash): {:?}; {:?}",
        t.elapsed(),
        c.stats()
    );

    let t = Instant::now();
    let gt = repo.tree(head).unwrap();
    let c = CachingReader::open(&file);
    let p = load_project(
        &gt,
        &LoadOptions {
            root_name: "",
            config: &config,
            env: None,
            reader: &c,
        },
    );
    eprintln!(
        "load_project HEAD, warm cache: {:?} ({} migrations)",
        t.elapsed(),
        p.migrations.len()
    );
}

#[test]
fn submodules_are_listed_not_entered() {
    let r = TestRepo::new();
    let sub = r.sibling("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let s = r.at(&sub);
    s.git(&["init", "-q"]);
    s.write("x.py", "x\n");
    s.commit("sub");
    r.write("a.py", "a\n");
    r.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.to_str().unwrap(),
        "vendored",
    ]);
    age_files(&r);
    let head = r.commit("with a submodule");
    let repo = Repo::discover(&r.path).unwrap();
    let gt = repo.tree(oid(&head)).unwrap();
    let root = gt.list_dir("").unwrap();
    let v = root.iter().find(|e| e.name == "vendored").unwrap();
    assert_eq!(v.kind, EntryKind::Submodule);
    assert!(gt.list_dir("vendored").is_none());
    assert!(!gt.is_dir("vendored") && !gt.is_file("vendored"));
    assert!(gt.read("vendored/x.py").is_err());
    let wt = repo.worktree_tree().unwrap();
    assert_eq!(wt.blob_id("vendored/x.py"), None);
    assert!(wt.blob_id("a.py").is_some());
}

#[test]
fn trees_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<GitTree>();
    check::<WorktreeTree>();
    check::<MergedTree<'static>>();
    check::<crate::adapters::store::parse_cache::CachingReader>();
    fn send<T: Send>() {}
    send::<Repo>();
}

#[test]
fn merged_tree_without_tree_ids() {
    use crate::core::tree::MemTree;
    let mut base = MemTree::new();
    base.add("d/a.py", "a")
        .add("d/b.py", "b")
        .add("e/x.py", "x")
        .add("k.py", "k");
    let mut ours = base.clone();
    ours.add("d/new.py", "new")
        .add("f", "a file")
        .add("k.py", "k ours");
    let mut theirs = MemTree::new();
    theirs.add("f/g.py", "a dir").add("k.py", "k");
    let m = MergedTree::new(&base, &ours, &theirs);
    let got = text(&files(&m));
    let want: BTreeMap<String, String> = [("d/new.py", "new"), ("f", "a file"), ("k.py", "k ours")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(!m.is_dir("e"));
    assert_eq!(m.conflicted_paths(), vec!["f".to_string()]);
    assert_eq!(m.blob_id("k.py"), Some(hash_blob(b"k ours")));
}

#[test]
fn added_or_modified_between_commits() {
    let r = TestRepo::new();
    r.write("backend/app/migrations/0001_initial.py", "1\n");
    r.write("backend/app/migrations/0002_x.py", "2\n");
    r.write("backend2/other.py", "o\n");
    r.write("README", "r\n");
    let a = r.commit("a");
    r.write("backend/app/migrations/0002_x.py", "2 changed\n");
    r.write("backend/app/migrations/0003_new.py", "3\n");
    r.remove("backend/app/migrations/0001_initial.py");
    r.write("backend2/other.py", "o changed\n");
    r.write("README", "r changed\n");
    let b = r.commit("b");
    let repo = Repo::discover(&r.path.join("backend")).unwrap();
    let mut got = repo.added_or_modified(oid(&a), oid(&b)).unwrap();
    got.sort();
    assert_eq!(
        got,
        ["app/migrations/0002_x.py", "app/migrations/0003_new.py"]
    );
}
