//! The rules only a comparison with the base can check: migrations the base
//! already has (deployed) that the branch edits, renames or deletes, and
//! new migrations whose numbers say the wrong thing. Plain data in: which
//! files the branch added, changed and deleted, and the base's names.

use std::collections::{BTreeMap, BTreeSet};

use super::finding::Finding;
use super::pysrc::same_meaning;
use super::rules::{Rule, Severity};
use crate::core::escape::shell_line;
use crate::core::rewrite::parse_number;

/// One migration file on one side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SideFile {
    pub app: String,
    pub name: String,
    /// Project-relative path.
    pub file: String,
    /// The git blob id of its bytes.
    pub blob: [u8; 20],
}

/// A migration the merge base has and the branch changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub app: String,
    pub name: String,
    pub file: String,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

/// A migration the merge base has, under another name in the branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub app: String,
    pub from: String,
    pub from_file: String,
    pub to: String,
    pub to_file: String,
}

/// A migration the merge base has and the branch deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub app: String,
    pub name: String,
    pub file: String,
    /// A squashed migration in the branch that lists it in `replaces`.
    pub replaced_by: Option<String>,
}

/// What the branch changed relative to its merge base with the base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branch {
    /// The base as the user named it (`origin/main`).
    pub base: String,
    /// The merge base's short id.
    pub merge_base: String,
    /// The project root's path from the repository top (`""` at the top),
    /// for the git commands suggested.
    pub repo_prefix: String,
    /// New migrations (not renames of deployed ones).
    pub added: Vec<SideFile>,
    pub edited: Vec<Edited>,
    pub renamed: Vec<Renamed>,
    pub deleted: Vec<Deleted>,
    /// Per app, the migration names the base has that the branch did not
    /// add.
    pub base_names: BTreeMap<String, Vec<String>>,
    /// Files of `added` that are squashed migrations (`replaces`): they
    /// take the number of the last migration they replace, so the
    /// numbering rules leave them alone.
    pub squashes: BTreeSet<String>,
}

/// Split deleted and added files into renames (same app and same bytes,
/// or the same name after the number) and what is left of each.
pub fn pair_renames(
    deleted: Vec<SideFile>,
    added: Vec<SideFile>,
) -> (Vec<Renamed>, Vec<SideFile>, Vec<SideFile>) {
    let mut added: Vec<Option<SideFile>> = added.into_iter().map(Some).collect();
    let mut renamed = Vec::new();
    let mut left = Vec::new();
    let suffix = |n: &str| {
        n.trim_start_matches(|c: char| c.is_ascii_digit())
            .to_string()
    };
    for d in deleted {
        let same_bytes = added.iter().position(|a| {
            a.as_ref()
                .is_some_and(|a| a.app == d.app && a.blob == d.blob)
        });
        let same_name = || {
            let s = suffix(&d.name);
            (s.len() > 1).then(|| {
                added.iter().position(|a| {
                    a.as_ref()
                        .is_some_and(|a| a.app == d.app && suffix(&a.name) == s)
                })
            })?
        };
        match same_bytes.or_else(same_name) {
            Some(i) => {
                let a = added[i].take().expect("a file paired once");
                renamed.push(Renamed {
                    app: d.app,
                    from: d.name,
                    from_file: d.file,
                    to: a.name,
                    to_file: a.file,
                });
            }
            None => left.push(d),
        }
    }
    (renamed, left, added.into_iter().flatten().collect())
}

/// The 1-based line of the first line that differs between two versions
/// of a file.
pub fn first_changed_line(before: &[u8], after: &[u8]) -> u32 {
    let mut line = 1;
    for (a, b) in before.iter().zip(after) {
        if a != b {
            return line;
        }
        if *a == b'\n' {
            line += 1;
        }
    }
    line
}

/// The findings of the git-aware rules.
pub fn review_branch(b: &Branch) -> Vec<Finding> {
    let mut out = Vec::new();
    let on_base = format!("{} (merge base {})", b.base, b.merge_base);
    let repo_path = |f: &str| {
        if b.repo_prefix.is_empty() {
            f.to_string()
        } else {
            format!("{}/{f}", b.repo_prefix)
        }
    };
    let restore = |f: &str| shell_line(&["git", "checkout", &b.merge_base, "--", &repo_path(f)]);
    for e in &b.edited {
        let line = first_changed_line(&e.before, &e.after);
        let mut f = Finding::new(Rule::DeployedEdited, &e.file, (line, 1));
        if same_meaning(&e.before, &e.after) {
            f.severity = Severity::Info;
            f = f
                .message(format!(
                    "{}.{} exists on {on_base} and is edited, but only in formatting or comments: \
                     what Django runs is the same",
                    e.app, e.name
                ))
                .fix(format!(
                    "nothing to worry about; to keep deployed files untouched: {}",
                    restore(&e.file)
                ));
        } else {
            f = f
                .message(format!(
                    "{}.{} exists on {on_base}, so it is deployed: databases that applied it never \
                     run it again, and the edit reaches only new databases",
                    e.app, e.name
                ))
                .fix(format!(
                    "put it back as it is on the base ({}) and make the change in a new migration \
                     (makemigrations)",
                    restore(&e.file)
                ));
        }
        out.push(f);
    }
    for r in &b.renamed {
        out.push(
            Finding::new(Rule::DeployedRenamed, &r.to_file, (1, 1))
                .message(format!(
                    "{}.{} (on {on_base}) is renamed to {}: databases that applied {} see {} as \
                     a new migration and apply it again, or fail",
                    r.app, r.from, r.to, r.from, r.to
                ))
                .fix(format!(
                    "keep the deployed name: rename the file back to {}.py (and the references \
                     to it); a new migration goes after it",
                    r.from
                )),
        );
    }
    for d in &b.deleted {
        let mut f = Finding::new(Rule::DeployedDeleted, &d.file, (1, 1));
        f = match &d.replaced_by {
            Some(squash) => {
                f.severity = Severity::Warning;
                f.message(format!(
                    "{}.{} (on {on_base}) is deleted; the squashed migration {squash} replaces \
                     it, which is safe only once every database has applied {squash}",
                    d.app, d.name
                ))
                .fix(format!(
                    "make sure every deployed database has applied {squash} (manage.py \
                     showmigrations) before deleting what it replaces; else keep the file: {}",
                    restore(&d.file)
                ))
            }
            None => f
                .message(format!(
                    "{}.{} (on {on_base}) is deleted: databases that applied it keep its changes, \
                     new databases never get them, and migrations depending on it no longer load",
                    d.app, d.name
                ))
                .fix(format!(
                    "restore it ({}); to retire old migrations, squash them (manage.py \
                     squashmigrations) and delete the originals once every database has applied \
                     the squash",
                    restore(&d.file)
                )),
        };
        out.push(f);
    }
    number_rules(b, &mut out);
    out
}

/// `number-behind-base` and `duplicate-number`.
fn number_rules(b: &Branch, out: &mut Vec<Finding>) {
    let mut by_app: BTreeMap<&str, Vec<&SideFile>> = BTreeMap::new();
    for a in b.added.iter().filter(|a| !b.squashes.contains(&a.file)) {
        by_app.entry(&a.app).or_default().push(a);
    }
    for (app, added) in by_app {
        let latest = b
            .base_names
            .get(app)
            .into_iter()
            .flatten()
            .filter_map(|n| parse_number(n).map(|k| (k, n)))
            .max();
        let mut by_number: BTreeMap<u64, Vec<&SideFile>> = BTreeMap::new();
        for a in &added {
            let Some(n) = parse_number(&a.name) else {
                continue;
            };
            by_number.entry(n).or_default().push(a);
            if let Some((k, latest)) = latest {
                if n <= k {
                    out.push(
                        Finding::new(Rule::NumberBehindBase, &a.file, (1, 1))
                            .message(format!(
                                "{app}.{} is numbered {n}, at or below {app}'s latest migration \
                                 on {} ({latest}): it was written before the base's migrations \
                                 came in",
                                a.name, b.base
                            ))
                            .fix(format!(
                                "see whether the merge would fork {app} ({}), and let djmig \
                                 renumber it after the base's migrations ({})",
                                shell_line(&["djmig", "check", "--base", &b.base]),
                                shell_line(&["djmig", "resolve", app, "--base", &b.base])
                            )),
                    );
                }
            }
        }
        for (n, same) in by_number.into_iter().filter(|(_, v)| v.len() > 1) {
            for a in &same {
                let others: Vec<&str> = same
                    .iter()
                    .filter(|o| o.name != a.name)
                    .map(|o| o.name.as_str())
                    .collect();
                out.push(
                    Finding::new(Rule::DuplicateNumber, &a.file, (1, 1))
                        .message(format!(
                            "{app}.{} has number {n}, like {} of this branch",
                            a.name,
                            others.join(", ")
                        ))
                        .fix(format!(
                            "give each migration its own number; if they fork {app}, djmig \
                             resolve settles it ({})",
                            shell_line(&["djmig", "check"])
                        )),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(app: &str, name: &str, blob: u8) -> SideFile {
        SideFile {
            app: app.into(),
            name: name.into(),
            file: format!("{app}/migrations/{name}.py"),
            blob: [blob; 20],
        }
    }

    #[test]
    fn renames_pair_by_bytes_or_by_name() {
        let (renamed, deleted, added) = pair_renames(
            vec![
                side("blog", "0002_post_body", 1),
                side("blog", "0003_post_tags", 2),
                side("blog", "0004_gone", 3),
            ],
            vec![
                side("blog", "0005_moved", 1),
                side("blog", "0006_post_tags", 9),
                side("blog", "0007_new", 4),
                side("shop", "0004_gone", 3),
            ],
        );
        let pairs: Vec<(&str, &str)> = renamed
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("0002_post_body", "0005_moved"),
                ("0003_post_tags", "0006_post_tags")
            ]
        );
        assert_eq!(deleted, [side("blog", "0004_gone", 3)]);
        assert_eq!(
            added,
            [side("blog", "0007_new", 4), side("shop", "0004_gone", 3)]
        );
    }

    #[test]
    fn first_changed_line_counts_lines() {
        assert_eq!(first_changed_line(b"a\nb\nc\n", b"a\nb\nX\n"), 3);
        assert_eq!(first_changed_line(b"a\n", b"a\nb\n"), 2);
        assert_eq!(first_changed_line(b"x", b"y"), 1);
    }

    const MIG: &str = "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    operations = [migrations.RunSQL('SELECT 1')]\n";

    fn branch() -> Branch {
        Branch {
            base: "origin/main".into(),
            merge_base: "1a2b3c4".into(),
            ..Branch::default()
        }
    }

    #[test]
    fn deployed_edits() {
        let mut b = branch();
        b.edited.push(Edited {
            app: "blog".into(),
            name: "0002_x".into(),
            file: "blog/migrations/0002_x.py".into(),
            before: MIG.into(),
            after: MIG.replace("SELECT 1", "SELECT 2").into(),
        });
        b.edited.push(Edited {
            app: "blog".into(),
            name: "0003_y".into(),
            file: "blog/migrations/0003_y.py".into(),
            before: MIG.into(),
            after: MIG
                .replace("'SELECT 1')]", "\"SELECT 1\"),  # same\n    ]")
                .into(),
        });
        let f = review_branch(&b);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].rule, f[0].severity, f[0].line),
            (Rule::DeployedEdited, Severity::Error, 4)
        );
        assert!(
            f[0].message.contains("origin/main (merge base 1a2b3c4)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].fix
                .contains("git checkout 1a2b3c4 -- blog/migrations/0002_x.py"),
            "{}",
            f[0].fix
        );
        assert_eq!(f[1].severity, Severity::Info);
        assert!(f[1].message.contains("only in formatting"));
        // Clean: nothing changed, nothing found.
        assert!(review_branch(&branch()).is_empty());
    }

    #[test]
    fn deployed_renames_and_deletions() {
        let mut b = branch();
        b.repo_prefix = "backend".into();
        b.renamed.push(Renamed {
            app: "blog".into(),
            from: "0002_x".into(),
            from_file: "blog/migrations/0002_x.py".into(),
            to: "0005_x".into(),
            to_file: "blog/migrations/0005_x.py".into(),
        });
        b.deleted.push(Deleted {
            app: "blog".into(),
            name: "0003_y".into(),
            file: "blog/migrations/0003_y.py".into(),
            replaced_by: None,
        });
        b.deleted.push(Deleted {
            app: "blog".into(),
            name: "0001_initial".into(),
            file: "blog/migrations/0001_initial.py".into(),
            replaced_by: Some("0001_squashed_0003_y".into()),
        });
        let f = review_branch(&b);
        let got: Vec<(Rule, Severity, &str)> = f
            .iter()
            .map(|f| (f.rule, f.severity, f.file.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Rule::DeployedRenamed,
                    Severity::Error,
                    "blog/migrations/0005_x.py"
                ),
                (
                    Rule::DeployedDeleted,
                    Severity::Error,
                    "blog/migrations/0003_y.py"
                ),
                (
                    Rule::DeployedDeleted,
                    Severity::Warning,
                    "blog/migrations/0001_initial.py"
                ),
            ]
        );
        assert!(
            f[1].fix.contains("-- backend/blog/migrations/0003_y.py"),
            "{}",
            f[1].fix
        );
        assert!(f[2].message.contains("0001_squashed_0003_y"));
    }

    #[test]
    fn numbers() {
        let mut b = branch();
        b.base_names
            .insert("blog".into(), vec!["0001_initial".into(), "0004_up".into()]);
        b.added = vec![
            side("blog", "0004_mine", 1),
            side("blog", "0005_a", 2),
            side("blog", "0005_b", 3),
            side("shop", "0001_initial", 4),
            side("blog", "custom", 5),
            side("blog", "0001_squashed_0004_up", 6),
        ];
        b.squashes
            .insert("blog/migrations/0001_squashed_0004_up.py".into());
        let f = review_branch(&b);
        let got: Vec<(Rule, &str)> = f.iter().map(|f| (f.rule, f.file.as_str())).collect();
        assert_eq!(
            got,
            [
                (Rule::NumberBehindBase, "blog/migrations/0004_mine.py"),
                (Rule::DuplicateNumber, "blog/migrations/0005_a.py"),
                (Rule::DuplicateNumber, "blog/migrations/0005_b.py"),
            ]
        );
        assert!(f[0].message.contains("(0004_up)"), "{}", f[0].message);
        assert!(f[0].fix.contains("djmig resolve blog --base origin/main"));
        assert!(f[1].message.contains("like 0005_b"));
        // Clean: numbered after the base, one number each.
        b.added = vec![side("blog", "0005_a", 2), side("blog", "0006_b", 3)];
        assert!(review_branch(&b).is_empty());
    }
}
