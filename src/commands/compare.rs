//! Comparing two sides of a project in git: the merge-base, head (the work
//! tree or a revision), base (upstream), and their virtual merge — what
//! `check --base` reports and `resolve` acts on.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::adapters::git::{short, InProgress, MergedTree, Oid, Repo, RepoState, Resolved};
use crate::adapters::store::parse_cache::CachingReader;
use crate::core::diag::{Diag, DiagKind};
use crate::core::discover::{module_names, PackageKind};
use crate::core::divergence::{self, divergence, AppDivergence, ErrorHome, ErrorKey, Sides};
use crate::core::keys::MigrationKey;
use crate::core::load::MigrationReader;
use crate::core::pyparse::FileProblemKind;
use crate::core::tree::{BlobId, SourceTree};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

use crate::adapters::store::results::{Recorder, Recording};

use super::{analyze_recorded, Analysis};

/// Open the repository around the project.
pub fn open_repo(ws: &Workspace) -> Result<&Repo> {
    let repo = ws.repo()?;
    if repo.has_no_commits() {
        return Err(Error::git("the repository has no commits yet").hint(
            "commit something first; until then `djmig check` without --base reads the work tree",
        ));
    }
    Ok(repo)
}

/// The base revision: given, or the default, and how it was chosen.
pub fn resolve_base(
    repo: &Repo,
    ws: &Workspace,
    given: Option<&str>,
) -> Result<(Resolved, String)> {
    let (rev, how) = match given {
        Some(b) => (b.to_string(), "given with --base".to_string()),
        None => {
            let (rev, how) = repo.default_base(ws.config.base.as_deref())?;
            (rev, how.to_string())
        }
    };
    Ok((repo.resolve(&rev)?, how))
}

/// The four analyses of a comparison and what came from where.
pub struct Comparison {
    /// The virtual merge, read in full.
    pub merged_a: Analysis,
    /// Which project migrations each side's files hold, and where, in the
    /// apps that differ between the sides or conflict in the merge (an app
    /// the same on all three sides is left out: see `side_files`).
    pub merge_base_files: BTreeMap<MigrationKey, String>,
    pub ours_files: BTreeMap<MigrationKey, String>,
    /// Syntax errors in side files the merge does not read (deleted on the
    /// other side, or changed on both), already named by revision.
    pub side_errors: Vec<Diag>,
    pub divergence: BTreeMap<String, AppDivergence>,
    /// Ours' migrations already published (asked of the refs now).
    pub published: BTreeSet<MigrationKey>,
    /// The errors head's files and base's files have, each read whole;
    /// read only when the merge has errors, to say whose they are.
    ours_errors: HashSet<ErrorKey>,
    theirs_errors: HashSet<ErrorKey>,
}

/// What is compared, resolved: cheap to compute, and never cached.
pub struct Revisions {
    pub base: Resolved,
    pub base_how: String,
    /// `None`: the work tree.
    pub head: Option<Resolved>,
    pub head_commit: Oid,
    pub merge_base: Oid,
    pub state: RepoState,
    /// The repository's directory when it is bare (no work tree to
    /// resolve in).
    pub bare: Option<std::path::PathBuf>,
}

impl Revisions {
    pub fn head_name(&self) -> String {
        match &self.head {
            Some(h) => h.describe(),
            None => "the work tree".to_string(),
        }
    }
}

/// Resolve base (given, or the default), head (given, or the work tree)
/// and their merge base.
pub fn revisions(
    ws: &Workspace,
    repo: &Repo,
    base_arg: Option<&str>,
    head_arg: Option<&str>,
) -> Result<Revisions> {
    let (base, base_how) = resolve_base(repo, ws, base_arg)?;
    let state = repo.state()?;
    let head = head_arg.map(|h| repo.resolve(h)).transpose()?;
    let head_commit = match &head {
        Some(h) => h.oid,
        None => state.head.oid.ok_or_else(|| {
            Error::git("HEAD has no commit yet").hint("commit first, or pass --head REV")
        })?,
    };
    let merge_base = repo.merge_base(head_commit, base.oid)?.ok_or_else(|| {
        Error::git(format!(
            "{} and {} have no common history (unrelated histories)",
            head.as_ref()
                .map(|h| h.describe())
                .unwrap_or_else(|| "HEAD".into()),
            base.describe()
        ))
        .hint("check the --base revision; djmig compares branches that share history")
    })?;
    Ok(Revisions {
        base,
        base_how,
        head,
        head_commit,
        merge_base,
        state,
        bare: repo.is_bare().then(|| repo.common_dir().to_path_buf()),
    })
}

/// Compare head (a revision, or the work tree) with base.
pub fn compare(
    ws: &Workspace,
    repo: &Repo,
    reader: &CachingReader,
    base_arg: Option<&str>,
    head_arg: Option<&str>,
) -> Result<(Revisions, Comparison)> {
    let revs = revisions(ws, repo, base_arg, head_arg)?;
    let cmp = compare_revisions(ws, repo, reader, &revs, None)?;
    Ok((revs, cmp))
}

/// [`compare`] on resolved revisions; with `rec`, what is read on disk
/// (the work tree as head, the virtualenv) is recorded for the result
/// cache.
pub fn compare_revisions(
    ws: &Workspace,
    repo: &Repo,
    reader: &CachingReader,
    revs: &Revisions,
    rec: Option<&Recording>,
) -> Result<Comparison> {
    let Revisions {
        base,
        head,
        merge_base,
        ..
    } = revs;
    let mb_tree = repo.tree(*merge_base)?;
    let base_tree = repo.tree(base.oid)?;
    let head_git = head.as_ref().map(|h| repo.tree(h.oid)).transpose()?;
    let head_wt = if head.is_none() {
        Some(repo.worktree_tree()?)
    } else {
        None
    };
    let head_recorded = match (&head_wt, rec) {
        (Some(t), Some(rec)) => Some(Recorder::new(t, rec)),
        _ => None,
    };
    let head_tree: &dyn crate::adapters::git::Snapshot = match (&head_git, &head_recorded, &head_wt)
    {
        (Some(t), _, _) => t,
        (None, Some(t), _) => t,
        (None, None, Some(t)) => t,
        (None, None, None) => unreachable!("one of the two is set"),
    };
    let merged = MergedTree::new(
        crate::adapters::git::Side::Borrowed(&mb_tree),
        crate::adapters::git::Side::Borrowed(head_tree),
        crate::adapters::git::Side::Borrowed(&base_tree),
    );
    // The merge is read in full; of the three sides only the listings of
    // the migrations packages are needed, to tell who added what.
    let merged_a = analyze_recorded(ws, &merged, reader, rec);
    // The merge's errors may be a side's, or the merge's alone (ours
    // depending on a migration upstream deleted): read each side whole to
    // tell, only when there is something to tell.
    let (ours_errors, theirs_errors) = if has_errors(&merged_a) {
        (
            error_keys(&analyze_recorded(ws, head_tree, reader, rec)),
            error_keys(&analyze_recorded(ws, &base_tree, reader, rec)),
        )
    } else {
        Default::default()
    };
    let [merge_base_files, ours_files, theirs_files] =
        side_files([&mb_tree, head_tree, &base_tree], &merged_a);
    let ours_new: Vec<&str> = new_in_ours(&ours_files, &merge_base_files)
        .map(|(_, f)| f.as_str())
        .collect();
    let published_paths = repo.published_paths(revs.head_commit, &ours_new)?;
    let published: BTreeSet<MigrationKey> = ours_files
        .iter()
        .filter(|(_, f)| published_paths.contains(*f))
        .map(|(k, _)| k.clone())
        .collect();
    let apps: Vec<String> = merged_a
        .project
        .project_apps()
        .map(|a| a.label.clone())
        .collect();
    // Files of a side the merge does not show: read them there.
    let merged_files: BTreeSet<&str> = merged_a
        .project
        .migrations
        .values()
        .map(|m| m.file.as_str())
        .collect();
    let mut side_errors = Vec::new();
    let head_name = head
        .as_ref()
        .map(|h| h.describe())
        .unwrap_or_else(|| "the work tree".to_string());
    for (name, tree, files) in [
        (
            base.describe(),
            &base_tree as &dyn SourceTree,
            &theirs_files,
        ),
        (head_name, head_tree as &dyn SourceTree, &ours_files),
    ] {
        for f in files.values() {
            if merged_files.contains(f.as_str()) && !merged.is_conflicted(f) {
                continue;
            }
            let Ok(p) = reader.parse(tree, f) else {
                continue;
            };
            for prob in p
                .problems
                .iter()
                .filter(|p| p.kind == FileProblemKind::Syntax)
            {
                side_errors.push(
                    Diag::new(DiagKind::Syntax, format!("at {name}: {}", prob.message))
                        .at(f.clone(), Some(prob.line))
                        .col(prob.col),
                );
            }
        }
    }
    // An object missing from the repository leaves a side incomplete: no
    // answer is better than a wrong one.
    let mut git_sides: Vec<&dyn SourceTree> = vec![&mb_tree, &base_tree];
    if let Some(h) = &head_git {
        git_sides.push(h);
    }
    super::missing_objects(&git_sides)?;
    let keys = |m: &BTreeMap<MigrationKey, String>| m.keys().cloned().collect::<BTreeSet<_>>();
    let (mb_keys, ours_keys, theirs_keys) = (
        keys(&merge_base_files),
        keys(&ours_files),
        keys(&theirs_files),
    );
    let div = divergence(
        &Sides {
            merge_base: &mb_keys,
            ours: &ours_keys,
            theirs: &theirs_keys,
            merged: &merged_a.built.graph,
        },
        apps,
        &|k| published.contains(k),
    );
    Ok(Comparison {
        merged_a,
        merge_base_files,
        ours_files,
        side_errors,
        divergence: div,
        published,
        ours_errors,
        theirs_errors,
    })
}

fn has_errors(a: &Analysis) -> bool {
    a.project.errors().next().is_some() || a.built.errors.iter().any(|d| d.kind.is_error())
}

fn error_keys(a: &Analysis) -> HashSet<ErrorKey> {
    divergence::error_keys(
        a.project
            .errors()
            .chain(a.built.errors.iter().filter(|d| d.kind.is_error())),
    )
}

impl Comparison {
    /// Whose files hold an error of the merge's report.
    pub fn error_home(&self, kind: DiagKind, file: Option<&str>, message: &str) -> ErrorHome {
        divergence::error_home(
            &self.ours_errors,
            &self.theirs_errors,
            &(kind, file.map(str::to_string), message.to_string()),
        )
    }
}

/// The migration modules each side (merge base, ours, theirs) has in the
/// packages of the merged project's apps: `pkgutil` names, as Django would
/// import them. Only for the apps that tell the sides apart: a package
/// whose git tree is the same on all three sides holds the same modules
/// everywhere and in the merge, so it is left out unless the merge
/// conflicts in it. A directory whose tree was listed already is not listed
/// again.
fn side_files(
    sides: [&dyn crate::adapters::git::Snapshot; 3],
    merged: &Analysis,
) -> [BTreeMap<MigrationKey, String>; 3] {
    let conflicted = merged.built.graph.conflicted_apps();
    let mut memo: HashMap<BlobId, Vec<(String, String)>> = HashMap::new();
    let mut out: [BTreeMap<MigrationKey, String>; 3] = Default::default();
    for app in merged.project.project_apps() {
        if app.kind != PackageKind::Package {
            continue;
        }
        let ids = sides.map(|t| t.dir_id(&app.path));
        let same_everywhere = ids[0].is_some() && ids[0] == ids[1] && ids[1] == ids[2];
        if same_everywhere && !conflicted.contains(&app.label) {
            continue;
        }
        for ((tree, id), files) in sides.iter().zip(ids).zip(out.iter_mut()) {
            let names = match id {
                Some(id) => memo
                    .entry(id)
                    .or_insert_with(|| module_names(*tree, &app.path).sources)
                    .clone(),
                None => module_names(*tree, &app.path).sources,
            };
            for (name, file) in names {
                files.insert(MigrationKey::new(app.label.clone(), name), file);
            }
        }
    }
    out
}

/// Ours' migrations the merge base does not have, and their files.
pub fn new_in_ours<'a>(
    ours: &'a BTreeMap<MigrationKey, String>,
    merge_base: &'a BTreeMap<MigrationKey, String>,
) -> impl Iterator<Item = (&'a MigrationKey, &'a String)> {
    ours.iter().filter(|(k, _)| !merge_base.contains_key(*k))
}

/// The comparison's keys in JSON, added to the graph report.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonJson {
    pub base: String,
    pub head: String,
    /// `"worktree"` or `"commit"`.
    pub head_source: &'static str,
    pub merge_base: String,
    pub divergence: BTreeMap<String, AppDivergence>,
}

impl Revisions {
    /// The comparison's keys for the JSON report.
    pub fn json(&self, divergence: BTreeMap<String, AppDivergence>) -> ComparisonJson {
        ComparisonJson {
            base: self.base.oid.to_string(),
            head: self.head_commit.to_string(),
            head_source: if self.head.is_some() {
                "commit"
            } else {
                "worktree"
            },
            merge_base: self.merge_base.to_string(),
            divergence,
        }
    }
}

/// One sentence on where the user is, when it matters for reading "ours"
/// and "theirs".
pub fn where_you_are(state: &RepoState) -> Option<String> {
    match &state.in_progress {
        Some(InProgress::Rebase(info)) => {
            let onto = info.onto.map(short).unwrap_or_else(|| "upstream".into());
            return Some(format!(
                "A rebase onto {onto} is in progress. During a rebase git calls the upstream side \"ours\"; \
                 djmig's \"yours\" is always your own, unpublished work (the commits being replayed)."
            ));
        }
        Some(InProgress::Merge { heads }) => {
            let h: Vec<String> = heads.iter().map(|o| short(*o)).collect();
            return Some(format!(
                "A merge is in progress: {} is the incoming (upstream) side; \"yours\" is HEAD.",
                h.join(", ")
            ));
        }
        Some(InProgress::CherryPick { head }) => {
            return Some(format!(
                "A cherry-pick of {} is in progress; its migrations count as incoming.",
                short(*head)
            ))
        }
        Some(_) => {}
        None => {}
    }
    if let Some(info) = &state.just_rebased {
        let onto = info.onto.map(short).unwrap_or_else(|| "upstream".into());
        return Some(format!(
            "You just rebased onto {onto}: your replayed commits are \"yours\"."
        ));
    }
    if state.head_is_merge() {
        return Some(format!(
            "HEAD is a merge commit (as `git pull` makes): its first parent {} is yours, {} came in.",
            short(state.head_parents[0]),
            short(state.head_parents[1])
        ));
    }
    if state.is_detached() {
        return Some(
            "HEAD is detached; \"yours\" is what HEAD has and the base does not.".to_string(),
        );
    }
    None
}

/// The revision holding the incoming side when the work tree already has
/// both: MERGE_HEAD, the rebase's onto, a merge commit's second parent.
pub fn incoming_commit(state: &RepoState) -> Option<Oid> {
    match &state.in_progress {
        Some(InProgress::Merge { heads }) => return heads.first().copied(),
        Some(InProgress::Rebase(info)) => return info.onto,
        Some(InProgress::CherryPick { head }) => return Some(*head),
        _ => {}
    }
    if let Some(info) = &state.just_rebased {
        if info.onto.is_some() {
            return info.onto;
        }
    }
    if state.head_is_merge() {
        return state.head_parents.get(1).copied();
    }
    None
}
