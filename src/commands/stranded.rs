//! The database check after a branch switch (`hooks: {database_check:
//! true}`): migrations applied to the local database that the new checkout
//! does not have, and how to unapply them — on a checkout that has their
//! files, since Django cannot reverse a migration whose file is gone.
//!
//! What is stranded, where each app goes back to and on which checkout
//! are decided in [`crate::core::stranded`]; here the database and git are
//! asked, and the advice is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::core::escape::{shell_line, shell_word, term};
use crate::core::keys::MigrationKey;
use crate::core::stranded;
use crate::core::tree::SourceTree;
use crate::error::Result;
use crate::workspace::Workspace;

use super::{analyze_with, Analysis, Io};

fn short(oid: &str) -> String {
    oid.chars().take(7).collect()
}

/// The names to show for the previous and the current checkout.
fn branch_names(root: &Path, prev: &str, new: &str) -> (String, String) {
    let Some(names) = crate::adapters::git::switch_names(root) else {
        return (short(prev), short(new));
    };
    let prev_name = names
        .previous
        .and_then(|(id, name)| (id == prev).then_some(name).flatten())
        .unwrap_or_else(|| short(prev));
    let new_name = names.current.unwrap_or_else(|| short(new));
    (prev_name, new_name)
}

/// The migrations directory of each project app at the previous checkout
/// (an app added on that branch is not in this one at all).
fn previous_apps(ws: &Workspace, prev: &str) -> BTreeMap<String, String> {
    let read = || -> Option<BTreeMap<String, String>> {
        let repo = ws.repo().ok()?;
        let oid = crate::adapters::git::Oid::from_str(prev).ok()?;
        let tree = repo.tree(oid).ok()?;
        let reader = ws.parse_cache(repo);
        let an = analyze_with(ws, &tree, &*reader);
        ws.keep_parse_cache();
        Some(
            an.project
                .project_apps()
                .map(|a| (a.label.clone(), a.path.clone()))
                .collect(),
        )
    };
    read().unwrap_or_default()
}

/// How a checkout that may have the stranded files was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The checkout before this branch switch.
    Previous,
    /// A local branch's tip.
    Branch,
    /// A commit HEAD was at before (HEAD's reflog).
    Seen,
}

/// A checkout to unapply stranded migrations on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What to give `git checkout`.
    pub name: String,
    pub oid: crate::adapters::git::Oid,
    pub found: Found,
}

/// Where to unapply each app's stranded migrations ([`stranded::plan`]):
/// the candidates that have them, with their apps; then the apps no
/// candidate has.
pub fn plan<'c>(
    files: &BTreeMap<String, Vec<String>>,
    candidates: &'c [Candidate],
    has: impl Fn(&Candidate, &str) -> bool,
) -> (Vec<(&'c Candidate, Vec<String>)>, Vec<String>) {
    let p = stranded::plan(files, candidates.len(), |c, f| has(&candidates[c], f));
    let groups = p
        .groups
        .into_iter()
        .map(|(c, apps)| (&candidates[c], apps))
        .collect();
    (groups, p.nowhere)
}

/// How many commits of HEAD's reflog are looked at for a stranded file.
const REFLOG_LIMIT: usize = 500;

/// The checkouts that may have the stranded files, best first: the
/// previous one, the local branches (but the one checked out now), then
/// the commits HEAD's reflog says were checked out, newest first.
fn candidates(repo: &crate::adapters::git::Repo, prev: &str, prev_name: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    if let Ok(oid) = crate::adapters::git::Oid::from_str(prev) {
        seen.insert(oid);
        out.push(Candidate {
            name: prev_name.to_string(),
            oid,
            found: Found::Previous,
        });
    }
    let current = repo.head().ok().and_then(|h| h.branch);
    for b in repo.list_branches(&[]).unwrap_or_default() {
        if b.remote || Some(&b.name) == current.as_ref() || !seen.insert(b.oid) {
            continue;
        }
        out.push(Candidate {
            name: b.name,
            oid: b.oid,
            found: Found::Branch,
        });
    }
    for oid in repo.head_reflog(REFLOG_LIMIT) {
        if oid.is_zero() || !seen.insert(oid) {
            continue;
        }
        out.push(Candidate {
            name: short(&oid.to_string()),
            oid,
            found: Found::Seen,
        });
    }
    out
}

/// One line of the advice: words, or a command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    Command(String),
}

/// What to say about stranded migrations: for each checkout that has them,
/// the commands that migrate back there and return; for files no checkout
/// has, how to find them and what `--fake` would do.
pub struct Advice<'a> {
    /// `python manage.py` as the user runs it from the work-tree top.
    pub manage: &'a str,
    /// Where each app goes back to.
    pub targets: &'a BTreeMap<String, String>,
    /// The previous and the new checkout, as `git checkout` takes them.
    pub prev_name: &'a str,
    pub new_name: &'a str,
}

impl Advice<'_> {
    /// `files`: each app's stranded files, from the work-tree top;
    /// `missing_on_prev`: those the previous checkout does not have.
    pub fn lines(
        &self,
        groups: &[(&Candidate, Vec<String>)],
        nowhere: &[String],
        files: &BTreeMap<String, Vec<String>>,
        missing_on_prev: &BTreeSet<String>,
    ) -> Vec<Line> {
        let q = |w: &str| shell_word(w);
        let several = groups.len() + nowhere.len() > 1;
        let them = |apps: &[String]| {
            if several {
                format!("the {} ones", apps.join(", "))
            } else {
                "them".to_string()
            }
        };
        let migrate = |app: &str| {
            let target = self.targets.get(app).map(String::as_str).unwrap_or("zero");
            shell_line(&["python", self.manage, "migrate", app, target])
        };
        let files_of = |apps: &[String]| -> Vec<String> {
            apps.iter()
                .flat_map(|a| files.get(a).into_iter().flatten())
                .cloned()
                .collect()
        };
        let mut out = Vec::new();
        for (c, apps) in groups {
            let mine = files_of(apps);
            let mut lacking: Vec<String> = mine
                .iter()
                .filter(|f| missing_on_prev.contains(*f))
                .cloned()
                .collect();
            if lacking.is_empty() {
                lacking = mine.clone();
            }
            out.push(Line::Text(match c.found {
                Found::Previous => format!(
                    "to unapply {}, migrate back on the branch that has them:",
                    them(apps)
                ),
                Found::Branch => format!(
                    "{}, the branch you came from, does not have {}; {} does. To unapply {}, migrate back there:",
                    self.prev_name,
                    lacking.join(", "),
                    c.name,
                    them(apps)
                ),
                Found::Seen => format!(
                    "no local branch has {}; commit {}, checked out before, does. To unapply {}, migrate back there:",
                    mine.join(", "),
                    c.name,
                    them(apps)
                ),
            }));
            let mut steps = vec![format!("git checkout {}", q(&c.name))];
            steps.extend(apps.iter().map(|a| migrate(a)));
            steps.push(format!("git checkout {}", q(self.new_name)));
            out.push(Line::Command(steps.join(" && ")));
        }
        for app in nowhere {
            let files: Vec<String> = files_of(std::slice::from_ref(app))
                .iter()
                .map(|f| q(f))
                .collect();
            out.push(Line::Text(format!(
                "no local branch, nor any commit checked out lately, has {}: Django cannot unapply a migration without its file. Find the commit that added it:",
                files.join(", ")
            )));
            out.push(Line::Command(format!(
                "git log --all --diff-filter=A -- {}",
                files.join(" ")
            )));
            out.push(Line::Text(format!(
                "check it out, run `{}` there, and come back with `git checkout {}`.",
                migrate(app),
                q(self.new_name)
            )));
            out.push(Line::Text(format!(
                "Only if its changes are gone from the database already, `{} --fake` on that checkout forgets it without touching any table; on changes still there, --fake leaves the database out of step with the migrations.",
                migrate(app)
            )));
        }
        out
    }
}

/// After a branch switch from `prev` to `new`: warn about migrations the
/// database has applied that this checkout does not have, and say on which
/// checkout to migrate them back ([`plan`], [`Advice`]).
pub fn database_check(
    ws: &Workspace,
    an: &Analysis,
    prev: &str,
    new: &str,
    io: &mut Io,
) -> Result<()> {
    let dj = super::locate_django(ws)?;
    let applied = dj.applied_migrations(ws.env.database_check_timeout)?;
    let mut dirs = previous_apps(ws, prev);
    dirs.extend(
        an.project
            .project_apps()
            .map(|a| (a.label.clone(), a.path.clone())),
    );
    let apps: BTreeSet<String> = dirs.keys().cloned().collect();
    let lost = stranded::stranded(&an.project, &apps, &applied);
    if lost.is_empty() {
        return Ok(());
    }
    let applied_set: BTreeSet<&MigrationKey> = applied.iter().collect();
    let (prev_name, new_name) = branch_names(&ws.root, prev, new);
    let in_repo = |p: String| {
        if ws.repo_prefix.is_empty() {
            p
        } else {
            format!("{}/{p}", ws.repo_prefix)
        }
    };
    let manage = in_repo(
        dj.manage_py
            .strip_prefix(&ws.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dj.manage_py.display().to_string()),
    );
    let p = io.style.err;
    let n: usize = lost.values().map(Vec::len).sum();
    let _ = writeln!(
        io.err,
        "djmig: {} the database has {n} migration(s) applied that {} does not have:",
        p.warning("warning:"),
        term(&new_name)
    );
    for (app, names) in &lost {
        let names: Vec<String> = names.iter().map(|n| p.leaf(n).to_string()).collect();
        let _ = writeln!(io.err, "djmig:   {}: {}", p.app(app), names.join(", "));
    }
    // Each stranded migration's file, from the project root.
    let files: BTreeMap<String, Vec<String>> = lost
        .iter()
        .map(|(app, names)| {
            let dir = dirs.get(app).map(String::as_str).unwrap_or_default();
            (
                app.clone(),
                names.iter().map(|n| format!("{dir}/{n}.py")).collect(),
            )
        })
        .collect();
    let repo = ws.repo()?;
    let cands = candidates(repo, prev, &prev_name);
    let has = |c: &Candidate, file: &str| repo.tree(c.oid).is_ok_and(|t| t.is_file(file));
    let (groups, nowhere) = plan(&files, &cands, has);
    let missing_on_prev: BTreeSet<String> = match cands.first() {
        Some(prev) if prev.found == Found::Previous => files
            .values()
            .flatten()
            .filter(|f| !has(prev, f))
            .map(|f| in_repo(f.clone()))
            .collect(),
        _ => BTreeSet::new(),
    };
    let shown: BTreeMap<String, Vec<String>> = files
        .iter()
        .map(|(app, fs)| (app.clone(), fs.iter().cloned().map(&in_repo).collect()))
        .collect();
    let targets: BTreeMap<String, String> = lost
        .keys()
        .map(|app| {
            let back = stranded::last_common(&an.built.graph, app, &applied_set);
            (app.clone(), back)
        })
        .collect();
    let advice = Advice {
        manage: &manage,
        targets: &targets,
        prev_name: &prev_name,
        new_name: &new_name,
    };
    for line in advice.lines(&groups, &nowhere, &shown, &missing_on_prev) {
        let _ = match line {
            Line::Text(t) => writeln!(io.err, "djmig: {}", term(&t)),
            Line::Command(c) => writeln!(io.err, "djmig:   {}", p.command(&c)),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, n: u8, found: Found) -> Candidate {
        Candidate {
            name: name.into(),
            oid: crate::adapters::git::Oid::from_bytes(&[n; 20]).unwrap(),
            found,
        }
    }

    fn files(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter()
            .map(|(a, fs)| (a.to_string(), fs.iter().map(|f| f.to_string()).collect()))
            .collect()
    }

    #[test]
    fn the_first_checkout_with_every_file_of_an_app_is_chosen() {
        let cands = [
            cand("feature", 1, Found::Previous),
            cand("other", 2, Found::Branch),
            cand("abc1234", 3, Found::Seen),
        ];
        let f = files(&[
            ("blog", &["blog/m/0004_a.py", "blog/m/0005_b.py"]),
            ("shop", &["shop/m/0002_c.py"]),
            ("lost", &["lost/m/0009_x.py"]),
        ]);
        // feature has only blog's 0004; other has both of blog's; the
        // reflog commit has shop's.
        let has = |c: &Candidate, file: &str| match c.name.as_str() {
            "feature" => file == "blog/m/0004_a.py",
            "other" => file.starts_with("blog/"),
            "abc1234" => file.starts_with("shop/"),
            _ => false,
        };
        let (groups, nowhere) = plan(&f, &cands, has);
        let named: Vec<(&str, Vec<String>)> = groups
            .iter()
            .map(|(c, apps)| (c.name.as_str(), apps.clone()))
            .collect();
        assert_eq!(
            named,
            [
                ("other", vec!["blog".to_string()]),
                ("abc1234", vec!["shop".to_string()])
            ]
        );
        assert_eq!(nowhere, ["lost"]);

        let targets: BTreeMap<String, String> = [
            ("blog".to_string(), "0003_x".to_string()),
            ("lost".to_string(), "zero".to_string()),
        ]
        .into();
        let advice = Advice {
            manage: "manage.py",
            targets: &targets,
            prev_name: "feature",
            new_name: "main",
        };
        let missing: BTreeSet<String> = ["blog/m/0005_b.py".to_string()].into();
        let lines = advice.lines(&groups, &nowhere, &f, &missing);
        assert_eq!(
            lines[0],
            Line::Text(
                "feature, the branch you came from, does not have blog/m/0005_b.py; other does. \
                 To unapply the blog ones, migrate back there:"
                    .into()
            )
        );
        assert_eq!(
            lines[1],
            Line::Command(
                "git checkout other && python manage.py migrate blog 0003_x && git checkout main"
                    .into()
            )
        );
        assert!(
            matches!(&lines[2], Line::Text(t) if t.contains("commit abc1234, checked out before"))
        );
        assert!(lines.contains(&Line::Command(
            "git log --all --diff-filter=A -- lost/m/0009_x.py".into()
        )));
    }
}
