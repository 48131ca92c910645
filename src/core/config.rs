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
    /// Which rules `djmig review` reports, and how severe they are.
    pub review: ReviewConfig,
}

/// `review:`: options of `djmig review`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// Rule ids not to report.
    pub ignore: Vec<String>,
    /// Rule id → severity (`error`, `warning`, `info`).
    pub severity: BTreeMap<String, super::review::Severity>,
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

/// The largest configuration file read, in bytes: a real one is a few
/// hundred. Anything bigger is refused before it is parsed.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// How deeply mappings and sequences may nest: the configuration itself
/// needs three levels; hostile nesting is refused at once instead of
/// costing time.
pub const MAX_CONFIG_DEPTH: usize = 16;

/// Parse a configuration file's text.
pub fn parse_config(text: &str) -> Result<Config, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError {
            message: format!(
                "the file is {} bytes; a configuration file may have at most {MAX_CONFIG_BYTES}",
                text.len()
            ),
            line: None,
            column: None,
        });
    }
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_CONFIG_DEPTH,
            flow_nesting_limit: MAX_CONFIG_DEPTH,
            max_documents: 1,
            max_nodes: 100_000,
            max_events: 400_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_total_scalar_bytes: MAX_CONFIG_BYTES,
        },
        with_snippet: false,
    };
    match serde_saphyr::from_str_with_options::<Option<Config>>(text, options) {
        Ok(c) => {
            let c = c.unwrap_or_default();
            validate(&c, text)?;
            Ok(c)
        }
        Err(e) => {
            let loc = e.location();
            let rendered = e.render_with_options(serde_saphyr::render_options! {
                snippets: serde_saphyr::SnippetMode::Off,
            });
            let line = loc.map(|l| l.line() as u32).filter(|l| *l > 0);
            let mut message = plain_message(&rendered);
            if message.contains("recursion limit") || message.contains("depth") {
                message = format!(
                    "mappings and lists nested more than {MAX_CONFIG_DEPTH} levels deep; the configuration needs three"
                );
            } else if let Some(key) = line.and_then(|l| key_path(text, l)) {
                // The parser names the value's problem; say whose value.
                if !message.contains(&format!("`{key}`")) {
                    message = format!("{key}: {message}");
                }
            }
            Err(ConfigError {
                message,
                line,
                column: loc.map(|l| l.column() as u32).filter(|c| *c > 0),
            })
        }
    }
}

/// The parser's message without the position it appends (reported apart)
/// and on one line.
fn plain_message(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or("").trim();
    let cut = [" at line ", " (at line "]
        .iter()
        .filter_map(|m| first.find(m))
        .min()
        .unwrap_or(first.len());
    let msg = first[..cut].trim_end_matches([',', ':', ' ']);
    if msg.is_empty() {
        "not valid YAML".to_string()
    } else {
        msg.to_string()
    }
}

/// The dotted path of the key on a 1-based line of block YAML
/// (`hooks.database_check`), found by indentation; `None` when the line
/// holds no `key:`.
fn key_path(text: &str, line: u32) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let idx = (line as usize).checked_sub(1)?;
    let key_of = |l: &str| -> Option<(usize, String)> {
        let indent = l.len() - l.trim_start().len();
        let body = l.trim_start().trim_start_matches("- ");
        let (k, _) = body.split_once(':')?;
        let k = k.trim().trim_matches(['"', '\'']);
        let plain = !k.is_empty()
            && k.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '*'));
        plain.then(|| (indent, k.to_string()))
    };
    let (mut indent, key) = key_of(lines.get(idx)?)?;
    let mut path = vec![key];
    for l in lines[..idx].iter().rev() {
        if indent == 0 {
            break;
        }
        let t = l.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some((i, k)) = key_of(l) {
            if i < indent {
                path.push(k);
                indent = i;
            }
        }
    }
    path.reverse();
    Some(path.join("."))
}

/// Checks serde cannot express; errors point at the key's line.
fn validate(c: &Config, text: &str) -> Result<(), ConfigError> {
    for pat in &c.exclude {
        if let Err(e) = super::glob::check(pat) {
            return Err(ConfigError {
                message: format!("exclude: invalid pattern {pat:?}: {e}"),
                line: line_of(text, pat),
                column: None,
            });
        }
    }
    let known = |id: &str| super::review::Rule::from_id(id).is_some();
    for (key, id) in c
        .review
        .ignore
        .iter()
        .map(|id| ("review.ignore", id))
        .chain(c.review.severity.keys().map(|id| ("review.severity", id)))
    {
        if !known(id) {
            return Err(ConfigError {
                message: format!(
                    "{key}: unknown rule {id:?}; the rules are: {}",
                    super::review::Rule::all_ids()
                ),
                line: line_of(text, id),
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
pub fn exclude_matcher(patterns: &[String]) -> Option<super::glob::GlobSet> {
    if patterns.is_empty() {
        return None;
    }
    let mut all: Vec<String> = Vec::new();
    for p in patterns {
        let p = p.trim_end_matches('/');
        for pat in [p.to_string(), format!("{p}/**")] {
            if super::glob::check(&pat).is_ok() {
                all.push(pat);
            }
        }
    }
    super::glob::GlobSet::new(&all, true).ok()
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

    #[test]
    fn a_wrong_value_names_its_key_path_and_line() {
        let e = parse_config("exclude: [a]\nstrict: maybe\n").unwrap_err();
        assert!(e.message.starts_with("strict: "), "{e}");
        assert_eq!((e.line, e.column), (Some(2), Some(9)));
        let e = parse_config("strict: false\nhooks:\n  # on checkout\n  database_check: 3\n")
            .unwrap_err();
        assert!(e.message.starts_with("hooks.database_check: "), "{e}");
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn review_section() {
        use crate::core::review::Severity;
        let c = parse_config(
            "review:\n  ignore: [irreversible]\n  severity:\n    index-locks-table: error\n",
        )
        .unwrap();
        assert_eq!(c.review.ignore, ["irreversible"]);
        assert_eq!(c.review.severity["index-locks-table"], Severity::Error);
        let e = parse_config("strict: true\nreview:\n  ignore:\n    - data-los\n").unwrap_err();
        assert!(
            e.message
                .starts_with("review.ignore: unknown rule \"data-los\""),
            "{e}"
        );
        assert_eq!(e.line, Some(4));
        let e = parse_config("review:\n  severity:\n    data-loss: fatal\n").unwrap_err();
        assert!(e.message.contains("review.severity"), "{e}");
        assert!(e.message.contains("fatal"), "{e}");
        assert_eq!(e.line, Some(3));
        let e = parse_config("review:\n  severity:\n    nope: info\n").unwrap_err();
        assert!(
            e.message
                .starts_with("review.severity: unknown rule \"nope\""),
            "{e}"
        );
        assert_eq!(e.line, Some(3));
        let e = parse_config("review:\n  select: [x]\n").unwrap_err();
        assert!(e.message.contains("select"), "{e}");
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn duplicate_keys_are_errors_at_the_second() {
        let e = parse_config("app_labels:\n  a: b\n  a: c\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        assert_eq!(e.line, Some(3));
    }

    /// Hostile nesting used to cost time quadratic in the depth (a 200 KB
    /// file took over a minute): it is refused at the depth limit, at once.
    #[test]
    fn deeply_nested_yaml_is_refused_quickly() {
        let flow = format!("exclude: {}{}\n", "[".repeat(60_000), "]".repeat(60_000));
        let mut block = String::from("settings:\n");
        for i in 0..400 {
            block.push_str(&" ".repeat(i + 2));
            block.push_str("a:\n");
        }
        let mut seq = String::from("app_labels:\n");
        for i in 0..200 {
            seq.push_str(&" ".repeat(i * 2 + 2));
            seq.push_str("-\n");
        }
        for text in [flow, block, seq] {
            let t = std::time::Instant::now();
            let e = parse_config(&text).unwrap_err();
            assert!(t.elapsed() < std::time::Duration::from_secs(1), "{e}");
            assert!(e.line.is_some(), "{e}");
        }
        let e =
            parse_config(&format!("exclude: {}{}\n", "[".repeat(40), "]".repeat(40))).unwrap_err();
        assert!(e.message.contains("nested more than 16"), "{e}");
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let text = format!(
            "exclude:\n{}",
            "  - docs\n".repeat(MAX_CONFIG_BYTES / 9 + 1)
        );
        let e = parse_config(&text).unwrap_err();
        assert!(e.message.contains("at most 262144"), "{e}");
    }

    #[test]
    fn aliases_cannot_multiply_the_input() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                [prev.as_str(); 10].join(", ")
            ));
        }
        let t = std::time::Instant::now();
        assert!(parse_config(&text).is_err());
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
