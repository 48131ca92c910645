//! The settings djmig needs, read statically: which settings module
//! `manage.py` names, its literal swappable settings (`AUTH_USER_MODEL`) and
//! `MIGRATION_MODULES`, then the configuration on top.

use std::collections::BTreeMap;

use super::config::Config;
use super::diag::{Diag, DiagKind};
use super::pyparse;
use super::tree::{join, split_parent, SourceTree};

/// Settings as djmig sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedSettings {
    /// The dotted settings module, when known.
    pub module: Option<String>,
    /// Its file, relative to the project root, when found.
    pub file: Option<String>,
    /// Where dotted module paths start (the directory of `manage.py`).
    pub import_root: String,
    /// Literal string settings (`AUTH_USER_MODEL`, other swappable settings).
    pub values: BTreeMap<String, String>,
    /// `MIGRATION_MODULES`.
    pub migration_modules: BTreeMap<String, Option<String>>,
    /// Settings taken as Django's default because neither the settings
    /// module (not found, or not literal there) nor the configuration gave
    /// them, with why: a swappable dependency on one says so.
    pub assumed: BTreeMap<String, String>,
}

/// The bytes of `manage.py` or the settings module; `None` when it is not
/// there, or (with an error naming it) when it is not a file djmig reads.
fn read_module(tree: &dyn SourceTree, path: &str, diags: &mut Vec<Diag>) -> Option<Vec<u8>> {
    let read = crate::core::limits::narrow(tree.read(path), crate::core::limits::Kind::Module);
    match read {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            diags.push(
                Diag::new(DiagKind::Unreadable, format!("cannot read the file: {e}"))
                    .at(path.to_string(), None),
            );
            None
        }
    }
}

/// The `manage.py` of a project, as djmig finds it in any snapshot (the
/// work tree or a revision alike): `manage_py:` in the configuration, else
/// `manage.py` at the root, else the single `*/manage.py` one directory
/// down (a `backend/` or `src/` layout; hidden directories left out).
pub fn find_manage_py(tree: &dyn SourceTree, config: &Config) -> String {
    if let Some(m) = &config.manage_py {
        return m.trim_start_matches("./").to_string();
    }
    if tree.is_file("manage.py") {
        return "manage.py".to_string();
    }
    let mut found: Vec<String> = tree
        .list_dir("")
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.kind == super::tree::EntryKind::Dir && !e.name.starts_with('.'))
        .map(|e| format!("{}/manage.py", e.name))
        .filter(|p| tree.is_file(p))
        .collect();
    if found.len() == 1 {
        found.pop().unwrap_or_default()
    } else {
        "manage.py".to_string()
    }
}

/// Find and read the settings module, then apply the configuration.
pub fn resolve_settings(
    tree: &dyn SourceTree,
    config: &Config,
    diags: &mut Vec<Diag>,
) -> ResolvedSettings {
    let mut out = ResolvedSettings::default();
    out.values
        .insert("AUTH_USER_MODEL".to_string(), "auth.User".to_string());
    let manage_py = find_manage_py(tree, config);
    // Whether AUTH_USER_MODEL came from the project rather than Django's
    // default.
    let mut given = false;
    let mut unknown_in_module = false;
    out.import_root = split_parent(&manage_py).0.to_string();
    let config_module = config.settings.as_ref().and_then(|s| s.module.clone());
    out.module = config_module.or_else(|| {
        read_module(tree, &manage_py, diags).and_then(|src| pyparse::parse_manage_py_settings(&src))
    });
    if let Some(module) = &out.module {
        let base = join(&out.import_root, &module.replace('.', "/"));
        let candidates = [format!("{base}.py"), format!("{base}/__init__.py")];
        match candidates.iter().find(|c| tree.is_file(c)) {
            Some(file) => {
                if let Some(src) = read_module(tree, file, diags) {
                    let s = pyparse::parse_settings(&src);
                    given |= s.strings.contains_key("AUTH_USER_MODEL");
                    // Named but not literal (`= env("USER_MODEL")`): not
                    // Django's default, and not known.
                    unknown_in_module =
                        !given && String::from_utf8_lossy(&src).contains("AUTH_USER_MODEL");
                    out.values.extend(s.strings);
                    out.migration_modules.extend(s.migration_modules);
                }
                out.file = Some(file.clone());
            }
            None => diags.push(Diag::new(
                DiagKind::Settings,
                format!(
                    "settings module {module} not found in the project (looked for {}); \
                     set `settings:` in .djmig.yml",
                    candidates.join(" and ")
                ),
            )),
        }
    }
    if let Some(spec) = &config.settings {
        given |= spec.values.contains_key("AUTH_USER_MODEL");
        out.values
            .extend(spec.values.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    // A settings module that does not mention it means Django's default
    // for sure; no module, or a value djmig cannot read, means a guess.
    let why = match (&out.module, &out.file) {
        _ if given => None,
        (None, _) => Some(format!(
            "no settings module was found ({manage_py} names none)"
        )),
        (Some(m), None) => Some(format!("the settings module {m} was not found")),
        (Some(_), Some(f)) if unknown_in_module => Some(format!("{f} does not set it literally")),
        _ => None,
    };
    if let Some(why) = why {
        out.assumed.insert("AUTH_USER_MODEL".to_string(), why);
    }
    out.migration_modules.extend(
        config
            .migration_modules
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    out
}
