//! What `djmig review` reads, copied into plain data for the core: the
//! migrations a branch adds, edits, renames and deletes relative to its
//! merge base with the base (a tree comparison that skips every migrations
//! package git says is unchanged), or every migration of the work tree, or
//! the files named.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use crate::adapters::fs::tree::FsTree;
use crate::adapters::git::{hash_blob, GitTree, Snapshot};
use crate::core::config::exclude_matcher;
use crate::core::discover::{discover, module_names, DiscoverOptions, PackageKind};
use crate::core::pyparse::{parse_migration, parse_migration_graph, DepEntry, ParsedMigration};
use crate::core::review::{
    module_facts, pair_renames, Branch, Deleted, Edited, FieldHistory, FieldLookup, ModuleFacts,
    SideFile,
};
use crate::core::rewrite::parse_number;
use crate::core::settings::resolve_settings;
use crate::core::tree::SourceTree;
use crate::error::{Error, Result};
use crate::workspace::Workspace;

use super::super::compare::Revisions;

/// One migration to run the operation rules on.
pub struct Source {
    pub app: String,
    pub name: String,
    /// Project-relative path.
    pub file: String,
    pub bytes: Vec<u8>,
    pub parsed: ParsedMigration,
    pub facts: ModuleFacts,
}

/// A file that could not be reviewed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileError {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

/// Everything read for one review.
pub struct Gathered<'t> {
    /// `branch`, `all` or `files`.
    pub mode: &'static str,
    /// The comparison, with `--base` (the default mode).
    pub revs: Option<Revisions>,
    pub branch: Option<Branch>,
    /// The files the operation rules read.
    pub sources: Vec<Source>,
    /// Whether models created by earlier files of `sources` count as new
    /// (a branch's migrations: yes; every migration, or files named: no).
    pub chain: bool,
    pub errors: Vec<FileError>,
    /// Every file looked at (project-relative), for the report.
    pub reviewed: Vec<String>,
    /// Other files whose suppression comments count (renamed migrations).
    pub comment_sources: Vec<(String, Vec<u8>)>,
    /// The head's migrations, for `AlterField` history.
    pub history: History<'t>,
}

/// `label → migrations directory` of the project's migrated apps.
fn packages(ws: &Workspace, tree: &dyn SourceTree) -> BTreeMap<String, String> {
    let mut diags = Vec::new();
    let settings = resolve_settings(tree, &ws.config, &mut diags);
    let opts = DiscoverOptions {
        app_labels: ws
            .config
            .app_labels
            .iter()
            .map(|(k, v)| (k.trim_end_matches('/').replace('.', "/"), v.to_string()))
            .collect(),
        migration_modules: settings.migration_modules.clone(),
        exclude: exclude_matcher(&ws.config.exclude),
        import_root: settings.import_root.clone(),
        root_name: crate::workspace::root_name(&ws.root),
    };
    let mut out = BTreeMap::new();
    for p in discover(tree, &opts).packages {
        if p.kind == PackageKind::Package {
            out.entry(p.label).or_insert(p.dir);
        }
    }
    out
}

/// Only the apps asked for (all when none); an unknown label is a usage
/// error.
fn select(known: &BTreeSet<String>, apps: &[String]) -> Result<Option<BTreeSet<String>>> {
    if apps.is_empty() {
        return Ok(None);
    }
    for a in apps {
        if !known.contains(a) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(Error::usage(format!(
                "no app labelled {a:?} has migrations in this project"
            ))
            .hint(format!("known app labels: {}", list.join(", "))));
        }
    }
    Ok(Some(apps.iter().cloned().collect()))
}

/// A file's blob id, from what the tree knows or by hashing its bytes.
fn blob(tree: &dyn SourceTree, path: &str) -> Result<[u8; 20]> {
    if let Some(id) = tree.blob_id(path) {
        return Ok(id);
    }
    Ok(hash_blob(&read(tree, path)?))
}

fn read(tree: &dyn SourceTree, path: &str) -> Result<Vec<u8>> {
    tree.read(path)
        .map_err(|e| Error::new(crate::error::Exit::Graph, format!("cannot read {path}")).cause(e))
}

/// `djmig review [--base REV] [--head REV] [APP…]`: `head` is the head
/// side's tree (the work tree, recorded for the result cache, or a
/// commit's).
pub fn branch<'t>(
    ws: &Workspace,
    revs: Revisions,
    mb: &GitTree,
    base_tree: &GitTree,
    head_tree: &'t dyn Snapshot,
    apps: &[String],
) -> Result<Gathered<'t>> {
    let head_pk = packages(ws, head_tree);
    let mb_pk = packages(ws, mb);
    let known: BTreeSet<String> = head_pk.keys().chain(mb_pk.keys()).cloned().collect();
    let only = select(&known, apps)?;

    let mut added = Vec::new();
    let mut deleted = Vec::new();
    let mut edited = Vec::new();
    let mut head_names: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for label in &known {
        if only.as_ref().is_some_and(|o| !o.contains(label)) {
            continue;
        }
        let (hd, md) = (head_pk.get(label), mb_pk.get(label));
        if let (Some(h), Some(m)) = (hd, md) {
            let id = head_tree.dir_id(h);
            if h == m && id.is_some() && id == mb.dir_id(m) {
                continue;
            }
        }
        let names_at = |t: &dyn SourceTree, d: Option<&String>| -> Vec<(String, String)> {
            d.map(|d| module_names(t, d).sources).unwrap_or_default()
        };
        let hn = names_at(head_tree, hd);
        let mn: BTreeMap<String, String> = names_at(mb, md).into_iter().collect();
        let in_head: BTreeSet<&str> = hn.iter().map(|(n, _)| n.as_str()).collect();
        for (name, file) in &hn {
            let side = |blob| SideFile {
                app: label.clone(),
                name: name.clone(),
                file: file.clone(),
                blob,
            };
            match mn.get(name) {
                None => added.push(side(blob(head_tree, file)?)),
                Some(mfile) => {
                    let (a, b) = (blob(mb, mfile)?, blob(head_tree, file)?);
                    if a != b {
                        edited.push((label.clone(), name.clone(), mfile.clone(), file.clone()));
                    }
                }
            }
        }
        for (name, mfile) in &mn {
            if !in_head.contains(name.as_str()) {
                deleted.push(SideFile {
                    app: label.clone(),
                    name: name.clone(),
                    file: mfile.clone(),
                    blob: blob(mb, mfile)?,
                });
            }
        }
        head_names.insert(label.clone(), hn);
    }
    let mut git_sides: Vec<&dyn SourceTree> = vec![mb, base_tree];
    if revs.head.is_some() {
        git_sides.push(head_tree);
    }
    super::super::missing_objects(&git_sides)?;

    let (renamed, deleted, added) = pair_renames(deleted, added);
    let mut reviewed: BTreeSet<String> = BTreeSet::new();
    let mut branch = Branch {
        base: revs.base.rev.clone(),
        merge_base: crate::adapters::git::short(revs.merge_base),
        repo_prefix: ws.repo_prefix.clone(),
        ..Branch::default()
    };
    for (app, name, mfile, file) in edited {
        reviewed.insert(file.clone());
        branch.edited.push(Edited {
            app,
            name,
            before: read(mb, &mfile)?,
            after: read(head_tree, &file)?,
            file,
        });
    }
    for d in deleted {
        reviewed.insert(d.file.clone());
        let replaced_by = squash_replacing(head_tree, head_names.get(&d.app), &d);
        branch.deleted.push(Deleted {
            app: d.app,
            name: d.name,
            file: d.file,
            replaced_by,
        });
    }
    let mut comment_sources = Vec::new();
    for r in &renamed {
        reviewed.insert(r.to_file.clone());
        comment_sources.push((r.to_file.clone(), read(head_tree, &r.to_file)?));
    }
    branch.renamed = renamed;
    // The base's names, for the numbering rules.
    let added_keys: BTreeSet<(&str, &str)> = added
        .iter()
        .map(|a| (a.app.as_str(), a.name.as_str()))
        .collect();
    let apps_added: BTreeSet<&str> = added.iter().map(|a| a.app.as_str()).collect();
    for app in apps_added {
        let Some(dir) = head_pk.get(app) else {
            continue;
        };
        let names = module_names(base_tree, dir)
            .sources
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !added_keys.contains(&(app, n.as_str())))
            .collect();
        branch.base_names.insert(app.to_string(), names);
    }
    super::super::missing_objects(&[base_tree])?;
    let (sources, errors) = load_sources(head_tree, &added);
    branch.squashes = sources
        .iter()
        .filter(|s| !s.parsed.replaces.is_empty())
        .map(|s| s.file.clone())
        .collect();
    reviewed.extend(added.iter().map(|a| a.file.clone()));
    branch.added = added;
    Ok(Gathered {
        mode: "branch",
        revs: Some(revs),
        branch: Some(branch),
        sources,
        chain: true,
        errors,
        reviewed: reviewed.into_iter().collect(),
        comment_sources,
        history: History::new(head_tree, head_names),
    })
}

/// The squashed migration at head whose `replaces` lists a deleted one.
fn squash_replacing(
    head: &dyn SourceTree,
    names: Option<&Vec<(String, String)>>,
    d: &SideFile,
) -> Option<String> {
    for (name, file) in names? {
        let Ok(bytes) = head.read(file) else { continue };
        if !contains(&bytes, d.name.as_bytes()) {
            continue;
        }
        let parsed = parse_migration_graph(&bytes);
        let replaces = parsed.replaces.iter().any(|r| {
            matches!(r, DepEntry::Key { app, name, .. } if app.value == d.app && name.value == d.name)
        });
        if replaces {
            return Some(name.clone());
        }
    }
    None
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Read and parse the files to review (in parallel); files that cannot be
/// read or parsed are errors.
fn load_sources(tree: &dyn SourceTree, files: &[SideFile]) -> (Vec<Source>, Vec<FileError>) {
    let results: Vec<std::result::Result<Source, FileError>> = files
        .par_iter()
        .map(|f| {
            let bytes = tree.read(&f.file).map_err(|e| FileError {
                file: f.file.clone(),
                line: None,
                column: None,
                message: format!("cannot read the file: {e}"),
            })?;
            let parsed = parse_migration(&bytes);
            if let Some(p) = parsed
                .problems
                .iter()
                .find(|p| p.kind == crate::core::pyparse::FileProblemKind::Syntax)
            {
                return Err(FileError {
                    file: f.file.clone(),
                    line: Some(p.line),
                    column: Some(p.col),
                    message: format!("syntax error: {}", p.message),
                });
            }
            if !parsed.has_migration_class {
                return Err(FileError {
                    file: f.file.clone(),
                    line: None,
                    column: None,
                    message:
                        "no Migration class: Django cannot load this module (BadMigrationError)"
                            .to_string(),
                });
            }
            let facts = module_facts(&bytes);
            Ok(Source {
                app: f.app.clone(),
                name: f.name.clone(),
                file: f.file.clone(),
                bytes,
                parsed,
                facts,
            })
        })
        .collect();
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => sources.push(s),
            Err(e) => errors.push(e),
        }
    }
    (sources, errors)
}

/// Every migration of the work tree (`--all`), or only those of `apps`.
pub fn all<'t>(ws: &Workspace, tree: &'t FsTree, apps: &[String]) -> Result<Gathered<'t>> {
    let pk = packages(ws, tree);
    let known: BTreeSet<String> = pk.keys().cloned().collect();
    let only = select(&known, apps)?;
    let mut files = Vec::new();
    let mut names = BTreeMap::new();
    for (label, dir) in &pk {
        let n = module_names(tree, dir).sources;
        if only.as_ref().is_none_or(|o| o.contains(label)) {
            files.extend(n.iter().map(|(name, file)| SideFile {
                app: label.clone(),
                name: name.clone(),
                file: file.clone(),
                blob: [0; 20],
            }));
        }
        names.insert(label.clone(), n);
    }
    Ok(standalone("all", tree, names, &files))
}

/// The migration files named on the command line (relative to the current
/// directory, or absolute).
pub fn files<'t>(ws: &Workspace, tree: &'t FsTree, paths: &[String]) -> Result<Gathered<'t>> {
    let pk = packages(ws, tree);
    let mut names = BTreeMap::new();
    let mut by_file: HashMap<String, (String, String)> = HashMap::new();
    for (label, dir) in &pk {
        let n = module_names(tree, dir).sources;
        for (name, file) in &n {
            by_file.insert(file.clone(), (label.clone(), name.clone()));
        }
        names.insert(label.clone(), n);
    }
    let root = ws.root.canonicalize().unwrap_or_else(|_| ws.root.clone());
    let cwd = std::env::current_dir().unwrap_or_else(|_| ws.root.clone());
    let mut files = Vec::new();
    for p in paths {
        let abs = cwd.join(p);
        let abs = abs
            .canonicalize()
            .map_err(|e| Error::usage(format!("{p}: cannot open the file")).cause(e))?;
        let rel = relative(&root, &abs).ok_or_else(|| {
            Error::usage(format!("{p} is outside the project ({})", root.display()))
        })?;
        let Some((app, name)) = by_file.get(&rel) else {
            return Err(
                Error::usage(format!("{p} is not a migration of any app of this project"))
                    .hint("name files inside an app's migrations package, or review by app label"),
            );
        };
        files.push(SideFile {
            app: app.clone(),
            name: name.clone(),
            file: rel,
            blob: [0; 20],
        });
    }
    files.sort();
    files.dedup();
    Ok(standalone("files", tree, names, &files))
}

fn relative(root: &Path, abs: &Path) -> Option<String> {
    let rel = abs.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

fn standalone<'t>(
    mode: &'static str,
    tree: &'t FsTree,
    names: BTreeMap<String, Vec<(String, String)>>,
    files: &[SideFile],
) -> Gathered<'t> {
    let (sources, errors) = load_sources(tree, files);
    Gathered {
        mode,
        revs: None,
        branch: None,
        sources,
        chain: false,
        errors,
        reviewed: files.iter().map(|f| f.file.clone()).collect(),
        comment_sources: Vec::new(),
        history: History::new(tree, names),
    }
}

/// The head's migrations, read on demand to find what a field was before
/// an `AlterField`: newest first by number, only files that name the
/// field parsed.
pub struct History<'t> {
    tree: &'t dyn SourceTree,
    names: BTreeMap<String, Vec<(String, String)>>,
    bytes: RefCell<HashMap<String, Arc<Vec<u8>>>>,
    parsed: RefCell<HashMap<String, Arc<ParsedMigration>>>,
}

impl<'t> History<'t> {
    fn new(tree: &'t dyn SourceTree, names: BTreeMap<String, Vec<(String, String)>>) -> Self {
        History {
            tree,
            names,
            bytes: RefCell::default(),
            parsed: RefCell::default(),
        }
    }

    fn bytes(&self, file: &str) -> Option<Arc<Vec<u8>>> {
        if let Some(b) = self.bytes.borrow().get(file) {
            return Some(b.clone());
        }
        let b = Arc::new(self.tree.read(file).ok()?);
        self.bytes.borrow_mut().insert(file.to_string(), b.clone());
        Some(b)
    }

    fn parsed(&self, file: &str, bytes: &[u8]) -> Arc<ParsedMigration> {
        if let Some(p) = self.parsed.borrow().get(file) {
            return p.clone();
        }
        let p = Arc::new(parse_migration(bytes));
        self.parsed.borrow_mut().insert(file.to_string(), p.clone());
        p
    }
}

impl FieldHistory for History<'_> {
    fn previous(&self, app: &str, before: &str, model: &str, field: &str) -> Option<String> {
        let names = self.names.get(app)?;
        let key = |n: &str| (parse_number(n).unwrap_or(0), n.to_string());
        let limit = key(before);
        let mut earlier: Vec<(&String, &String)> = names
            .iter()
            .filter(|(n, _)| key(n) < limit)
            .map(|(n, f)| (n, f))
            .collect();
        earlier.sort_by_key(|(n, _)| std::cmp::Reverse(key(n)));
        let mut lookup = FieldLookup::new(model, field);
        for (_, file) in earlier {
            let Some(bytes) = self.bytes(file) else {
                continue;
            };
            if !lookup.wants(&bytes) {
                continue;
            }
            if lookup.feed(&self.parsed(file, &bytes)) {
                break;
            }
        }
        lookup.result()
    }
}
