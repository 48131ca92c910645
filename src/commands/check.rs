//! `djmig check`: apps whose migration graph has more than one leaf.

use std::io::{self, Write};

use crate::cli::{CheckArgs, CheckFormat};
use crate::core::escape::{gh_data, gh_prop, shell_line, term};
use crate::core::report::GraphReport;
use crate::error::{is_broken_pipe, Error, Exit, Result};
use crate::workspace::{Env, Workspace};

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::core::divergence::{AppDivergence, ErrorHome, LeafSide};
use crate::core::keys::MigrationKey;
use crate::core::tree::SourceTree;

use crate::adapters::store::results::{Recorder, Recording, ResultCache};
use crate::core::report::StoredReport;

use super::{
    analyze_recorded, analyze_worktree, compare, print_diags, result_key, selected_apps,
    unfinished_resolution, Io,
};

pub fn run(ws: &Workspace, args: &CheckArgs, io: &mut Io) -> Result<Exit> {
    steady_mmap_threshold();
    // Before any stored answer: one from before the interruption would say
    // "no conflicts" about files that are half-changed. With --head both
    // sides are commits, and the work tree does not matter.
    if args.head.is_none() {
        if let Some(j) = unfinished_resolution(ws) {
            return Err(Error::failed(format!(
                "the last resolution did not finish: {} (started {}); files it changed are half-way",
                j.description, j.started
            ))
            .cause(format!("its journal is {}", j.dir.display()))
            .hint("run `djmig undo` to put back every file it touched, then `djmig check` again"));
        }
    }
    if args.base.is_some() {
        return run_compare(ws, args, io);
    }
    super::require_worktree(ws)?;
    let mut report = worktree_report(ws, &args.apps)?;
    crate::core::dlm::annotate(
        &mut report,
        &crate::adapters::fs::tree::FsTree::new(&ws.root),
    );
    let written = match check_format(args.format, &ws.env) {
        CheckFormat::Json => report.write_json(io.out),
        CheckFormat::Text => {
            print_diags(io, &report);
            let sides = if report.conflicts.is_empty() {
                BTreeMap::new()
            } else {
                leaf_sides(ws, &report)
            };
            write_text(io.out, io.style.out, &report, &sides)
        }
        CheckFormat::Github => write_github(io.out, &report, &ws.repo_prefix, None),
    };
    finish(written, &report)
}

/// Large allocations keep their own mappings, as glibc starts out doing.
/// By default glibc raises that threshold to the size of any large block
/// freed, and reading the git index frees a megabyte-sized buffer before
/// the project is read: from then on every large buffer of the run stays in
/// the heap when freed, which cost a cold `check` of ten thousand
/// migrations half a megabyte of its peak. Set once, the threshold stays.
fn steady_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator; glibc takes
    // its own lock, and any value is valid for M_MMAP_THRESHOLD.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// The report of the work tree, from the result cache when nothing read
/// for it has changed since it was stored.
fn worktree_report(ws: &Workspace, apps: &[String]) -> Result<GraphReport> {
    let report_of = |a: super::Analysis| -> Result<GraphReport> {
        let only = selected_apps(&a.project, apps)?;
        let report = GraphReport::new(&a.project, &a.built.graph, &a.built.errors, &only);
        // The process ends right after; see run_compare.
        std::mem::forget(a);
        Ok(report)
    };
    let Ok(repo) = ws.repo() else {
        return report_of(analyze_worktree(ws));
    };
    let store = ResultCache::new(&repo.cache_dir(), ws.env.trace_cache);
    let key = crate::adapters::store::results::Key {
        slot: result_key(ws, &format!("check worktree\napps {apps:?}")),
        exact: String::new(),
    };
    if let Some(stored) = store.load::<StoredReport>(&key) {
        return Ok(stored.into());
    }
    let reader = ws.parse_cache(repo);
    let (a, rec) = match repo.worktree_tree() {
        Ok(wt) => {
            // About one stamp and one parse per file the index has.
            let rec = Recording::with_capacity(wt.indexed_files() + 64);
            if reader.stats().loaded == 0 {
                reader.expect(wt.indexed_files());
            }
            let a = analyze_recorded(ws, &Recorder::new(&wt, &rec), &*reader, Some(&rec));
            (a, rec)
        }
        Err(_) => {
            let rec = Recording::new();
            let fs = crate::adapters::fs::tree::FsTree::new(&ws.root);
            let a = analyze_recorded(ws, &Recorder::new(&fs, &rec), &*reader, Some(&rec));
            (a, rec)
        }
    };
    // What is let go before the report is made: the report is made when
    // the run holds the most. The parse cache is saved now, then.
    ws.keep_parse_cache();
    drop(reader);
    ws.save_caches();
    let pending = store.begin(&key, rec);
    let report = report_of(a)?;
    if let Some(p) = pending {
        p.finish(&StoredReportRef::of(&report));
    }
    Ok(report)
}

/// [`StoredReport`]'s encoding straight from a [`GraphReport`], without
/// copying it: the same fields in the same order, borrowed. Storing the
/// work tree's answer happens when `check` holds the most memory.
#[derive(Serialize)]
struct StoredReportRef<'a> {
    apps: &'a BTreeMap<String, crate::core::report::AppReport>,
    edges: &'a [[String; 2]],
    external: &'a BTreeMap<String, Vec<String>>,
    conflicts: &'a BTreeMap<String, Vec<String>>,
    errors: Vec<(&'a crate::core::report::DiagReport, Option<u32>)>,
    warnings: Vec<(&'a crate::core::report::DiagReport, Option<u32>)>,
}

impl<'a> StoredReportRef<'a> {
    fn of(r: &'a GraphReport) -> Self {
        let diags =
            |v: &'a [crate::core::report::DiagReport]| v.iter().map(|d| (d, d.col)).collect();
        StoredReportRef {
            apps: &r.apps,
            edges: &r.edges,
            external: &r.external,
            conflicts: &r.conflicts,
            errors: diags(&r.errors),
            warnings: diags(&r.warnings),
        }
    }
}

/// `check --base REV [--head REV]`: the conflicts the merge would have.
fn run_compare(ws: &Workspace, args: &CheckArgs, io: &mut Io) -> Result<Exit> {
    let repo = compare::open_repo(ws)?;
    let revs = compare::revisions(ws, repo, args.base.as_deref(), args.head.as_deref())?;
    let store = ResultCache::new(&repo.cache_dir(), ws.env.trace_cache);
    // Revisions by commit id; the work tree as head by what it reads.
    let key = crate::adapters::store::results::Key {
        slot: result_key(
            ws,
            &format!(
                "check compare\nbase {}\nhead {:?}\napps {:?}",
                revs.base.rev,
                revs.head.as_ref().map(|h| &h.rev),
                args.apps
            ),
        ),
        exact: format!(
            "base {}\nhead {}\nmerge base {}",
            revs.base.oid, revs.head_commit, revs.merge_base
        ),
    };
    let (stored, fresh) = match store.load::<StoredComparison>(&key) {
        Some(s) => (s, None),
        None => {
            let rec = Recording::new();
            let reader = ws.parse_cache(repo);
            let mut cmp = compare::compare_revisions(ws, repo, &reader, &revs, Some(&rec))?;
            // Saved and let go before the answer is stored, as above.
            ws.keep_parse_cache();
            drop(reader);
            ws.save_caches();
            let pending = store.begin(&key, rec);
            let s = stored_comparison(&revs, &cmp, &args.apps)?;
            if let Some(p) = pending {
                p.finish(&s);
            }
            let published = std::mem::take(&mut cmp.published);
            // The process ends right after: freeing a whole project one
            // small allocation at a time would only add to the wait.
            std::mem::forget(cmp);
            (s, Some(published))
        }
    };
    // What the refs say now: which of ours are published already (just
    // asked, when the comparison was made in this run).
    let published: BTreeSet<MigrationKey> = match fresh {
        Some(p) => p,
        None => {
            let paths: Vec<&str> = stored.ours_new.iter().map(|(_, f)| f.as_str()).collect();
            let published_paths = repo.published_paths(revs.head_commit, &paths)?;
            stored
                .ours_new
                .iter()
                .filter(|(_, f)| published_paths.contains(f))
                .map(|(k, _)| k.clone())
                .collect()
        }
    };
    let mut divergence = stored.divergence;
    for (app, d) in divergence.iter_mut() {
        d.published = d
            .ours
            .iter()
            .filter(|n| published.contains(&MigrationKey::new(app.clone(), (*n).clone())))
            .cloned()
            .collect();
    }
    let mut report: GraphReport = stored.report.into();
    report.comparison = Some(
        serde_json::to_value(revs.json(divergence.clone()))
            .map_err(|e| Error::failed("cannot encode the report").cause(e))?,
    );
    let written = match check_format(args.format, &ws.env) {
        CheckFormat::Json => report.write_json(io.out),
        CheckFormat::Text => {
            print_diags(io, &report);
            write_compare_text(io.out, &report, &revs, &divergence)
        }
        CheckFormat::Github => write_github(
            io.out,
            &report,
            &ws.repo_prefix,
            Some(Compared {
                revs: &revs,
                divergence: &divergence,
            }),
        ),
    };
    finish(written, &report)
}

/// What `check --base` keeps in the result cache: all but what the refs
/// say at the time of asking (which of ours are published, where the user
/// is).
#[derive(Serialize, Deserialize)]
struct StoredComparison {
    /// The virtual merge's report, side errors named by revision.
    report: StoredReport,
    /// The conflicted apps' divergence, `published` left empty.
    divergence: BTreeMap<String, AppDivergence>,
    /// Migrations only head has, and their files.
    ours_new: Vec<(MigrationKey, String)>,
}

fn stored_comparison(
    revs: &compare::Revisions,
    cmp: &compare::Comparison,
    apps: &[String],
) -> Result<StoredComparison> {
    let merged = &cmp.merged_a;
    let only = selected_apps(&merged.project, apps)?;
    let mut report = GraphReport::new(
        &merged.project,
        &merged.built.graph,
        &merged.built.errors,
        &only,
    );
    // Each error is named by where it is: a side whose own files have it
    // (read there to be sure), or the merge alone.
    for e in &mut report.errors {
        let prefix = match cmp.error_home(e.kind, e.file.as_deref(), &e.message) {
            ErrorHome::Both => continue,
            ErrorHome::Ours => format!("at {}", revs.head_name()),
            ErrorHome::Theirs => format!("at {}", revs.base.describe()),
            ErrorHome::Merge => format!(
                "in the merge of {} and {}",
                revs.head_name(),
                revs.base.describe()
            ),
        };
        e.message = format!("{prefix}: {}", e.message);
    }
    report.errors.extend(
        cmp.side_errors
            .iter()
            .map(crate::core::report::DiagReport::from),
    );
    report.errors.sort();
    report.errors.dedup();
    let mut divergence = cmp.divergence.clone();
    divergence.retain(|app, _| only.is_empty() || only.contains(app));
    for d in divergence.values_mut() {
        d.published.clear();
    }
    let ours_new = compare::new_in_ours(&cmp.ours_files, &cmp.merge_base_files)
        .map(|(k, f)| (k.clone(), f.clone()))
        .collect();
    Ok(StoredComparison {
        report: StoredReport::from(&report),
        divergence,
        ours_new,
    })
}

fn write_compare_text(
    w: &mut dyn Write,
    report: &GraphReport,
    revs: &compare::Revisions,
    divergence: &BTreeMap<String, AppDivergence>,
) -> io::Result<()> {
    let head = format!(
        "Comparing {} with {} ({}); merge base {}.",
        revs.head_name(),
        revs.base.describe(),
        revs.base_how,
        crate::adapters::git::short(revs.merge_base)
    );
    writeln!(w, "{}", term(&head))?;
    if let Some(s) = compare::where_you_are(&revs.state) {
        writeln!(w, "{}", term(&s))?;
    }
    if !report.errors.is_empty() {
        writeln!(
            w,
            "The migration graph cannot be built: {} error(s), listed above.",
            report.errors.len()
        )?;
        return Ok(());
    }
    if report.conflicts.is_empty() {
        let line = format!(
            "No conflicts: merging {} would leave one leaf per app.",
            revs.base.describe()
        );
        writeln!(w, "{}", term(&line))?;
        return Ok(());
    }
    let cmp = Compared { revs, divergence };
    for (app, leaves) in &report.conflicts {
        let p = cmp.predict(app, leaves);
        let line = format!(
            "{app}: merging would leave {} leaves{}: {}. Fix: {}",
            leaves.len(),
            p.after,
            p.leaves,
            p.fix
        );
        writeln!(w, "{}", term(&line))?;
    }
    Ok(())
}

/// What a comparison knows to word a predicted conflict.
#[derive(Clone, Copy)]
pub struct Compared<'a> {
    pub revs: &'a compare::Revisions,
    pub divergence: &'a BTreeMap<String, AppDivergence>,
}

/// One app's predicted conflict in words, names as they are: each
/// renderer escapes the text it makes of them.
struct Prediction {
    /// ` after 0042_x`, or empty when the app is new since the merge base.
    after: String,
    /// Each leaf with the side it comes from, joined with "and".
    leaves: String,
    /// The command that fixes it, with the flags that show the same view.
    fix: String,
}

impl Compared<'_> {
    fn predict(&self, app: &str, leaves: &[String]) -> Prediction {
        let d = self.divergence.get(app);
        let base = &self.revs.base.rev;
        let described: Vec<String> = leaves
            .iter()
            .map(|l| match d.map(|d| d.side_of(l)) {
                Some(LeafSide::Ours) => format!("{l} (yours, only in {})", self.revs.head_name()),
                Some(LeafSide::Theirs) => format!("{l} (upstream, from {base})"),
                _ => format!("{l} (on both sides)"),
            })
            .collect();
        Prediction {
            after: d
                .and_then(|d| d.merge_base_leaf.clone())
                .map(|l| format!(" after {l}"))
                .unwrap_or_default(),
            leaves: described.join(" and "),
            fix: self.fix(app),
        }
    }

    /// The commands that fix an app's predicted conflict, fit for where
    /// they are printed: `resolve` works on a checkout of head, so when
    /// head is a revision that is not checked out here, they check it out
    /// first (in a bare repository, into a new worktree beside it).
    fn fix(&self, app: &str) -> String {
        let base = &self.revs.base.rev;
        // A name read as an option by git or by djmig's own flags: the
        // commit id, and `--base=`.
        let base_flag = if base.starts_with('-') {
            format!("--base={base}")
        } else {
            "--base".to_string()
        };
        let mut resolve = vec!["djmig", "resolve", app, base_flag.as_str()];
        if !base.starts_with('-') {
            resolve.push(base);
        }
        let resolve = shell_line(&resolve);
        let Some(head) = &self.revs.head else {
            return resolve;
        };
        let name = if head.rev.starts_with('-') {
            head.oid.to_string()
        } else {
            head.rev.clone()
        };
        match &self.revs.bare {
            Some(dir) => {
                let checkout = worktree_beside(dir, &name);
                let checkout = checkout.to_string_lossy();
                format!(
                    "{} && {} && {resolve}",
                    shell_line(&[
                        "git",
                        "-C",
                        &dir.to_string_lossy(),
                        "worktree",
                        "add",
                        &checkout,
                        &name
                    ]),
                    shell_line(&["cd", &checkout])
                )
            }
            None if self.revs.state.head.oid == Some(head.oid) => resolve,
            None => format!("{} && {resolve}", shell_line(&["git", "checkout", &name])),
        }
    }
}

/// A new directory beside a bare repository for a checkout of `rev`:
/// `/srv/shop.git` and `feature/x` give `/srv/shop-feature-x`.
fn worktree_beside(bare: &std::path::Path, rev: &str) -> std::path::PathBuf {
    let stem = bare
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
        .unwrap_or_default();
    let safe: String = rev
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = format!("{stem}-{}", safe.trim_matches(['-', '.']));
    bare.parent()
        .map(|p| p.join(&name))
        .unwrap_or_else(|| name.into())
}

/// Which side each leaf of a conflicted app came from, when git can tell:
/// the incoming side is MERGE_HEAD, the rebase's onto, a merge commit's
/// second parent, else the default base.
fn leaf_sides(ws: &Workspace, report: &GraphReport) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(repo) = ws.repo() else {
        return out;
    };
    let Ok(state) = repo.state() else { return out };
    let incoming = match compare::incoming_commit(&state) {
        Some(oid) => Some((oid, crate::adapters::git::short(oid))),
        None => compare::resolve_base(repo, ws, None)
            .ok()
            .map(|(r, _)| (r.oid, r.describe())),
    };
    let Some((oid, name)) = incoming else {
        return out;
    };
    // Checked out on the base itself, with nothing in progress, there is no
    // other side to tell apart.
    if compare::incoming_commit(&state).is_none() && state.head.oid == Some(oid) {
        return out;
    }
    let Ok(tree) = repo.tree(oid) else { return out };
    let mut sides = BTreeMap::new();
    for (app, leaves) in &report.conflicts {
        let dir = &report.apps[app].path;
        for leaf in leaves {
            let file = format!("{dir}/{leaf}.py");
            let side = if tree.is_file(&file) {
                format!("upstream, in {name}")
            } else {
                "yours".to_string()
            };
            sides.insert(format!("{app}.{leaf}"), side);
        }
    }
    // A side read with objects missing could call upstream's leaf yours.
    if super::missing_objects(&[&tree]).is_err() {
        return out;
    }
    out.extend(sides);
    if let Some(s) = compare::where_you_are(&state) {
        out.insert(String::new(), s);
    }
    out
}

/// The format asked for, else annotations inside GitHub Actions, else text.
pub fn check_format(asked: Option<CheckFormat>, env: &Env) -> CheckFormat {
    match asked {
        Some(f) => f,
        None if env.github_actions => CheckFormat::Github,
        None => CheckFormat::Text,
    }
}

/// GitHub Actions workflow commands: an `::error` on each leaf migration of
/// a conflicted app, and on each file with an error. Paths are relative to
/// the repository top, as GitHub wants them. With `compared`, a conflict is
/// a prediction: the leaves are those the merge would leave, and the fix
/// carries the same `--base`.
pub fn write_github(
    w: &mut dyn Write,
    report: &GraphReport,
    prefix: &str,
    compared: Option<Compared>,
) -> io::Result<()> {
    let path = |p: &str| {
        if prefix.is_empty() || p.starts_with('/') {
            p.to_string()
        } else {
            format!("{prefix}/{p}")
        }
    };
    for d in &report.errors {
        let mut props = String::new();
        if let Some(f) = &d.file {
            props.push_str(&format!(" file={}", gh_prop(&path(f))));
            if let Some(l) = d.line {
                props.push_str(&format!(",line={l}"));
            }
        }
        writeln!(w, "::error{props}::{}", gh_data(&d.message))?;
    }
    for (app, leaves) in &report.conflicts {
        let info = &report.apps[app];
        let (title, message) = match &compared {
            Some(c) => {
                let p = c.predict(app, leaves);
                (
                    format!("Migrations in {app} would conflict after merging {}", c.revs.base.rev),
                    format!(
                        "Merging {} would leave {app} with {} leaf migrations{}: {}. Django's migrate would stop with \"Conflicting migrations detected\". Fix: {}",
                        c.revs.base.describe(),
                        leaves.len(),
                        p.after,
                        p.leaves,
                        p.fix
                    ),
                )
            }
            None => (format!("Conflicting migrations in {app}"), String::new()),
        };
        for leaf in leaves {
            let message = if compared.is_some() {
                message.clone()
            } else {
                let others: Vec<&str> = leaves
                    .iter()
                    .filter(|l| *l != leaf)
                    .map(String::as_str)
                    .collect();
                format!(
                    "{app} has {} leaf migrations: {leaf} and {}. Django's migrate will stop with \"Conflicting migrations detected\". Fix: {}",
                    leaves.len(),
                    others.join(", "),
                    shell_line(&["djmig", "resolve", app])
                )
            };
            writeln!(
                w,
                "::error file={},line=1,title={}::{}",
                gh_prop(&path(&format!("{}/{leaf}.py", info.path))),
                gh_prop(&title),
                gh_data(&message)
            )?;
        }
    }
    Ok(())
}

/// The exit code of a report, once written.
pub fn finish(written: io::Result<()>, report: &GraphReport) -> Result<Exit> {
    if let Err(e) = written {
        if !is_broken_pipe(&e) {
            return Err(Error::failed("cannot write the output").cause(e));
        }
    }
    Ok(if !report.errors.is_empty() {
        Exit::Graph
    } else if !report.conflicts.is_empty() || crate::core::dlm::fails_check(report) {
        Exit::Conflicts
    } else {
        Exit::Ok
    })
}

fn write_text(
    w: &mut dyn Write,
    paint: crate::terminal::style::Paint,
    report: &GraphReport,
    sides: &BTreeMap<String, String>,
) -> io::Result<()> {
    if !report.errors.is_empty() {
        writeln!(
            w,
            "The migration graph cannot be built: {} error(s), listed above. Django's migrate would stop too.",
            report.errors.len()
        )?;
        return Ok(());
    }
    if report.conflicts.is_empty() {
        let n: usize = report.apps.values().map(|a| a.nodes.len()).sum();
        writeln!(
            w,
            "No conflicts: {} app(s), {n} migration(s), one leaf per app.",
            report.apps.len()
        )?;
        return Ok(());
    }
    // Names are painted (and so escaped) or escaped with `term`.
    for (app, leaves) in &report.conflicts {
        let info = &report.apps[app];
        writeln!(
            w,
            "{}: {} leaf migrations; Django will stop with \"Conflicting migrations detected\"",
            paint.app(app),
            leaves.len()
        )?;
        for leaf in leaves {
            let name = paint.leaf(leaf);
            let file = format!("{}/{leaf}.py", info.path);
            match sides.get(&format!("{app}.{leaf}")) {
                Some(side) => writeln!(w, "  {name:<40} {}  ({})", term(&file), term(side))?,
                None => writeln!(w, "  {name:<40} {}", term(&file))?,
            }
        }
    }
    if let Some(s) = sides.get("") {
        writeln!(w, "{}", term(s))?;
    }
    let mut next = vec!["djmig", "resolve"];
    next.extend(report.conflicts.keys().map(String::as_str));
    writeln!(w)?;
    writeln!(w, "next: {}", paint.command(&shell_line(&next)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diag::DiagKind;
    use crate::core::report::DiagReport;

    /// What is stored borrowed reads back as the stored form of the same
    /// report: the two encodings must not drift apart.
    #[test]
    fn a_report_stored_borrowed_reads_back_whole() {
        let mut project = crate::core::load::Project::default();
        project
            .diags
            .push(crate::core::diag::Diag::new(DiagKind::External, "w").at("a.py", Some(3)));
        let built = crate::core::graph::build_graph(&project, false);
        let mut report = GraphReport::new(&project, &built.graph, &built.errors, &BTreeSet::new());
        report.edges.push(["a.0002".into(), "a.0001".into()]);
        report
            .conflicts
            .insert("a".into(), vec!["0002_x".into(), "0002_y".into()]);
        report
            .external
            .insert("auth".into(), vec!["0001_initial".into()]);
        report.errors.push(DiagReport {
            kind: DiagKind::Syntax,
            message: "bad".into(),
            file: Some("a/migrations/0002_x.py".into()),
            line: Some(4),
            col: Some(9),
        });
        let bytes = postcard::to_stdvec(&StoredReportRef::of(&report)).unwrap();
        assert_eq!(
            bytes,
            postcard::to_stdvec(&StoredReport::from(&report)).unwrap()
        );
        let back: StoredReport = postcard::from_bytes(&bytes).unwrap();
        let back = GraphReport::from(back);
        assert_eq!(back.errors, report.errors);
        assert_eq!(back.errors[0].col, Some(9));
        assert_eq!(back.warnings, report.warnings);
    }
}
