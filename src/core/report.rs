//! The graph report: one value built from a project and its graph, rendered
//! as JSON (schema version 1), text or Graphviz dot. Renderers take the
//! writer; nothing here prints by itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::core::escape::term;

use super::diag::Diag;
use super::graph::MigrationGraph;
use super::load::{Origin, Project};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppReport {
    pub path: String,
    pub source: Origin,
    pub nodes: Vec<String>,
    pub leaves: Vec<String>,
    pub roots: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiagReport {
    pub kind: super::diag::DiagKind,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// Shown in text output (`file:line:col`); not part of the JSON schema.
    #[serde(skip)]
    pub col: Option<u32>,
}

impl From<&Diag> for DiagReport {
    fn from(d: &Diag) -> Self {
        DiagReport {
            kind: d.kind,
            message: d.message.clone(),
            file: d.file.clone(),
            line: d.line,
            col: d.col,
        }
    }
}

impl DiagReport {
    /// `file:line:col: ` (as much as is known), for text output.
    pub fn location(&self) -> String {
        match (&self.file, self.line, self.col) {
            (Some(f), Some(l), Some(c)) => format!("{f}:{l}:{c}: "),
            (Some(f), Some(l), None) => format!("{f}:{l}: "),
            (Some(f), None, _) => format!("{f}: "),
            _ => String::new(),
        }
    }
}

/// The whole report; `check` and `graph` share it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GraphReport {
    pub schema_version: u32,
    pub apps: BTreeMap<String, AppReport>,
    pub edges: Vec<[String; 2]>,
    pub external: BTreeMap<String, Vec<String>>,
    pub conflicts: BTreeMap<String, Vec<String>>,
    pub errors: Vec<DiagReport>,
    pub warnings: Vec<DiagReport>,
    /// `check --base`: `base`, `head`, `head_source`, `merge_base`,
    /// `divergence`.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<serde_json::Value>,
}

/// A [`GraphReport`] in a form that survives a compact binary encoding
/// (the result cache): no flattened JSON, and the text-only columns kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredReport {
    apps: BTreeMap<String, AppReport>,
    edges: Vec<[String; 2]>,
    external: BTreeMap<String, Vec<String>>,
    conflicts: BTreeMap<String, Vec<String>>,
    errors: Vec<(DiagReport, Option<u32>)>,
    warnings: Vec<(DiagReport, Option<u32>)>,
}

impl From<&GraphReport> for StoredReport {
    /// Everything but `comparison`, which is never stored.
    fn from(r: &GraphReport) -> Self {
        let diags = |v: &[DiagReport]| v.iter().map(|d| (d.clone(), d.col)).collect();
        StoredReport {
            apps: r.apps.clone(),
            edges: r.edges.clone(),
            external: r.external.clone(),
            conflicts: r.conflicts.clone(),
            errors: diags(&r.errors),
            warnings: diags(&r.warnings),
        }
    }
}

impl From<StoredReport> for GraphReport {
    fn from(s: StoredReport) -> Self {
        let diags = |v: Vec<(DiagReport, Option<u32>)>| {
            v.into_iter()
                .map(|(mut d, col)| {
                    d.col = col;
                    d
                })
                .collect()
        };
        GraphReport {
            schema_version: SCHEMA_VERSION,
            apps: s.apps,
            edges: s.edges,
            external: s.external,
            conflicts: s.conflicts,
            errors: diags(s.errors),
            warnings: diags(s.warnings),
            comparison: None,
        }
    }
}

impl GraphReport {
    /// Build the report, limited to `only` apps when given.
    pub fn new(
        project: &Project,
        graph: &MigrationGraph,
        graph_errors: &[Diag],
        only: &BTreeSet<String>,
    ) -> Self {
        let wanted = |app: &str| only.is_empty() || only.contains(app);
        let mut summaries = graph.app_summaries();
        let mut apps = BTreeMap::new();
        for (label, app) in &project.apps {
            if !wanted(label) {
                continue;
            }
            let s = summaries.remove(label).unwrap_or_default();
            apps.insert(
                label.clone(),
                AppReport {
                    path: app.path.clone(),
                    source: app.origin,
                    nodes: s.nodes,
                    leaves: s.leaves,
                    roots: s.roots,
                },
            );
        }
        let conflicts: BTreeMap<String, Vec<String>> = apps
            .iter()
            .filter(|(_, a)| a.source == Origin::Project && a.leaves.len() > 1)
            .map(|(l, a)| (l.clone(), a.leaves.clone()))
            .collect();
        let edges = graph
            .edges()
            .into_iter()
            .filter(|(c, _)| wanted(&c.app))
            .map(|(c, p)| [c.to_string(), p.to_string()])
            .collect();
        let external = project
            .external
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        let mut errors: Vec<DiagReport> = project
            .diags
            .iter()
            .chain(graph_errors)
            .filter(|d| d.kind.is_error())
            .map(DiagReport::from)
            .collect();
        let mut warnings: Vec<DiagReport> = project
            .diags
            .iter()
            .chain(graph_errors)
            .filter(|d| !d.kind.is_error())
            .map(DiagReport::from)
            .collect();
        errors.sort();
        errors.dedup();
        warnings.sort();
        warnings.dedup();
        GraphReport {
            schema_version: SCHEMA_VERSION,
            apps,
            edges,
            external,
            conflicts,
            errors,
            warnings,
            comparison: None,
        }
    }

    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        writeln!(w)
    }

    /// `graph --format text`: each app, its migrations in order with their
    /// dependencies, and its leaves; names as [`term`] shows them.
    pub fn write_graph_text(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut parents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for [c, p] in &self.edges {
            parents.entry(c).or_default().push(p);
        }
        for (label, app) in &self.apps {
            let src = match app.source {
                Origin::Project => "",
                Origin::Environment => " [environment]",
            };
            writeln!(w, "{} ({}){src}", term(label), term(&app.path))?;
            for n in &app.nodes {
                let key = format!("{label}.{n}");
                let deps: Vec<String> = parents
                    .get(key.as_str())
                    .map(|v| {
                        v.iter()
                            .map(|p| match p.strip_prefix(&format!("{label}.")) {
                                Some(own) => term(own).into_owned(),
                                None => term(p).into_owned(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if deps.is_empty() {
                    writeln!(w, "  {}", term(n))?;
                } else {
                    writeln!(w, "  {}  <- {}", term(n), deps.join(", "))?;
                }
            }
            let mark = if app.leaves.len() > 1 {
                "  CONFLICT"
            } else {
                ""
            };
            let leaves: Vec<_> = app.leaves.iter().map(|l| term(l)).collect();
            writeln!(w, "  leaves: {}{mark}", leaves.join(", "))?;
        }
        for (label, names) in &self.external {
            let names: Vec<_> = names.iter().map(|n| term(n)).collect();
            writeln!(w, "{} [external]: {}", term(label), names.join(", "))?;
        }
        Ok(())
    }

    /// `graph --format dot`: Graphviz, one cluster per app, edges from a
    /// migration to what it depends on.
    pub fn write_dot(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "digraph migrations {{")?;
        writeln!(w, "  rankdir=BT;")?;
        writeln!(w, "  node [shape=box, fontname=\"monospace\"];")?;
        for (label, app) in &self.apps {
            writeln!(
                w,
                "  subgraph {} {{",
                dot_quote(&format!("cluster_{label}"))
            )?;
            writeln!(w, "    label={};", dot_quote(label))?;
            for n in &app.nodes {
                let style = if app.leaves.len() > 1 && app.leaves.contains(n) {
                    ", color=red, penwidth=2"
                } else {
                    ""
                };
                writeln!(
                    w,
                    "    {} [label={}{style}];",
                    dot_quote(&format!("{label}.{n}")),
                    dot_quote(n)
                )?;
            }
            writeln!(w, "  }}")?;
        }
        for [c, p] in &self.edges {
            writeln!(w, "  {} -> {};", dot_quote(c), dot_quote(p))?;
        }
        writeln!(w, "}}")
    }
}

/// A dot string: the name as [`term`] shows it, quoted.
fn dot_quote(s: &str) -> String {
    format!("\"{}\"", term(s).replace('\\', "\\\\").replace('"', "\\\""))
}
