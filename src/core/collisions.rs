//! Which refs are about to collide (`djmig scan`): pairs of refs that each
//! add migrations to the same app on top of the same base migration, and
//! a ref and the base itself, when the base added migrations on top of the
//! one the ref builds on since they forked.
//!
//! The decisions only, on what the scan read: each ref's new migration
//! files ([`fold_added`]), the base's migrations, and — through a function
//! the caller gives — whether a ref's migrations directory has a file of
//! the base's. Reading the refs is `commands::scan`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::core::keys::MigrationKey;
use crate::core::load::Project;
use crate::core::pyparse::{DepEntry, ParsedMigration};

/// Per ref (its index) and app: the migrations the ref adds, and the base
/// migrations they follow.
pub type Added = BTreeMap<(usize, String), (BTreeSet<String>, BTreeSet<String>)>;

/// A migration file among a ref's new files: `(ref, app, name, path)`.
pub type Job = (usize, String, String, String);

/// Two refs, or a ref and the base, adding migrations to one app on top of
/// the same base migration.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Collision {
    pub app: String,
    /// The base migration both build on.
    pub after: String,
    /// Two branches; with `with_base`, a branch and the base (as named).
    pub branches: [String; 2],
    /// What each branch adds, in the order of `branches` (for the base:
    /// what it added since it and the branch forked).
    pub adds: [Vec<String>; 2],
    /// The second side is the base itself: the branch conflicts already.
    pub with_base: bool,
}

/// What each ref adds, from its parsed new files (`parsed`, in the order
/// of `jobs`): a file that defines no `Migration` is not one; `follows`
/// says which parents count as the base migrations the ref builds on.
/// Files that cannot be read are warnings named by `ref_name`.
pub fn fold_added(
    jobs: &[Job],
    parsed: &[std::io::Result<Arc<ParsedMigration>>],
    follows: impl Fn(usize, &MigrationKey) -> bool,
    ref_name: impl Fn(usize) -> String,
    warnings: &mut Vec<String>,
) -> Added {
    let mut added = Added::new();
    for ((i, app, name, path), p) in jobs.iter().zip(parsed) {
        let p = match p {
            Ok(p) if p.has_migration_class => p,
            Ok(_) => continue,
            Err(e) => {
                warnings.push(format!("{}: cannot read {path}: {e}", ref_name(*i)));
                continue;
            }
        };
        let entry = added.entry((*i, app.clone())).or_default();
        entry.0.insert(name.clone());
        for d in &p.dependencies {
            if let DepEntry::Key {
                app: a, name: n, ..
            } = d
            {
                let parent = MigrationKey::new(a.value.clone(), n.value.clone());
                if parent.app == *app && follows(*i, &parent) {
                    entry.1.insert(parent.name);
                }
            }
        }
    }
    added
}

/// A ref the scan compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip<Id> {
    pub name: String,
    /// The commit it points at: refs at one commit are one line of work.
    pub commit: Id,
}

/// What [`collisions`] decides on.
pub struct Scan<'a, Id> {
    /// The refs; their index is the one in [`Added`].
    pub refs: &'a [Tip<Id>],
    /// What each ref adds ([`fold_added`]).
    pub added: Added,
    /// Per ref and app: every module in the ref's migrations directory that
    /// the base does not have (migrations or not).
    pub new_modules: &'a BTreeMap<(usize, String), BTreeSet<String>>,
    /// The project at the base.
    pub base: &'a Project,
    /// The base as named (the second side of a collision with it).
    pub base_name: &'a str,
}

/// One ref's (or the refs at one commit's) new migrations in an app, on
/// top of one base migration.
#[derive(Debug, Clone)]
struct Addition<Id> {
    /// The ref's name; `a = origin/a` for refs at one commit.
    branch: String,
    /// The first ref at this commit.
    index: usize,
    commit: Id,
    names: Vec<String>,
}

/// Every collision, sorted. `lacks(ref, key)` says whether the ref's
/// migrations directory lacks the base's migration `key` (asked only of
/// a ref that adds to `key`'s app); its error stops the decision.
pub fn collisions<Id: Clone + PartialEq, E>(
    scan: Scan<'_, Id>,
    mut lacks: impl FnMut(usize, &MigrationKey) -> Result<bool, E>,
) -> Result<Vec<Collision>, E> {
    let children = children_within_apps(scan.base);
    let mut out = Vec::new();
    for ((app, after), adds) in by_attach(scan.refs, scan.added) {
        out.extend(between_refs(&app, &after, &adds, scan.new_modules));
        let key = MigrationKey::new(app.clone(), after.clone());
        let below = below(&children, &key);
        if below.is_empty() {
            continue;
        }
        for x in &adds {
            if !scan.new_modules.contains_key(&(x.index, app.clone())) {
                continue;
            }
            let mut missing = Vec::new();
            for k in &below {
                if lacks(x.index, k)? {
                    missing.push(k.name.clone());
                }
            }
            if missing.is_empty() {
                continue;
            }
            out.push(Collision {
                app: app.clone(),
                after: after.clone(),
                branches: [x.branch.clone(), scan.base_name.to_string()],
                adds: [x.names.clone(), missing],
                with_base: true,
            });
        }
    }
    out.sort();
    Ok(out)
}

/// (app, base migration followed) → the refs adding on top of it; refs at
/// one commit as one.
fn by_attach<Id: Clone + PartialEq>(
    refs: &[Tip<Id>],
    added: Added,
) -> BTreeMap<(String, String), Vec<Addition<Id>>> {
    let mut by_attach: BTreeMap<(String, String), Vec<Addition<Id>>> = BTreeMap::new();
    for ((i, app), (names, parents)) in added {
        let b = &refs[i];
        for after in parents {
            let adds = by_attach.entry((app.clone(), after)).or_default();
            match adds.iter_mut().find(|x| x.commit == b.commit) {
                Some(x) => x.branch = format!("{} = {}", x.branch, b.name),
                None => adds.push(Addition {
                    branch: b.name.clone(),
                    index: i,
                    commit: b.commit.clone(),
                    names: names.iter().cloned().collect(),
                }),
            }
        }
    }
    by_attach
}

/// The pairs of refs that add to `app` on top of `after` and collide:
/// all but those where one has all the other adds (the same work seen
/// twice, or one built on the other: merging both leaves it).
fn between_refs<Id>(
    app: &str,
    after: &str,
    adds: &[Addition<Id>],
    new_modules: &BTreeMap<(usize, String), BTreeSet<String>>,
) -> Vec<Collision> {
    let new_in = |i: usize| new_modules.get(&(i, app.to_string()));
    let has_all = |a: &Addition<Id>, b: &Addition<Id>| {
        new_in(b.index).is_some_and(|n| a.names.iter().all(|m| n.contains(m)))
    };
    let mut out = Vec::new();
    for i in 0..adds.len() {
        for j in i + 1..adds.len() {
            let (x, y) = (&adds[i], &adds[j]);
            if has_all(x, y) || has_all(y, x) {
                continue;
            }
            out.push(Collision {
                app: app.to_string(),
                after: after.to_string(),
                branches: [x.branch.clone(), y.branch.clone()],
                adds: [x.names.clone(), y.names.clone()],
                with_base: false,
            });
        }
    }
    out
}

/// Within each app, the base's migrations that depend on each one.
fn children_within_apps(base: &Project) -> BTreeMap<&MigrationKey, Vec<&MigrationKey>> {
    let mut children: BTreeMap<&MigrationKey, Vec<&MigrationKey>> = BTreeMap::new();
    for (k, m) in &base.migrations {
        for d in &m.dependencies {
            if d.app == k.app {
                children.entry(d).or_default().push(k);
            }
        }
    }
    children
}

/// What follows `key` in the base, within its app.
fn below<'a>(
    children: &BTreeMap<&'a MigrationKey, Vec<&'a MigrationKey>>,
    key: &MigrationKey,
) -> BTreeSet<&'a MigrationKey> {
    let mut below: BTreeSet<&MigrationKey> = BTreeSet::new();
    let mut stack: Vec<&MigrationKey> = children.get(key).cloned().unwrap_or_default();
    while let Some(k) = stack.pop() {
        if below.insert(k) {
            stack.extend(children.get(k).cloned().unwrap_or_default());
        }
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::load::{Migration, Origin};
    use crate::core::pyparse::StrLit;

    fn k(s: &str) -> MigrationKey {
        let (a, n) = s.split_once('.').unwrap();
        MigrationKey::new(a, n)
    }

    /// The base: `blog.0001 ← 0002`, `shop.0001`, plus `extra` (each after
    /// the one before it in its app, the first after `0002`/`0001`).
    fn base(extra: &[&str]) -> Project {
        let mut p = Project::default();
        let mut add = |key: &str, dep: Option<&str>| {
            let key = k(key);
            p.migrations.insert(
                key.clone(),
                Migration {
                    file: format!("{}/migrations/{}.py", key.app, key.name),
                    key,
                    origin: Origin::Project,
                    parsed: Arc::new(Default::default()),
                    dependencies: dep.map(k).into_iter().collect(),
                    replaces: Vec::new(),
                    run_before: Vec::new(),
                    odd: Vec::new(),
                },
            );
        };
        add("blog.0001", None);
        add("blog.0002", Some("blog.0001"));
        add("shop.0001", None);
        let mut last: BTreeMap<String, String> = [
            ("blog".into(), "blog.0002".into()),
            ("shop".into(), "shop.0001".into()),
        ]
        .into();
        for e in extra {
            let app = k(e).app;
            add(e, Some(&last[&app]));
            last.insert(app, e.to_string());
        }
        p
    }

    /// A ref: its name, its commit, what it adds (`(app, names,
    /// parents)`), and the base migrations its directory lacks.
    struct Ref<'a> {
        name: &'a str,
        at: u8,
        adds: &'a [(&'a str, &'a [&'a str], &'a [&'a str])],
        lacks: &'a [&'a str],
    }

    const fn r<'a>(
        name: &'a str,
        at: u8,
        adds: &'a [(&'a str, &'a [&'a str], &'a [&'a str])],
        lacks: &'a [&'a str],
    ) -> Ref<'a> {
        Ref {
            name,
            at,
            adds,
            lacks,
        }
    }

    /// A collision as one line: `app after: a [x, y] / b [z]`, `(base)`
    /// for one with the base.
    fn line(c: &Collision) -> String {
        format!(
            "{} {}: {} [{}] / {} [{}]{}",
            c.app,
            c.after,
            c.branches[0],
            c.adds[0].join(", "),
            c.branches[1],
            c.adds[1].join(", "),
            if c.with_base { " (base)" } else { "" }
        )
    }

    fn decide(base_extra: &[&str], refs: &[Ref]) -> Vec<String> {
        let tips: Vec<Tip<u8>> = refs
            .iter()
            .map(|x| Tip {
                name: x.name.into(),
                commit: x.at,
            })
            .collect();
        let mut added = Added::new();
        let mut new_modules = BTreeMap::new();
        for (i, x) in refs.iter().enumerate() {
            for (app, names, parents) in x.adds {
                let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
                added.insert((i, app.to_string()), (set(names), set(parents)));
                new_modules.insert((i, app.to_string()), set(names));
            }
        }
        let project = base(base_extra);
        let scan = Scan {
            refs: &tips,
            added,
            new_modules: &new_modules,
            base: &project,
            base_name: "main",
        };
        let lacks = |i: usize, key: &MigrationKey| -> Result<bool, ()> {
            Ok(refs[i].lacks.contains(&key.to_string().as_str()))
        };
        collisions(scan, lacks).unwrap().iter().map(line).collect()
    }

    #[test]
    fn which_refs_collide() {
        // (case, what the base added since the refs forked, the refs,
        // the collisions)
        type Case<'a> = (&'a str, &'a [&'a str], &'a [Ref<'a>], &'a [&'a str]);
        let cases: &[Case] = &[
            ("no refs", &[], &[], &[]),
            (
                "one ref alone",
                &[],
                &[r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[])],
                &[],
            ),
            (
                "two refs, two apps: no overlap",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("shop", &["0002_b"], &["0001"])], &[]),
                ],
                &[],
            ),
            (
                "same app, different parents",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("blog", &["0002_b"], &["0001"])], &[]),
                ],
                &[],
            ),
            (
                "same app, same parent",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("blog", &["0003_b", "0004_b"], &["0002"])], &[]),
                ],
                &["blog 0002: a [0003_a] / b [0003_b, 0004_b]"],
            ),
            (
                "three refs on one parent: every pair",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("blog", &["0003_b"], &["0002"])], &[]),
                    r("c", 3, &[("blog", &["0003_c"], &["0002"])], &[]),
                ],
                &[
                    "blog 0002: a [0003_a] / b [0003_b]",
                    "blog 0002: a [0003_a] / c [0003_c]",
                    "blog 0002: b [0003_b] / c [0003_c]",
                ],
            ),
            (
                "refs at one commit are one line of work",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("origin/a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("blog", &["0003_b"], &["0002"])], &[]),
                ],
                &["blog 0002: a = origin/a [0003_a] / b [0003_b]"],
            ),
            (
                "the same work at two commits",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("a-rebased", 2, &[("blog", &["0003_a"], &["0002"])], &[]),
                ],
                &[],
            ),
            (
                "one built on the other",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_a"], &["0002"])], &[]),
                    r("b", 2, &[("blog", &["0003_a", "0004_b"], &["0002"])], &[]),
                ],
                &[],
            ),
            (
                "two apps at once: each app on its own",
                &[],
                &[
                    r(
                        "a",
                        1,
                        &[
                            ("blog", &["0003_a"], &["0002"]),
                            ("shop", &["0002_a"], &["0001"]),
                        ],
                        &[],
                    ),
                    r("b", 2, &[("shop", &["0002_b"], &["0001"])], &[]),
                ],
                &["shop 0001: a [0002_a] / b [0002_b]"],
            ),
            (
                "a merge migration following two parents collides under each",
                &[],
                &[
                    r("a", 1, &[("blog", &["0003_merge"], &["0001", "0002"])], &[]),
                    r("b", 2, &[("blog", &["0002_b"], &["0001"])], &[]),
                    r("c", 3, &[("blog", &["0003_c"], &["0002"])], &[]),
                ],
                &[
                    "blog 0001: a [0003_merge] / b [0002_b]",
                    "blog 0002: a [0003_merge] / c [0003_c]",
                ],
            ),
            (
                "the base added on top of the ref's parent",
                &["blog.0003_main", "blog.0004_main"],
                &[r(
                    "a",
                    1,
                    &[("blog", &["0003_a"], &["0002"])],
                    &["blog.0003_main", "blog.0004_main"],
                )],
                &["blog 0002: a [0003_a] / main [0003_main, 0004_main] (base)"],
            ),
            (
                "the ref has what the base added (it merged the base in)",
                &["blog.0003_main"],
                &[r("a", 1, &[("blog", &["0004_a"], &["0002"])], &[])],
                &[],
            ),
            (
                "the ref lacks only part of it",
                &["blog.0003_main", "blog.0004_main"],
                &[r(
                    "a",
                    1,
                    &[("blog", &["0005_a"], &["0002"])],
                    &["blog.0004_main"],
                )],
                &["blog 0002: a [0005_a] / main [0004_main] (base)"],
            ),
            (
                "the ref builds on the base's last migration",
                &["blog.0003_main"],
                &[r("a", 1, &[("blog", &["0004_a"], &["0003_main"])], &[])],
                &[],
            ),
            (
                "the base added to another app only",
                &["shop.0002_main"],
                &[r(
                    "a",
                    1,
                    &[("blog", &["0003_a"], &["0002"])],
                    &["shop.0002_main"],
                )],
                &[],
            ),
            (
                "two refs and the base on one parent",
                &["blog.0003_main"],
                &[
                    r(
                        "a",
                        1,
                        &[("blog", &["0003_a"], &["0002"])],
                        &["blog.0003_main"],
                    ),
                    r(
                        "b",
                        2,
                        &[("blog", &["0003_b"], &["0002"])],
                        &["blog.0003_main"],
                    ),
                ],
                &[
                    "blog 0002: a [0003_a] / b [0003_b]",
                    "blog 0002: a [0003_a] / main [0003_main] (base)",
                    "blog 0002: b [0003_b] / main [0003_main] (base)",
                ],
            ),
        ];
        for (case, base_extra, refs, expected) in cases {
            assert_eq!(decide(base_extra, refs), *expected, "{case}");
        }
    }

    #[test]
    fn an_error_reading_a_ref_stops_the_decision() {
        let tips = [Tip {
            name: "a".to_string(),
            commit: 1,
        }];
        let added: Added = [(
            (0, "blog".to_string()),
            (["0003_a".to_string()].into(), ["0001".to_string()].into()),
        )]
        .into();
        let new_modules = [((0, "blog".to_string()), ["0003_a".to_string()].into())].into();
        let project = base(&[]);
        let scan = Scan {
            refs: &tips,
            added,
            new_modules: &new_modules,
            base: &project,
            base_name: "main",
        };
        let got = collisions(scan, |_, _| Err("unreadable"));
        assert_eq!(got, Err("unreadable"));
    }

    #[test]
    fn what_each_ref_adds() {
        let parsed = |class: bool, deps: &[(&str, &str)]| {
            let lit = |s: &str| StrLit {
                value: s.to_string(),
                span: None,
            };
            Ok(Arc::new(ParsedMigration {
                has_migration_class: class,
                dependencies: deps
                    .iter()
                    .map(|(a, n)| DepEntry::Key {
                        app: lit(a),
                        name: lit(n),
                        line: 1,
                    })
                    .collect(),
                ..Default::default()
            }))
        };
        let job = |i: usize, name: &str| -> Job {
            (
                i,
                "blog".into(),
                name.into(),
                format!("blog/migrations/{name}.py"),
            )
        };
        let jobs = [
            job(0, "0003_a"),
            job(0, "helpers"),
            job(0, "0004_a"),
            job(1, "0003_b"),
            job(1, "0004_b"),
        ];
        let results = vec![
            // After base's 0002, and another app's migration.
            parsed(true, &[("blog", "0002"), ("shop", "0001")]),
            // No Migration class: not a migration.
            parsed(false, &[("blog", "0001")]),
            // After the ref's own 0003_a: not a base migration.
            parsed(true, &[("blog", "0003_a")]),
            parsed(true, &[("blog", "0002")]),
            Err(std::io::Error::other("damaged")),
        ];
        let mut warnings = Vec::new();
        let base_has = |_: usize, p: &MigrationKey| p.name.len() == 4;
        let added = fold_added(
            &jobs,
            &results,
            base_has,
            |i| format!("ref{i}"),
            &mut warnings,
        );
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let want: Added = [
            (
                (0, "blog".to_string()),
                (set(&["0003_a", "0004_a"]), set(&["0002"])),
            ),
            ((1, "blog".to_string()), (set(&["0003_b"]), set(&["0002"]))),
        ]
        .into();
        assert_eq!(added, want);
        assert_eq!(
            warnings,
            ["ref1: cannot read blog/migrations/0004_b.py: damaged"]
        );
    }
}
