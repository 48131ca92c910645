//! Reading a whole project: discovery, parsing every migration module (in
//! parallel), resolving swappable dependencies, and pulling in the apps the
//! project depends on from the virtualenv — the data Django's
//! `MigrationLoader.load_disk` would produce.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;

use rayon::prelude::*;

use super::config::{exclude_matcher, Config};
use super::diag::{Diag, DiagKind};
use super::discover::{discover, module_names, DiscoverOptions, LabelSource, Package, PackageKind};
use super::keys::MigrationKey;
use super::pyparse::{self, DepEntry, FileProblemKind, ParsedMigration, PyValue};
use super::settings::{resolve_settings, ResolvedSettings};
use super::tree::SourceTree;

/// Where an app's migrations come from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Project,
    Environment,
}

/// An app with a migrations package (or an unmigrated one).
#[derive(Debug, Clone)]
pub struct App {
    pub label: String,
    /// The migrations directory: relative to the project root for project
    /// apps, relative to site-packages for environment apps.
    pub path: String,
    pub origin: Origin,
    pub kind: PackageKind,
    pub label_from: LabelSource,
}

/// One migration as read from its file, dependencies resolved to keys.
#[derive(Debug, Clone)]
pub struct Migration {
    pub key: MigrationKey,
    pub file: String,
    pub origin: Origin,
    pub parsed: Arc<ParsedMigration>,
    pub dependencies: Vec<MigrationKey>,
    pub replaces: Vec<MigrationKey>,
    pub run_before: Vec<MigrationKey>,
    /// Entries of the three lists that are no `(app_label, name)` pair of
    /// strings; the graph decides what Django makes of them.
    pub odd: Vec<OddEntry>,
}

/// Which list an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepAttr {
    Dependencies,
    Replaces,
    RunBefore,
}

impl DepAttr {
    pub fn name(self) -> &'static str {
        match self {
            DepAttr::Dependencies => "dependencies",
            DepAttr::Replaces => "replaces",
            DepAttr::RunBefore => "run_before",
        }
    }
}

/// An entry that is a literal but no pair of strings.
#[derive(Debug, Clone)]
pub struct OddEntry {
    pub attr: DepAttr,
    pub value: PyValue,
    pub line: u32,
}

impl Migration {
    /// Django's `if migration.replaces:`: the migration is a squash.
    pub fn is_replacing(&self) -> bool {
        !self.replaces.is_empty() || self.odd.iter().any(|e| e.attr == DepAttr::Replaces)
    }
}

/// Everything read from one snapshot of a project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Migrated apps by label.
    pub apps: BTreeMap<String, App>,
    /// Apps without migrations (namespace dir, `MIGRATION_MODULES = None`).
    pub unmigrated: BTreeSet<String>,
    pub migrations: BTreeMap<MigrationKey, Migration>,
    /// Referenced apps found nowhere: label → referenced names.
    pub external: BTreeMap<String, BTreeSet<String>>,
    pub settings: ResolvedSettings,
    pub diags: Vec<Diag>,
}

impl Project {
    /// The project's own migrated apps (not those read from the virtualenv).
    pub fn project_apps(&self) -> impl Iterator<Item = &App> {
        self.apps.values().filter(|a| a.origin == Origin::Project)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diag> {
        self.diags.iter().filter(|d| d.kind.is_error())
    }
}

/// Reads and parses one migration file; implementations may cache by blob.
pub trait MigrationReader: Sync {
    fn parse(&self, tree: &dyn SourceTree, path: &str) -> io::Result<Arc<ParsedMigration>>;
}

/// Reads the file and parses what the graph needs, every time.
pub struct PlainReader;

impl MigrationReader for PlainReader {
    fn parse(&self, tree: &dyn SourceTree, path: &str) -> io::Result<Arc<ParsedMigration>> {
        let src = tree.read(path)?;
        Ok(Arc::new(pyparse::parse_migration_graph(&src)))
    }
}

/// Apps outside the project: a virtualenv's site-packages.
pub struct Environment<'a> {
    pub tree: &'a dyn SourceTree,
    /// How to show a path in it (the site-packages directory).
    pub display_root: String,
}

/// What to read and how.
pub struct LoadOptions<'a> {
    pub config: &'a Config,
    /// The project root directory's name (see `DiscoverOptions::root_name`).
    pub root_name: &'a str,
    pub env: Option<Environment<'a>>,
    pub reader: &'a dyn MigrationReader,
}

/// Read a project.
pub fn load_project(tree: &dyn SourceTree, opts: &LoadOptions) -> Project {
    let mut p = Project::default();
    p.settings = resolve_settings(tree, opts.config, &mut p.diags);
    let dopts = DiscoverOptions {
        app_labels: opts
            .config
            .app_labels
            .iter()
            .map(|(k, v)| (k.trim_end_matches('/').replace('.', "/"), v.to_string()))
            .collect(),
        migration_modules: p.settings.migration_modules.clone(),
        exclude: exclude_matcher(&opts.config.exclude),
        root_name: opts.root_name.to_string(),
        import_root: p.settings.import_root.clone(),
    };
    let found = discover(tree, &dopts);
    p.diags.extend(found.diags);

    // One package per label; more is Django's "Application labels aren't
    // unique".
    let mut by_label: BTreeMap<&str, Vec<&Package>> = BTreeMap::new();
    for pkg in &found.packages {
        by_label.entry(&pkg.label).or_default().push(pkg);
    }
    let mut chosen = Vec::new();
    for (label, pkgs) in by_label {
        if pkgs.len() > 1 {
            let paths: Vec<&str> = pkgs.iter().map(|p| p.dir.as_str()).collect();
            p.diags.push(
                Diag::new(
                    DiagKind::DuplicateAppLabel,
                    format!(
                        "Application labels aren't unique, duplicates: {label} (in {}); \
                         set a distinct `label` in one app's AppConfig or map it in `app_labels` in .djmig.yml",
                        paths.join(" and ")
                    ),
                )
                .at(pkgs[1].dir.clone(), None),
            );
        }
        chosen.push(pkgs[0].clone());
    }
    load_packages(&mut p, tree, &chosen, Origin::Project, opts.reader, None);

    if let Some(env) = &opts.env {
        load_environment(&mut p, env, opts.reader);
    }

    // Whatever is still referenced but found nowhere is external.
    let known: BTreeSet<String> = p.apps.keys().chain(p.unmigrated.iter()).cloned().collect();
    let mut external: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in p.migrations.values() {
        for dep in m.dependencies.iter().chain(&m.run_before) {
            if dep.app != m.key.app && !known.contains(&dep.app) {
                external
                    .entry(dep.app.clone())
                    .or_default()
                    .insert(dep.name.clone());
            }
        }
    }
    for (label, names) in &external {
        let first = p.migrations.values().find(|m| {
            m.dependencies
                .iter()
                .chain(&m.run_before)
                .any(|d| &d.app == label)
        });
        let mut d = Diag::new(
            DiagKind::External,
            format!(
                "app {label} ({}) is referenced but is neither in the project nor in a known virtualenv; \
                 its migrations are taken as given (set `python:` in .djmig.yml or activate the virtualenv to read them)",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        );
        if let Some(m) = first {
            d = d.at(m.file.clone(), None);
        }
        p.diags.push(d);
    }
    p.external = external;
    p
}

/// Parse the packages' modules and add apps and migrations.
fn load_packages(
    p: &mut Project,
    tree: &dyn SourceTree,
    packages: &[Package],
    origin: Origin,
    reader: &dyn MigrationReader,
    display_root: Option<&str>,
) {
    let display = |file: &str| match display_root {
        Some(root) => format!("{root}/{file}"),
        None => file.to_string(),
    };
    // Which modules to read.
    let mut jobs: Vec<(usize, String, String)> = Vec::new();
    let mut unimportable: Vec<(usize, (String, String, &str))> = Vec::new();
    for (i, pkg) in packages.iter().enumerate() {
        match pkg.kind {
            PackageKind::Package => {
                let found = module_names(tree, &pkg.dir);
                for f in found.compiled {
                    p.diags.push(
                        Diag::new(
                            DiagKind::Parse,
                            "compiled module without source: Django would import it, djmig cannot read it; delete it if stale",
                        )
                        .at(display(&f), None),
                    );
                }
                unimportable.extend(found.unimportable.into_iter().map(|u| (i, u)));
                jobs.extend(found.sources.into_iter().map(|(n, f)| (i, n, f)));
            }
            PackageKind::Namespace | PackageKind::Module | PackageKind::Disabled => {
                p.unmigrated.insert(pkg.label.clone());
            }
        }
    }
    let parsed: Vec<io::Result<Arc<ParsedMigration>>> = jobs
        .par_iter()
        .map(|(_, _, file)| reader.parse(tree, file))
        .collect();

    let mut per_pkg: BTreeMap<usize, Vec<(String, String, Arc<ParsedMigration>)>> = BTreeMap::new();
    for ((i, name, file), res) in jobs.into_iter().zip(parsed) {
        match res {
            Ok(m) => per_pkg.entry(i).or_default().push((name, file, m)),
            Err(e) => p.diags.push(
                Diag::new(DiagKind::Unreadable, format!("cannot read the file: {e}"))
                    .at(display(&file), None),
            ),
        }
    }
    for (i, pkg) in packages.iter().enumerate() {
        if pkg.kind != PackageKind::Package {
            continue;
        }
        let mods = per_pkg.remove(&i).unwrap_or_default();
        if !mods.is_empty() && !pkg.explicit && !mods.iter().any(|(_, _, m)| m.has_migration_class)
        {
            p.diags.push(
                Diag::new(
                    DiagKind::NotAMigrationsPackage,
                    "no module in this package defines a Migration class; not a migrations package, ignored",
                )
                .at(display(&pkg.dir), None),
            );
            continue;
        }
        for (_, (name, file, what)) in unimportable.iter().filter(|(j, _)| *j == i) {
            p.diags.push(
                Diag::new(
                    DiagKind::ImportError,
                    format!(
                        "Django imports migration {name} of app {}, but {} is {what}: \
                         ModuleNotFoundError; replace it with the migration's file, or remove it",
                        pkg.label,
                        display(file)
                    ),
                )
                .at(display(file), None),
            );
        }
        p.apps.insert(
            pkg.label.clone(),
            App {
                label: pkg.label.clone(),
                path: display(&pkg.dir),
                origin,
                kind: pkg.kind,
                label_from: pkg.label_from,
            },
        );
        for (name, file, m) in mods {
            let file = display(&file);
            for prob in &m.problems {
                let kind = match prob.kind {
                    FileProblemKind::Syntax => DiagKind::Syntax,
                    FileProblemKind::NonLiteral => DiagKind::NonLiteral,
                    FileProblemKind::Note => DiagKind::Parse,
                    FileProblemKind::Invalid => DiagKind::InvalidValue,
                };
                p.diags.push(
                    Diag::new(kind, prob.message.clone())
                        .at(file.clone(), Some(prob.line))
                        .col(prob.col),
                );
            }
            if !m.has_migration_class {
                p.diags.push(
                    Diag::new(
                        DiagKind::BadMigration,
                        format!(
                            "Migration {name} in app {} has no Migration class",
                            pkg.label
                        ),
                    )
                    .at(file, None),
                );
                continue;
            }
            if m.class_without_base {
                p.diags.push(
                    Diag::new(
                        DiagKind::InvalidValue,
                        format!(
                            "class Migration has no base class: Django's Migration({name:?}, {:?}) \
                             raises TypeError (Migration() takes no arguments); derive it from \
                             migrations.Migration",
                            pkg.label
                        ),
                    )
                    .at(file.clone(), Some(m.class_line)),
                );
            }
            let key = MigrationKey::new(pkg.label.clone(), name);
            let mut odd = Vec::new();
            let mut resolve = |attr: DepAttr, entries: &[DepEntry]| -> Vec<MigrationKey> {
                let mut keys = Vec::with_capacity(entries.len());
                for e in entries {
                    if let DepEntry::Value { value, line } = e {
                        odd.push(OddEntry {
                            attr,
                            value: value.clone(),
                            line: *line,
                        });
                    } else if let Some(k) = resolve_dep(e, &p.settings, &file, &mut p.diags) {
                        keys.push(k);
                    }
                }
                keys
            };
            let dependencies = resolve(DepAttr::Dependencies, &m.dependencies);
            let replaces = resolve(DepAttr::Replaces, &m.replaces);
            let run_before = resolve(DepAttr::RunBefore, &m.run_before);
            if replaces.contains(&key) {
                p.diags.push(self_replacing(&key, &file, &m));
            }
            p.migrations.insert(
                key.clone(),
                Migration {
                    key,
                    file,
                    origin,
                    parsed: m,
                    dependencies,
                    replaces,
                    run_before,
                    odd,
                },
            );
        }
    }
}

/// A squash that names itself in `replaces`. Django 5.2 loads it, dropping
/// it from `graph.nodes` while the migrations around it keep their edges to
/// it; any command that then plans migrations (`migrate`, `makemigrations`,
/// `showmigrations`) fails with a `KeyError` for it.
fn self_replacing(key: &MigrationKey, file: &str, m: &ParsedMigration) -> Diag {
    let line = m.replaces.iter().find_map(|e| match e {
        DepEntry::Key { app, name, line } if app.value == key.app && name.value == key.name => {
            Some(*line)
        }
        _ => None,
    });
    Diag::new(
        DiagKind::SelfReplacing,
        format!(
            "{key} lists itself in `replaces`: Django's loader drops it from the graph, and \
             once a migration depends on it (or on what it replaces) `migrate`, `makemigrations` \
             and `showmigrations` fail with KeyError: ('{}', '{}'); remove it from its own `replaces`",
            key.app, key.name
        ),
    )
    .at(file.to_string(), line)
}

/// `DepEntry` → key, resolving swappable settings like
/// `django.db.migrations.swappable_dependency`.
fn resolve_dep(
    e: &DepEntry,
    settings: &ResolvedSettings,
    file: &str,
    diags: &mut Vec<Diag>,
) -> Option<MigrationKey> {
    match e {
        DepEntry::Key { app, name, .. } => {
            Some(MigrationKey::new(app.value.clone(), name.value.clone()))
        }
        DepEntry::Swappable {
            setting,
            default,
            line,
        } => {
            let value = settings.values.get(setting).or(default.as_ref());
            if let (Some(v), Some(why)) = (value, settings.assumed.get(setting)) {
                // Said once per project: the first swappable dependency that
                // needs it names its file.
                let head = format!("{setting} assumed");
                let said = diags
                    .iter()
                    .any(|d| d.kind == DiagKind::Settings && d.message.starts_with(&head));
                if !said {
                    diags.push(
                        Diag::new(
                            DiagKind::Settings,
                            format!(
                                "{setting} assumed to be {v:?}, Django's default: {why}; swappable \
                                 dependencies on it point at that app (give it under `settings:` in .djmig.yml)"
                            ),
                        )
                        .at(file.to_string(), Some(*line)),
                    );
                }
            }
            match value {
                Some(v) => {
                    let app = v.split('.').next().unwrap_or(v);
                    Some(MigrationKey::new(app, "__first__"))
                }
                None => {
                    diags.push(
                        Diag::new(
                            DiagKind::Settings,
                            format!(
                                "swappable_dependency(settings.{setting}): {setting} is not set literally in the settings module; \
                                 dependency skipped (give it under `settings:` in .djmig.yml)"
                            ),
                        )
                        .at(file.to_string(), Some(*line)),
                    );
                    None
                }
            }
        }
        DepEntry::Value { .. } => None,
    }
}

/// Load the apps the project references from the environment, transitively.
fn load_environment(p: &mut Project, env: &Environment, reader: &dyn MigrationReader) {
    let mut index: Option<BTreeMap<String, Package>> = None;
    let mut tried: BTreeSet<String> = BTreeSet::new();
    loop {
        let known: BTreeSet<&String> = p.apps.keys().chain(p.unmigrated.iter()).collect();
        let wanted: BTreeSet<String> = p
            .migrations
            .values()
            .flat_map(|m| m.dependencies.iter().chain(&m.run_before))
            .map(|d| d.app.clone())
            .filter(|a| !known.contains(a) && !tried.contains(a))
            .collect();
        if wanted.is_empty() {
            return;
        }
        let index = index.get_or_insert_with(|| {
            let mut out = BTreeMap::new();
            let d = discover(env.tree, &DiscoverOptions::default());
            for pkg in d.packages {
                out.entry(pkg.label.clone()).or_insert(pkg);
            }
            out
        });
        let pkgs: Vec<Package> = wanted
            .iter()
            .filter_map(|l| index.get(l).cloned())
            .collect();
        tried.extend(wanted);
        let pkgs: Vec<Package> = pkgs
            .into_iter()
            .map(|mut pk| {
                pk.explicit = true;
                pk
            })
            .collect();
        load_packages(
            p,
            env.tree,
            &pkgs,
            Origin::Environment,
            reader,
            Some(&env.display_root),
        );
    }
}
