//! The `.djmig.yml` project configuration.
//!
//! Every key is optional. Unknown keys and wrong types are errors that name
//! the key and its line.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::keys::{is_identifier, AppLabel};

/// The file name looked for at the project root.
pub const CONFIG_FILE: &str = ".djmig.yml";

/// The parsed configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The settings module (`proj.settings`), or setting values
    /// (`AUTH_USER_MODEL: accounts.User`), or both (`module:` + values).
    pub settings: Option<SettingsSpec>,
    /// Like `settings.MIGRATION_MODULES`: label → dotted module path relative
    /// to the project root; `null` marks the app unmigrated.
    pub migration_modules: BTreeMap<String, Option<String>>,
    /// App directory (relative to the project root) → app label.
    pub app_labels: BTreeMap<String, AppLabel>,
    /// Glob patterns of paths (relative to the project root) not to walk.
    pub exclude: Vec<String>,
    /// The project's Python interpreter (its virtualenv's site-packages is
    /// read for apps outside the project).
    pub python: Option<String>,
    /// Path to `manage.py`, relative to the project root.
    pub manage_py: Option<String>,
    /// Treat dependencies on unknown apps as errors, as Django does.
    pub strict: bool,
    /// The default base revision for comparisons.
    pub base: Option<String>,
    /// What the git hooks installed by `djmig hook install` do.
    pub hooks: HooksConfig,
}

/// `hooks:`: options of the git hooks.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// After a branch checkout, warn about migrations applied to the local
    /// database that the new branch does not have (runs `manage.py`).
    pub database_check: bool,
}

/// `settings:` either names the settings module or gives setting values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsSpec {
    pub module: Option<String>,
    pub values: BTreeMap<String, String>,
}

impl<'de> Deserialize<'de> for SettingsSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SettingsSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a settings module name (proj.settings) or a mapping of setting values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SettingsSpec, E> {
                Ok(SettingsSpec {
                    module: Some(v.to_string()),
                    values: BTreeMap::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<SettingsSpec, A::Error> {
                let mut out = SettingsSpec::default();
                while let Some(k) = m.next_key::<String>()? {
                    let v: String = m.next_value()?;
                    if k == "module" {
                        out.module = Some(v);
                    } else {
                        out.values.insert(k, v);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// A configuration error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l} column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Parse a configuration file's text.
pub fn parse_config(text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    match serde_yaml::from_str::<Option<Config>>(text) {
        Ok(c) => {
            let c = c.unwrap_or_default();
            validate(&c, text)?;
            Ok(c)
        }
        Err(e) => {
            let loc = e.location();
            let mut message = e.to_string();
            // serde_yaml appends " at line L column C"; we report it apart.
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            Err(ConfigError {
                message,
                line: loc.as_ref().map(|l| l.line() as u32),
                column: loc.as_ref().map(|l| l.column() as u32),
            })
        }
    }
}

/// Checks serde cannot express; errors point at the key's line.
fn validate(c: &Config, text: &str) -> Result<(), ConfigError> {
    for pat in &c.exclude {
        if let Err(e) = globset::Glob::new(pat) {
            return Err(ConfigError {
                message: format!("exclude: invalid pattern {pat:?}: {}", e.kind()),
                line: line_of(text, pat),
                column: None,
            });
        }
    }
    for (label, module) in &c.migration_modules {
        if !is_identifier(label) {
            return Err(ConfigError {
                message: format!(
                    "migration_modules: {label:?} is not an app label (Django requires a Python identifier)"
                ),
                line: line_of(text, label),
                column: None,
            });
        }
        if let Some(m) = module {
            if m.is_empty() || m.split('.').any(|p| p.is_empty() || p.contains('/')) {
                return Err(ConfigError {
                    message: format!(
                        "migration_modules.{label}: {m:?} is not a dotted module path (like blog.db_migrations)"
                    ),
                    line: line_of(text, label),
                    column: None,
                });
            }
        }
    }
    Ok(())
}

fn line_of(text: &str, needle: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u32 + 1)
}

/// Compile `exclude` into a matcher; a pattern without glob characters also
/// matches everything below it.
pub fn exclude_matcher(patterns: &[String]) -> Option<globset::GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_end_matches('/');
        for pat in [p.to_string(), format!("{p}/**")] {
            if let Ok(g) = globset::GlobBuilder::new(&pat)
                .literal_separator(true)
                .build()
            {
                b.add(g);
            }
        }
    }
    b.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config() {
        let c = parse_config(
            "settings: proj.settings\nmigration_modules:\n  blog: blog.db_migrations\n  legacy: null\n\
             app_labels:\n  wagtail: wagtailcore\nexclude: [docs, 'tests/*']\npython: .venv/bin/python\nstrict: true\n",
        )
        .unwrap();
        assert_eq!(c.settings.unwrap().module.as_deref(), Some("proj.settings"));
        assert_eq!(c.migration_modules["legacy"], None);
        assert_eq!(c.app_labels["wagtail"], "wagtailcore");
        assert!(c.strict);
    }

    /// Labels must be what Django accepts: Python identifiers.
    #[test]
    fn labels_that_are_no_identifiers_are_refused_with_their_line() {
        for text in [
            "strict: true\napp_labels:\n  blog: null\n",
            "strict: true\napp_labels:\n  blog: 'my blog'\n",
            "strict: true\nmigration_modules:\n  'my blog': blog.migrations\n",
        ] {
            let e = parse_config(text).unwrap_err();
            assert!(e.message.contains("not an app label"), "{text}: {e}");
            assert_eq!(e.line, Some(3), "{text}: {e}");
        }
    }

    #[test]
    fn settings_values() {
        let c = parse_config("settings:\n  module: a.settings\n  AUTH_USER_MODEL: accounts.User\n")
            .unwrap();
        let s = c.settings.unwrap();
        assert_eq!(s.module.as_deref(), Some("a.settings"));
        assert_eq!(s.values["AUTH_USER_MODEL"], "accounts.User");
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse_config("strict: true\n\nsetings: x\n").unwrap_err();
        assert!(e.message.contains("setings"), "{e}");
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn wrong_type_names_key_and_line() {
        let e = parse_config("exclude: [a]\nstrict: maybe\n").unwrap_err();
        assert!(
            e.message.contains("strict") || e.message.contains("bool"),
            "{e}"
        );
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn exclude_matches_below() {
        let m = exclude_matcher(&["docs".into(), "vendor/*/x".into()]).unwrap();
        assert!(m.is_match("docs"));
        assert!(m.is_match("docs/a/migrations"));
        assert!(m.is_match("vendor/p/x"));
        assert!(!m.is_match("src/docs2"));
    }
}
