//! django-linear-migrations (dlm) compatibility.
//!
//! dlm keeps `<app>/migrations/max_migration.txt` holding the name of the
//! app's latest migration, so that two branches that both add a migration
//! conflict in git on that file. A project uses dlm when at least one of its
//! apps has the file; then every project app should have one naming its
//! single leaf, as dlm's own system check demands.
//!
//! Findings are `max_migration` diagnostics: warning-level (they do not stop
//! the graph from being trusted), but `check` exits 1 for them (see
//! [`fails_check`]). A file with git conflict markers is reported with the
//! names on both sides; when the graph has two leaves too, the app is in the
//! report's `conflicts` already and `djmig resolve` rewrites the file.

use super::diag::{Diag, DiagKind};
use super::load::Origin;
use super::report::{DiagReport, GraphReport};
use super::tree::{join, SourceTree};

/// The file dlm keeps in each migrations directory.
pub const FILE_NAME: &str = "max_migration.txt";

/// What a `max_migration.txt` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxMigration {
    /// One migration name: the normal content.
    Name(String),
    /// Git conflict markers: the names on each side (lines outside the
    /// markers count for both; a diff3 base section is skipped). `line` is
    /// the 1-based line of the first `<<<<<<<`.
    Conflict {
        ours: Vec<String>,
        theirs: Vec<String>,
        line: u32,
    },
    /// Empty, or several names without conflict markers.
    Invalid(String),
}

impl MaxMigration {
    /// Every name mentioned, ours first, without repeats.
    #[cfg(test)]
    pub fn names(&self) -> Vec<&str> {
        let all: Vec<&str> = match self {
            MaxMigration::Name(n) => vec![n.as_str()],
            MaxMigration::Conflict { ours, theirs, .. } => {
                ours.iter().chain(theirs).map(String::as_str).collect()
            }
            MaxMigration::Invalid(_) => Vec::new(),
        };
        let mut out: Vec<&str> = Vec::new();
        for n in all {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }
}

/// Which conflict-marker line a line is, if any. Git writes 7 marker
/// characters by default (`conflict-marker-size` may ask for more), then a
/// space and a label or nothing.
fn marker(line: &str) -> Option<char> {
    let c = line.chars().next()?;
    if !matches!(c, '<' | '|' | '=' | '>') {
        return None;
    }
    let run = line.chars().take_while(|&x| x == c).count();
    if run < 7 {
        return None;
    }
    let rest = &line[run..];
    if c == '=' {
        rest.trim().is_empty().then_some(c)
    } else {
        (rest.is_empty() || rest.starts_with(' ')).then_some(c)
    }
}

/// Read a `max_migration.txt`.
pub fn read_max_migration(text: &str) -> MaxMigration {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    #[derive(PartialEq)]
    enum At {
        Both,
        Ours,
        Base,
        Theirs,
    }
    let mut at = At::Both;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut plain = Vec::new();
    let mut first_marker = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        match marker(line) {
            Some('<') => {
                first_marker.get_or_insert(i as u32 + 1);
                at = At::Ours;
                continue;
            }
            Some('|') if at == At::Ours => {
                at = At::Base;
                continue;
            }
            Some('=') if at == At::Ours || at == At::Base => {
                at = At::Theirs;
                continue;
            }
            Some('>') if at == At::Theirs => {
                at = At::Both;
                continue;
            }
            _ => {}
        }
        if line.is_empty() {
            continue;
        }
        let name = line.to_string();
        match at {
            At::Both => {
                plain.push(name.clone());
                ours.push(name.clone());
                theirs.push(name);
            }
            At::Ours => ours.push(name),
            At::Theirs => theirs.push(name),
            At::Base => {}
        }
    }
    if let Some(line) = first_marker {
        return MaxMigration::Conflict { ours, theirs, line };
    }
    match plain.len() {
        0 => MaxMigration::Invalid("is empty; it should hold the app's latest migration".into()),
        1 => MaxMigration::Name(plain.remove(0)),
        n => MaxMigration::Invalid(format!(
            "has {n} lines ({}); django-linear-migrations expects the latest migration's name alone",
            plain.join(", ")
        )),
    }
}

/// The content dlm writes for a leaf: the name and a newline.
pub fn render(leaf: &str) -> String {
    format!("{leaf}\n")
}

/// The path of an app's `max_migration.txt`, given its migrations directory.
pub fn file_path(migrations_dir: &str) -> String {
    join(migrations_dir, FILE_NAME)
}

/// One app as the check sees it.
#[derive(Debug, Clone, Copy)]
pub struct AppFiles<'a> {
    pub app: &'a str,
    /// The migrations directory, relative to the project root.
    pub migrations_dir: &'a str,
    /// The app's migrations (after squash replacement).
    pub nodes: &'a [String],
    /// The app's leaves.
    pub leaves: &'a [String],
    /// The content of its `max_migration.txt`, if it has one.
    pub max_migration: Option<&'a str>,
}

/// The `max_migration` findings for a project's apps. Nothing when no app
/// has a `max_migration.txt` (the project does not use dlm).
pub fn check(apps: &[AppFiles]) -> Vec<Diag> {
    let mut out = Vec::new();
    if apps.iter().all(|a| a.max_migration.is_none()) {
        return out;
    }
    for a in apps {
        if a.nodes.is_empty() {
            continue;
        }
        let path = file_path(a.migrations_dir);
        let diag = |line: Option<u32>, msg: String| {
            Diag::new(DiagKind::MaxMigration, msg).at(path.clone(), line)
        };
        let single = match a.leaves {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let Some(text) = a.max_migration else {
            let want = single
                .map(|l| format!(": it should contain {l}"))
                .unwrap_or_default();
            out.push(diag(
                None,
                format!(
                    "{} has no {FILE_NAME}, which django-linear-migrations (used by this project) needs{want}",
                    a.app
                ),
            ));
            continue;
        };
        match read_max_migration(text) {
            MaxMigration::Name(name) => {
                if !a.nodes.contains(&name) {
                    let latest = single
                        .map(|l| format!("; the latest is {l}"))
                        .unwrap_or_default();
                    out.push(diag(
                        Some(1),
                        format!(
                            "{FILE_NAME} names {name}, which is not a migration of {}{latest}",
                            a.app
                        ),
                    ));
                } else if let Some(leaf) = single {
                    if leaf != name {
                        out.push(diag(
                            Some(1),
                            format!(
                                "{FILE_NAME} names {name}, but {}'s latest migration is {leaf} (django-linear-migrations' check fails; it should contain {leaf})",
                                a.app
                            ),
                        ));
                    }
                }
                // Several leaves: the conflict is reported already.
            }
            MaxMigration::Conflict { ours, theirs, line } => {
                let fix = match single {
                    Some(leaf) => {
                        format!("; the app's latest migration is {leaf}: write that name alone")
                    }
                    None => format!("; `djmig resolve {}` rewrites it", a.app),
                };
                out.push(diag(
                    Some(line),
                    format!(
                        "{FILE_NAME} of {} has git conflict markers: ours {}, theirs {}{fix}",
                        a.app,
                        or_none(&ours),
                        or_none(&theirs)
                    ),
                ));
            }
            MaxMigration::Invalid(why) => {
                let want = single
                    .map(|l| format!(" (the latest is {l})"))
                    .unwrap_or_default();
                out.push(diag(
                    Some(1),
                    format!("{FILE_NAME} of {} {why}{want}", a.app),
                ));
            }
        }
    }
    out
}

fn or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(nothing)".into()
    } else {
        names.join(", ")
    }
}

/// Read the `max_migration.txt` files of the report's project apps from the
/// snapshot and add the findings to the report's warnings.
pub fn annotate(report: &mut GraphReport, tree: &dyn SourceTree) {
    let mut found: Vec<DiagReport> = Vec::new();
    let mut contents: Vec<(String, Option<String>)> = Vec::new();
    for (label, a) in report
        .apps
        .iter()
        .filter(|(_, a)| a.source == Origin::Project)
    {
        let path = file_path(&a.path);
        let read =
            crate::core::limits::narrow(tree.read(&path), crate::core::limits::Kind::MaxMigration);
        match read {
            Ok(b) => contents.push((
                label.clone(),
                Some(String::from_utf8_lossy(&b).into_owned()),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                contents.push((label.clone(), None))
            }
            // A FIFO, a device, a link out of the project, too large: said
            // as such, never taken for a missing file.
            Err(e) => found.push(DiagReport::from(
                &Diag::new(
                    DiagKind::MaxMigration,
                    format!("{FILE_NAME} of {label} cannot be read: {e}"),
                )
                .at(path, None),
            )),
        }
    }
    let apps: Vec<AppFiles> = contents
        .iter()
        .map(|(label, text)| {
            let a = &report.apps[label];
            AppFiles {
                app: label,
                migrations_dir: &a.path,
                nodes: &a.nodes,
                leaves: &a.leaves,
                max_migration: text.as_deref(),
            }
        })
        .collect();
    found.extend(check(&apps).iter().map(DiagReport::from));
    if found.is_empty() {
        return;
    }
    report.warnings.extend(found);
    report.warnings.sort();
    report.warnings.dedup();
}

/// Whether the report has findings that make `check` exit 1.
pub fn fails_check(report: &GraphReport) -> bool {
    report
        .warnings
        .iter()
        .any(|w| w.kind == DiagKind::MaxMigration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn plain_name() {
        assert_eq!(
            read_max_migration("0003_post_published\n"),
            MaxMigration::Name("0003_post_published".into())
        );
        assert_eq!(
            read_max_migration("\u{feff}  0001_initial \r\n\r\n"),
            MaxMigration::Name("0001_initial".into())
        );
    }

    #[test]
    fn conflict_markers_give_both_sides() {
        let text = "<<<<<<< HEAD\n0004_a\n=======\n0004_b\n>>>>>>> feature\n";
        let m = read_max_migration(text);
        assert_eq!(
            m,
            MaxMigration::Conflict {
                ours: s(&["0004_a"]),
                theirs: s(&["0004_b"]),
                line: 1
            }
        );
        assert_eq!(m.names(), vec!["0004_a", "0004_b"]);
    }

    #[test]
    fn diff3_base_is_skipped() {
        let text = "<<<<<<< ours\n0004_a\n||||||| base\n0003_x\n=======\n0004_b\n>>>>>>> theirs\n";
        assert_eq!(
            read_max_migration(text),
            MaxMigration::Conflict {
                ours: s(&["0004_a"]),
                theirs: s(&["0004_b"]),
                line: 1
            }
        );
    }

    #[test]
    fn empty_and_multiline_are_invalid() {
        assert!(matches!(read_max_migration(""), MaxMigration::Invalid(_)));
        assert!(matches!(
            read_max_migration("a\nb\n"),
            MaxMigration::Invalid(_)
        ));
        // Six '<' are not a marker.
        assert!(matches!(
            read_max_migration("<<<<<< x\n"),
            MaxMigration::Name(_)
        ));
    }

    #[test]
    fn render_adds_a_newline() {
        assert_eq!(render("0004_a"), "0004_a\n");
        assert_eq!(
            read_max_migration(&render("0004_a")),
            MaxMigration::Name("0004_a".into())
        );
    }

    fn app<'a>(
        name: &'a str,
        nodes: &'a [String],
        leaves: &'a [String],
        text: Option<&'a str>,
    ) -> AppFiles<'a> {
        AppFiles {
            app: name,
            migrations_dir: "blog/migrations",
            nodes,
            leaves,
            max_migration: text,
        }
    }

    #[test]
    fn check_cases() {
        let nodes = s(&["0001_initial", "0002_b"]);
        let leaf = s(&["0002_b"]);
        // Not using dlm: nothing.
        assert!(check(&[app("blog", &nodes, &leaf, None)]).is_empty());
        // Up to date.
        assert!(check(&[app("blog", &nodes, &leaf, Some("0002_b\n"))]).is_empty());
        // Behind.
        let d = check(&[app("blog", &nodes, &leaf, Some("0001_initial\n"))]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DiagKind::MaxMigration);
        assert_eq!(
            d[0].file.as_deref(),
            Some("blog/migrations/max_migration.txt")
        );
        assert!(
            d[0].message.contains("latest migration is 0002_b"),
            "{}",
            d[0].message
        );
        // Unknown name.
        let d = check(&[app("blog", &nodes, &leaf, Some("0009_x\n"))]);
        assert!(d[0].message.contains("not a migration of blog"));
        // Another app uses dlm, this one has no file.
        let d = check(&[
            app("blog", &nodes, &leaf, None),
            app("shop", &nodes, &leaf, Some("0002_b\n")),
        ]);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("blog has no max_migration.txt"));
        // Conflict markers with two leaves.
        let two = s(&["0002_a", "0002_b"]);
        let nodes2 = s(&["0001_initial", "0002_a", "0002_b"]);
        let d = check(&[app(
            "blog",
            &nodes2,
            &two,
            Some("<<<<<<< HEAD\n0002_a\n=======\n0002_b\n>>>>>>> x\n"),
        )]);
        assert!(d[0].message.contains("ours 0002_a, theirs 0002_b"));
        assert!(d[0].message.contains("djmig resolve blog"));
        assert_eq!(d[0].line, Some(1));
        // A plain name with two leaves: the conflict says it all.
        assert!(check(&[app("blog", &nodes2, &two, Some("0002_a\n"))]).is_empty());
    }
}
