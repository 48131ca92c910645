//! The commit walk and the reference listing, checked against git itself.

use std::collections::HashSet;

use super::commits::{Commits, COMMITS_FILE};
use super::testutil::TestRepo;
use super::*;

fn oid(s: &str) -> Oid {
    Oid::from_str(s).unwrap()
}

/// `git rev-list` of `args`, as a set.
fn rev_list(r: &TestRepo, args: &[&str]) -> HashSet<Oid> {
    let mut a = vec!["rev-list"];
    a.extend_from_slice(args);
    r.git(&a).lines().map(oid).collect()
}

/// A history with merges both ways and dates out of order: main, two
/// feature lines merging main in and each other, a tag on an old commit.
fn tangled() -> TestRepo {
    let r = TestRepo::new();
    let mut n = 0;
    let mut commit = |r: &TestRepo, what: &str, date: i64| {
        n += 1;
        r.write(&format!("f{n}.txt"), what);
        r.git(&["add", "-A"]);
        let d = format!("@{date} +0000");
        let out = super::testutil::git_command(&r.path, &r.home)
            .env("GIT_COMMITTER_DATE", &d)
            .env("GIT_AUTHOR_DATE", &d)
            .args(["commit", "-q", "-m", what])
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    let t0 = 1_700_000_000;
    for i in 0..30 {
        commit(&r, &format!("main {i}"), t0 + i * 100);
        if i == 5 {
            r.git(&["tag", "-a", "-m", "old", "old"]);
        }
    }
    r.git(&["checkout", "-q", "-b", "a", "HEAD~20"]);
    for i in 0..10 {
        // A clock running behind.
        commit(&r, &format!("a {i}"), t0 - 5000 + i * 10);
    }
    r.git(&["merge", "-q", "--no-edit", "main~5"]);
    r.git(&["checkout", "-q", "-b", "b", "main~12"]);
    for i in 0..6 {
        commit(&r, &format!("b {i}"), t0 + 4000 + i * 10);
    }
    r.git(&["merge", "-q", "--no-edit", "a"]);
    commit(&r, "b last", t0 + 9000);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-edit", "a~3"]);
    commit(&r, "main last", t0 + 9500);
    r
}

#[test]
fn the_walk_finds_what_rev_list_finds() {
    let r = tangled();
    let repo = Repo::discover(&r.path).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["b"], &["main"]),
        (&["main"], &["b"]),
        (&["a"], &["main"]),
        (&["b"], &["old", "a~2"]),
        (&["b", "main"], &["a"]),
        (&["a"], &["b"]),
        (&["b"], &[]),
        (&["old"], &["main"]),
    ];
    for round in 0..2 {
        for (from, hidden) in cases {
            let res = |revs: &[&str]| -> Vec<Oid> {
                revs.iter().map(|x| repo.resolve(x).unwrap().oid).collect()
            };
            let mut c = repo.commits();
            let got = c.exclusive(&res(from), &res(hidden)).unwrap();
            c.save();
            let mut args: Vec<&str> = from.to_vec();
            if !hidden.is_empty() {
                args.push("--not");
                args.extend_from_slice(hidden);
            }
            assert_eq!(
                got,
                rev_list(&r, &args),
                "round {round}: {from:?} --not {hidden:?}"
            );
        }
        // The second round reads every commit from the kept file.
        assert!(repo.cache_dir().join(COMMITS_FILE).is_file());
    }
}

#[test]
fn the_kept_commits_are_right_and_a_bad_file_is_ignored() {
    let r = tangled();
    let repo = Repo::discover(&r.path).unwrap();
    let head = repo.resolve("b").unwrap().oid;
    let mut c = repo.commits();
    let fresh = c.get(head).unwrap().unwrap();
    let c1 = repo.raw().find_commit(head).unwrap();
    assert_eq!(fresh.tree, c1.tree_id());
    assert_eq!(fresh.time, c1.time().seconds());
    assert_eq!(fresh.parents, c1.parent_ids().collect::<Vec<_>>());
    c.save();
    let mut again = Commits::open(repo.raw(), &repo.cache_dir());
    assert_eq!(again.get(head).unwrap(), Some(fresh.clone()));
    // A tree is no commit; an id that is nowhere is an error.
    assert_eq!(again.get(c1.tree_id()).unwrap(), None);
    assert!(again.get(Oid::from_bytes(&[7; 20]).unwrap()).is_err());
    // Damaged: ignored, and the commit read from git.
    let file = repo.cache_dir().join(COMMITS_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let mut damaged = Commits::open(repo.raw(), &repo.cache_dir());
    assert_eq!(damaged.get(head).unwrap(), Some(fresh));
}

#[test]
fn refs_are_listed_as_git_lists_them() {
    let r = tangled();
    r.git(&["tag", "light", "a"]);
    r.git(&["tag", "-a", "-m", "tree", "of-a-tree", "main^{tree}"]);
    for i in 0..5 {
        r.git(&[
            "update-ref",
            &format!("refs/pull/{i}/head"),
            &format!("b~{i}"),
        ]);
    }
    r.git(&["update-ref", "refs/remotes/origin/main", "main"]);
    r.git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);
    r.git(&["pack-refs", "--all"]);
    // Loose over packed: a moved tag, a new annotated one, a new pull ref.
    r.git(&["tag", "-f", "-a", "-m", "moved", "old", "main~2"]);
    r.git(&["tag", "-a", "-m", "new", "new-tag", "b"]);
    r.git(&["update-ref", "refs/pull/9/head", "a"]);
    let repo = Repo::discover(&r.path).unwrap();
    let prefixes = ["refs/tags/", "refs/pull/", "refs/remotes/"];
    let got = repo.refs_under(&prefixes).unwrap();
    let mut want: Vec<(String, Oid)> = r
        .git(&[
            "for-each-ref",
            "--format=%(refname)|%(objectname)|%(*objectname)|%(symref)|",
            "refs/tags",
            "refs/pull",
            "refs/remotes",
        ])
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            if !f[3].is_empty() {
                return None;
            }
            let peeled = if f[2].is_empty() { f[1] } else { f[2] };
            Some((f[0].to_string(), oid(peeled)))
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(got.iter().any(|(n, _)| n == "refs/pull/9/head"));
    assert!(!got.iter().any(|(n, _)| n.ends_with("/HEAD")));
    // A prefix inside a directory lists only what starts with it.
    let pulls = repo.refs_under(&["refs/pull/1"]).unwrap();
    assert_eq!(
        pulls.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["refs/pull/1/head"]
    );
}
