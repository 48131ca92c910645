//! Stranded migrations: after a branch switch, the migrations the database
//! has applied that the new checkout does not have — Django cannot
//! unapply them from here, as their files are gone — where each app goes
//! back to, and on which earlier checkout to do it.
//!
//! The decisions only; asking the database, finding the checkouts and
//! saying what to run are `commands::stranded`'s.

use std::collections::{BTreeMap, BTreeSet};

use crate::core::graph::MigrationGraph;
use crate::core::keys::MigrationKey;
use crate::core::load::Project;

/// Migrations applied to the database that a project does not have, by
/// app: applied names of the candidate apps that are neither a migration of
/// the project nor replaced by one of its squashes.
pub fn stranded(
    project: &Project,
    candidate_apps: &BTreeSet<String>,
    applied: &[MigrationKey],
) -> BTreeMap<String, Vec<String>> {
    let mut known: BTreeSet<&MigrationKey> = project.migrations.keys().collect();
    for m in project.migrations.values() {
        known.extend(m.replaces.iter());
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in applied {
        if candidate_apps.contains(&k.app) && !known.contains(k) {
            out.entry(k.app.clone()).or_default().push(k.name.clone());
        }
    }
    out
}

/// Where to migrate an app back to on the previous branch: its latest
/// migration in `graph` (the new checkout's) that is applied, or `zero`.
/// Of two applied migrations neither below the other, the greater name.
pub fn last_common(graph: &MigrationGraph, app: &str, applied: &BTreeSet<&MigrationKey>) -> String {
    let here: Vec<MigrationKey> = graph
        .app_nodes(app)
        .into_iter()
        .filter(|k| applied.contains(k))
        .collect();
    let below: BTreeSet<MigrationKey> = here.iter().flat_map(|k| graph.ancestors(k)).collect();
    here.into_iter()
        .filter(|k| !below.contains(k))
        .map(|k| k.name)
        .max()
        .unwrap_or_else(|| "zero".into())
}

/// Where to unapply the stranded migrations ([`plan`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// A checkout (its index among the candidates) and the apps to migrate
    /// back there, in the candidates' order.
    pub groups: Vec<(usize, Vec<String>)>,
    /// The apps no candidate has every file of.
    pub nowhere: Vec<String>,
}

/// Where to unapply each app's stranded migrations: of `candidates`
/// checkouts (best first, each once), the first that has every one of the
/// app's `files` (`has(candidate, file)`); apps grouped by it.
pub fn plan(
    files: &BTreeMap<String, Vec<String>>,
    candidates: usize,
    has: impl Fn(usize, &str) -> bool,
) -> Plan {
    let mut out = Plan::default();
    for (app, app_files) in files {
        match (0..candidates).find(|&c| app_files.iter().all(|f| has(c, f))) {
            Some(c) => match out.groups.iter_mut().find(|(g, _)| *g == c) {
                Some((_, apps)) => apps.push(app.clone()),
                None => out.groups.push((c, vec![app.clone()])),
            },
            None => out.nowhere.push(app.clone()),
        }
    }
    out.groups.sort_by_key(|(c, _)| *c);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::graph::build_graph;
    use crate::core::load::Migration;
    use std::sync::Arc;

    fn k(s: &str) -> MigrationKey {
        let (a, n) = s.split_once('.').unwrap();
        MigrationKey::new(a, n)
    }

    fn keys(v: &[&str]) -> Vec<MigrationKey> {
        v.iter().map(|s| k(s)).collect()
    }

    /// A project of `(key, dependencies, replaces)`.
    fn project(specs: &[(&str, &[&str], &[&str])]) -> Project {
        let mut p = Project::default();
        for (key, deps, reps) in specs {
            let key = k(key);
            p.migrations.insert(
                key.clone(),
                Migration {
                    file: format!("{}/migrations/{}.py", key.app, key.name),
                    key,
                    origin: crate::core::load::Origin::Project,
                    parsed: Arc::new(Default::default()),
                    dependencies: keys(deps),
                    replaces: keys(reps),
                    run_before: Vec::new(),
                    odd: Vec::new(),
                },
            );
        }
        p
    }

    type Specs<'a> = &'a [(&'a str, &'a [&'a str], &'a [&'a str])];

    #[test]
    fn what_the_database_has_and_the_checkout_lacks() {
        let linear: Specs = &[("blog.0001", &[], &[]), ("blog.0002", &["blog.0001"], &[])];
        let squashed: Specs = &[(
            "blog.0001_squashed_0003",
            &[],
            &["blog.0001", "blog.0002", "blog.0003"],
        )];
        // (case, the checkout, the apps looked at, applied, expected)
        type Case<'a> = (
            &'a str,
            Specs<'a>,
            &'a [&'a str],
            &'a [&'a str],
            &'a [(&'a str, &'a [&'a str])],
        );
        let cases: &[Case] = &[
            ("nothing applied", linear, &["blog"], &[], &[]),
            (
                "everything applied is here",
                linear,
                &["blog"],
                &["blog.0001", "blog.0002"],
                &[],
            ),
            (
                "a migration of the other branch",
                linear,
                &["blog"],
                &["blog.0001", "blog.0002", "blog.0003_other"],
                &[("blog", &["0003_other"])],
            ),
            (
                "in the order the database lists them",
                linear,
                &["blog"],
                &["blog.0004_b", "blog.0001", "blog.0003_a"],
                &[("blog", &["0004_b", "0003_a"])],
            ),
            (
                "an app not looked at (not the project's) is left alone",
                linear,
                &["blog"],
                &["auth.0001_initial", "admin.0003_x"],
                &[],
            ),
            (
                "an app that exists only on the other branch",
                linear,
                &["blog", "shop"],
                &["shop.0001_initial", "shop.0002_x"],
                &[("shop", &["0001_initial", "0002_x"])],
            ),
            (
                "replaced by a squash the checkout has",
                squashed,
                &["blog"],
                &["blog.0001", "blog.0002", "blog.0003"],
                &[],
            ),
            (
                "after the squash: not replaced",
                squashed,
                &["blog"],
                &["blog.0001_squashed_0003", "blog.0004_new"],
                &[("blog", &["0004_new"])],
            ),
            (
                "several apps",
                linear,
                &["blog", "shop"],
                &["shop.0009_x", "blog.0003_y"],
                &[("blog", &["0003_y"]), ("shop", &["0009_x"])],
            ),
        ];
        for (case, specs, apps, applied, expected) in cases {
            let apps: BTreeSet<String> = apps.iter().map(|a| a.to_string()).collect();
            let got = stranded(&project(specs), &apps, &keys(applied));
            let want: BTreeMap<String, Vec<String>> = expected
                .iter()
                .map(|(a, ns)| (a.to_string(), ns.iter().map(|n| n.to_string()).collect()))
                .collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn where_an_app_goes_back_to() {
        let linear: Specs = &[
            ("blog.0001", &[], &[]),
            ("blog.0002", &["blog.0001"], &[]),
            ("blog.0003", &["blog.0002"], &[]),
        ];
        let forked: Specs = &[
            ("blog.0001", &[], &[]),
            ("blog.0002_a", &["blog.0001"], &[]),
            ("blog.0002_b", &["blog.0001"], &[]),
        ];
        // (case, the checkout, applied, expected)
        let cases: &[(&str, Specs, &[&str], &str)] = &[
            ("nothing applied", linear, &[], "zero"),
            ("only another app's", linear, &["shop.0001"], "zero"),
            (
                "all applied",
                linear,
                &["blog.0001", "blog.0002", "blog.0003"],
                "0003",
            ),
            (
                "the branch's latest applied",
                linear,
                &["blog.0001", "blog.0002", "blog.0003_other"],
                "0002",
            ),
            (
                "the first only",
                linear,
                &["blog.0001", "blog.0002_other"],
                "0001",
            ),
            (
                "two applied leaves: the greater name",
                forked,
                &["blog.0001", "blog.0002_a", "blog.0002_b"],
                "0002_b",
            ),
            (
                "one of two leaves",
                forked,
                &["blog.0001", "blog.0002_a"],
                "0002_a",
            ),
        ];
        for (case, specs, applied, expected) in cases {
            let graph = build_graph(&project(specs), false).graph;
            let applied = keys(applied);
            let applied: BTreeSet<&MigrationKey> = applied.iter().collect();
            assert_eq!(last_common(&graph, "blog", &applied), *expected, "{case}");
        }
    }

    #[test]
    fn which_checkout_each_app_is_unapplied_on() {
        // Three checkouts, best first, and the files each has.
        let has_files: [&[&str]; 3] = [
            &["blog/0004.py"],
            &["blog/0004.py", "blog/0005.py", "tags/0002.py"],
            &["shop/0002.py"],
        ];
        let has = |c: usize, f: &str| has_files[c].contains(&f);
        // (case, each app's files, expected groups, expected nowhere)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a [&'a str])],
            &'a [(usize, &'a [&'a str])],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            ("nothing stranded", &[], &[], &[]),
            (
                "the first has it",
                &[("blog", &["blog/0004.py"])],
                &[(0, &["blog"])],
                &[],
            ),
            (
                "the first lacks one of the app's files",
                &[("blog", &["blog/0004.py", "blog/0005.py"])],
                &[(1, &["blog"])],
                &[],
            ),
            (
                "apps on one checkout are grouped",
                &[("blog", &["blog/0005.py"]), ("tags", &["tags/0002.py"])],
                &[(1, &["blog", "tags"])],
                &[],
            ),
            (
                "groups in the candidates' order, whatever the apps' order",
                &[("a_shop", &["shop/0002.py"]), ("blog", &["blog/0004.py"])],
                &[(0, &["blog"]), (2, &["a_shop"])],
                &[],
            ),
            (
                "no checkout has it",
                &[("lost", &["lost/0009.py"]), ("blog", &["blog/0004.py"])],
                &[(0, &["blog"])],
                &["lost"],
            ),
            (
                "files split over two checkouts are nowhere",
                &[("blog", &["blog/0005.py", "shop/0002.py"])],
                &[],
                &["blog"],
            ),
        ];
        for (case, files, groups, nowhere) in cases {
            let files: BTreeMap<String, Vec<String>> = files
                .iter()
                .map(|(a, fs)| (a.to_string(), fs.iter().map(|f| f.to_string()).collect()))
                .collect();
            let want = Plan {
                groups: groups
                    .iter()
                    .map(|(c, apps)| (*c, apps.iter().map(|a| a.to_string()).collect()))
                    .collect(),
                nowhere: nowhere.iter().map(|a| a.to_string()).collect(),
            };
            assert_eq!(plan(&files, has_files.len(), has), want, "{case}");
        }
    }
}
