//! Finding migrations packages and app labels, mirroring what Django's
//! `MigrationLoader.load_disk` would import — without importing anything.

use std::collections::BTreeMap;

use super::diag::{Diag, DiagKind};
use super::keys::is_identifier;
use super::pyparse::{self, PyValue};
use super::tree::{join, split_parent, EntryKind, SourceTree};

/// Directory names never descended into.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "site-packages",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// How a package was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// A directory with `__init__.py`: the app is migrated.
    Package,
    /// A directory without `__init__.py`: a namespace package, the app is
    /// unmigrated (Django ≥ 3.1).
    Namespace,
    /// `MIGRATION_MODULES` points at a plain module (`migrations.py`):
    /// unmigrated.
    Module,
    /// `MIGRATION_MODULES` points at nothing, or is `None`: unmigrated.
    Disabled,
}

/// Where an app's label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    Config,
    AppsPy,
    DirName,
    MigrationModules,
}

/// One candidate migrations package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub label: String,
    /// The migrations directory, relative to the tree root.
    pub dir: String,
    pub kind: PackageKind,
    /// Named in `MIGRATION_MODULES`: never skipped for lack of `Migration`.
    pub explicit: bool,
    pub label_from: LabelSource,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// App directory (relative, '/'-separated) → label.
    pub app_labels: BTreeMap<String, String>,
    /// Label → dotted module path relative to the root; `None` disables.
    pub migration_modules: BTreeMap<String, Option<String>>,
    /// Relative paths matching any of these are not walked.
    pub exclude: Option<super::glob::GlobSet>,
    /// The directory dotted module paths are relative to (where `manage.py`
    /// lives; `""` for the root).
    pub import_root: String,
    /// The project root directory's name: the label Django gives a
    /// migrations package at the root (an app's own repository, or `-C`
    /// pointed at an app) when its `apps.py` names none.
    pub root_name: String,
}

/// The packages found, sorted by label then directory, duplicates included
/// (the caller reports them).
#[derive(Debug, Default)]
pub struct Discovery {
    pub packages: Vec<Package>,
    pub diags: Vec<Diag>,
}

/// Walk `tree` for migrations packages.
pub fn discover(tree: &dyn SourceTree, opts: &DiscoverOptions) -> Discovery {
    let mut out = Discovery::default();
    let mut explicit_dirs = Vec::new();
    for (label, module) in &opts.migration_modules {
        if !is_identifier(label) {
            // Django looks MIGRATION_MODULES up by app label: a key no
            // label can be is never used.
            out.diags.push(Diag::new(
                DiagKind::Settings,
                format!("MIGRATION_MODULES[{label:?}]: not an app label (no Python identifier); ignored"),
            ));
            continue;
        }
        let Some(module) = module else {
            out.packages.push(Package {
                label: label.clone(),
                dir: String::new(),
                kind: PackageKind::Disabled,
                explicit: true,
                label_from: LabelSource::MigrationModules,
            });
            continue;
        };
        let dir = join(&opts.import_root, &module.replace('.', "/"));
        let kind = if tree.is_dir(&dir) {
            if tree.is_file(&join(&dir, "__init__.py")) {
                PackageKind::Package
            } else {
                PackageKind::Namespace
            }
        } else if tree.is_file(&format!("{dir}.py")) {
            PackageKind::Module
        } else {
            // Django's makemigrations treats a missing explicit module as
            // unmigrated (`ignore_no_migrations`); `migrate` would raise.
            out.diags.push(
                Diag::new(
                    DiagKind::UnmigratedApp,
                    format!(
                        "MIGRATION_MODULES[{label:?}] = {module:?} does not exist in the project; \
                         app {label} treated as unmigrated"
                    ),
                )
                .at(dir.clone(), None),
            );
            PackageKind::Disabled
        };
        explicit_dirs.push(dir.clone());
        out.packages.push(Package {
            label: label.clone(),
            dir,
            kind,
            explicit: true,
            label_from: LabelSource::MigrationModules,
        });
    }

    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let Some(entries) = tree.list_dir(&dir) else {
            continue;
        };
        let mut subdirs = Vec::new();
        for e in &entries {
            if e.kind != EntryKind::Dir {
                continue;
            }
            if SKIP_DIRS.contains(&e.name.as_str()) || e.name.starts_with('.') {
                continue;
            }
            let path = join(&dir, &e.name);
            if let Some(ex) = &opts.exclude {
                if ex.is_match(&path) {
                    continue;
                }
            }
            if e.name == "migrations" {
                if !explicit_dirs.contains(&path) {
                    if let Some(p) = migrations_candidate(tree, &path, opts, &mut out.diags) {
                        // Django imports the module MIGRATION_MODULES names
                        // for this label instead.
                        if !opts.migration_modules.contains_key(&p.label) {
                            out.packages.push(p);
                        }
                    }
                }
                // Django never looks inside a migrations package for another.
                continue;
            }
            // A virtualenv's root holds pyvenv.cfg.
            if tree.is_file(&join(&path, "pyvenv.cfg")) {
                continue;
            }
            subdirs.push(path);
        }
        // Depth-first in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    out.packages
        .sort_by(|a, b| (&a.label, &a.dir).cmp(&(&b.label, &b.dir)));
    out
}

fn migrations_candidate(
    tree: &dyn SourceTree,
    path: &str,
    opts: &DiscoverOptions,
    diags: &mut Vec<Diag>,
) -> Option<Package> {
    let entries = tree.list_dir(path)?;
    let has_py = entries
        .iter()
        .any(|e| e.kind == EntryKind::File && e.name.ends_with(".py"));
    if !has_py {
        return None;
    }
    let (app_dir, _) = split_parent(path);
    let (label, label_from) = app_label(tree, app_dir, opts, diags);
    if label_from == LabelSource::DirName && !is_identifier(&label) {
        // No installed app can have this label: Django refuses labels that
        // are no identifiers, and one from apps.py or .djmig.yml would be
        // reported there.
        diags.push(
            Diag::new(
                DiagKind::NotAMigrationsPackage,
                format!(
                    "the app label would be the directory's name, {label:?}, which is not a \
                     Python identifier: no installed Django app can have it, so this is not an \
                     app's migrations package; ignored (give its label under `app_labels` in \
                     .djmig.yml if it is one)"
                ),
            )
            .at(path.to_string(), None),
        );
        return None;
    }
    let kind = if entries
        .iter()
        .any(|e| e.kind == EntryKind::File && e.name == "__init__.py")
    {
        PackageKind::Package
    } else {
        PackageKind::Namespace
    };
    Some(Package {
        label,
        dir: path.to_string(),
        kind,
        explicit: false,
        label_from,
    })
}

/// config `app_labels` > `label = "…"` in the AppConfig of `apps.py` > the
/// directory name.
pub fn app_label(
    tree: &dyn SourceTree,
    app_dir: &str,
    opts: &DiscoverOptions,
    diags: &mut Vec<Diag>,
) -> (String, LabelSource) {
    if let Some(l) = opts.app_labels.get(app_dir) {
        return (l.clone(), LabelSource::Config);
    }
    let apps_py = join(app_dir, "apps.py");
    let read = crate::core::limits::narrow(tree.read(&apps_py), crate::core::limits::Kind::Module);
    if let Err(e) = &read {
        // Not a file djmig reads (a FIFO, a device, a link out of the
        // project): the label it would give is unknown.
        if e.kind() != std::io::ErrorKind::NotFound {
            diags.push(
                Diag::new(DiagKind::Unreadable, format!("cannot read the file: {e}"))
                    .at(apps_py.clone(), None),
            );
        }
    }
    if let Ok(src) = read {
        let (label, note) = pyparse::parse_app_label(&src);
        if let Some(note) = note {
            diags.push(Diag::new(DiagKind::LabelDetection, note).at(apps_py.clone(), None));
        }
        if let Some(label) = label {
            if is_identifier(&label) {
                return (label, LabelSource::AppsPy);
            }
            // Django stops there; the graph goes on with the directory's
            // name, the only other label the app could have.
            diags.push(
                Diag::new(
                    DiagKind::InvalidAppLabel,
                    format!(
                        "The app label {} is not a valid Python identifier: Django raises \
                         ImproperlyConfigured when it sets the app up",
                        PyValue::Str(label.clone()).repr()
                    ),
                )
                .at(apps_py.clone(), pyparse::app_label_line(&src, &label)),
            );
        }
    }
    let name = split_parent(app_dir).1;
    let name = if app_dir.is_empty() {
        opts.root_name.as_str()
    } else {
        name
    };
    (name.to_string(), LabelSource::DirName)
}

/// What `pkgutil.iter_modules` finds in a migrations package.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Modules {
    /// `(name, file)` of the source modules, in file name order.
    pub sources: Vec<(String, String)>,
    /// Compiled modules without source (stray `.pyc`): Django would import
    /// them, djmig cannot read them.
    pub compiled: Vec<String>,
    /// Entries named like modules that Python cannot import (a directory
    /// named `0003_x.py`, a FIFO, a link that leads nowhere): `(name, file,
    /// what it is)`. Django's import of them raises ModuleNotFoundError.
    pub unimportable: Vec<(String, String, &'static str)>,
}

/// Module names Django would import from a migrations package:
/// `pkgutil.iter_modules` over the directory, minus sub-packages and names
/// starting with `_` or `~`.
pub fn module_names(tree: &dyn SourceTree, dir: &str) -> Modules {
    let mut out = Modules::default();
    let Some(entries) = tree.list_dir(dir) else {
        return out;
    };
    // pkgutil sorts file names and yields each module name once: a package
    // directory `foo/` shadows `foo.py`, which sorts after it. A name with
    // a module suffix is a module whatever the entry is.
    let mut yielded = std::collections::HashSet::new();
    for e in &entries {
        let suffixed = e
            .name
            .strip_suffix(".py")
            .map(|s| (s, true))
            .or_else(|| e.name.strip_suffix(".pyc").map(|s| (s, false)));
        let Some((stem, is_source)) = suffixed else {
            if e.kind == EntryKind::Dir
                && !e.name.contains('.')
                && tree.is_file(&join(&join(dir, &e.name), "__init__.py"))
            {
                yielded.insert(e.name.clone());
            }
            continue;
        };
        if stem.is_empty() || stem == "__init__" || stem.contains('.') {
            continue;
        }
        if !yielded.insert(stem.to_string()) {
            continue;
        }
        if stem.starts_with('_') || stem.starts_with('~') {
            continue;
        }
        let file = join(dir, &e.name);
        let what = match e.kind {
            EntryKind::File if is_source => {
                out.sources.push((stem.to_string(), file));
                continue;
            }
            EntryKind::File => {
                out.compiled.push(file);
                continue;
            }
            EntryKind::Dir => "a directory",
            EntryKind::Submodule => "a git submodule",
            EntryKind::Other => {
                "not a regular file (a FIFO, socket or device, or a symbolic link that \
                 leads nowhere, in a loop or to a directory)"
            }
        };
        out.unimportable.push((stem.to_string(), file, what));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tree::MemTree;

    #[test]
    fn module_names_follow_pkgutil() {
        let mut t = MemTree::new();
        t.add("a/migrations/__init__.py", "")
            .add("a/migrations/0001_initial.py", "")
            .add("a/migrations/_helper.py", "")
            .add("a/migrations/~tmp.py", "")
            .add("a/migrations/0002.bak.py", "")
            .add("a/migrations/README.md", "")
            .add("a/migrations/sub/__init__.py", "")
            .add("a/migrations/sub.py", "")
            .add("a/migrations/0003_x.pyc", "");
        let m = module_names(&t, "a/migrations");
        let names: Vec<_> = m.sources.into_iter().map(|n| n.0).collect();
        assert_eq!(names, vec!["0001_initial"]);
        assert_eq!(m.compiled, vec!["a/migrations/0003_x.pyc"]);
        assert!(m.unimportable.is_empty());
    }

    /// pkgutil yields `0003_x` for a directory named `0003_x.py`; Django's
    /// import of it fails.
    #[test]
    fn directory_named_like_a_module_is_unimportable() {
        let mut t = MemTree::new();
        t.add("a/migrations/__init__.py", "")
            .add("a/migrations/0001_initial.py", "")
            .add("a/migrations/0003_x.py/__init__.py", "")
            .add("a/migrations/_0004.py/x", "");
        let m = module_names(&t, "a/migrations");
        assert_eq!(m.sources.len(), 1);
        assert_eq!(
            m.unimportable,
            vec![(
                "0003_x".to_owned(),
                "a/migrations/0003_x.py".to_owned(),
                "a directory"
            )]
        );
    }

    #[test]
    fn labels_and_skips() {
        let mut t = MemTree::new();
        t.add(
            "wagtail/apps.py",
            "from django.apps import AppConfig\nclass C(AppConfig):\n    label = 'wagtailcore'\n",
        )
        .add("wagtail/migrations/__init__.py", "")
        .add("wagtail/migrations/0001_initial.py", "")
        .add("shop/orders/migrations/__init__.py", "")
        .add("shop/orders/migrations/0001_initial.py", "")
        .add("ns/migrations/0001_initial.py", "")
        .add("node_modules/x/migrations/__init__.py", "")
        .add("node_modules/x/migrations/0001.py", "")
        .add("env/pyvenv.cfg", "")
        .add("env/lib/x/migrations/0001.py", "")
        .add("docs/migrations/README", "");
        let mut opts = DiscoverOptions::default();
        opts.app_labels
            .insert("shop/orders".into(), "shop_orders".into());
        let d = discover(&t, &opts);
        let got: Vec<_> = d
            .packages
            .iter()
            .map(|p| (p.label.as_str(), p.dir.as_str(), p.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ns", "ns/migrations", PackageKind::Namespace),
                (
                    "shop_orders",
                    "shop/orders/migrations",
                    PackageKind::Package
                ),
                ("wagtailcore", "wagtail/migrations", PackageKind::Package),
            ]
        );
    }

    #[test]
    fn migration_modules_override() {
        let mut t = MemTree::new();
        t.add("blog/db_migrations/__init__.py", "")
            .add("blog/db_migrations/0001_initial.py", "")
            .add("blog/migrations/__init__.py", "")
            .add("blog/migrations/0001_old.py", "")
            .add("legacy/migrations.py", "");
        let mut opts = DiscoverOptions::default();
        opts.migration_modules
            .insert("blog".into(), Some("blog.db_migrations".into()));
        opts.migration_modules
            .insert("legacy".into(), Some("legacy.migrations".into()));
        opts.migration_modules.insert("off".into(), None);
        let d = discover(&t, &opts);
        let got: Vec<_> = d
            .packages
            .iter()
            .map(|p| (p.label.as_str(), p.dir.as_str(), p.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("blog", "blog/db_migrations", PackageKind::Package),
                ("legacy", "legacy/migrations", PackageKind::Module),
                ("off", "", PackageKind::Disabled),
            ]
        );
    }
}
