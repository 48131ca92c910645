//! What the review needs from a migration module beyond its operations:
//! where `atomic` is set (and where a new class attribute or import line
//! would go, for `--fix`), which functions `RunPython` runs and what they
//! import, and whether two versions of a file differ only in formatting.
//!
//! Read with the same parser as everything else, never executed.

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::comparable::ComparableModModule;
use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use crate::core::pyparse::{last_name, ParsedModule, Source};

/// The module that holds `AddIndexConcurrently`.
pub const POSTGRES_OPERATIONS: &str = "django.contrib.postgres.operations";

/// How `atomic` is set in `class Migration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atomic {
    /// Not set: Django's default, `True`.
    Absent,
    /// `atomic = True` or `atomic = False`; the span of the literal.
    Literal { value: bool, span: (u32, u32) },
    /// Set to something djmig does not rewrite.
    Other,
}

/// How a top-level name is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Unbound,
    /// `from django.contrib.postgres.operations import NAME`.
    FromPostgres,
    /// Anything else.
    Other,
}

/// An import of models from an app (`from blog.models import Post`,
/// `from blog import models`), not `django.db.models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelImport {
    pub line: u32,
    pub column: u32,
    /// The module as written (`blog.models`, `.models`).
    pub module: String,
    /// The names it binds (`*` for a star import).
    pub bound: Vec<String>,
}

/// A top-level function: what `RunPython` may run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Function {
    /// Model imports inside the function.
    pub imports: Vec<ModelImport>,
    /// `get_user_model()` calls inside it: (line, column).
    pub user_model_calls: Vec<(u32, u32)>,
    /// Every name it reads.
    pub names: BTreeSet<String>,
}

/// The facts of one module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFacts {
    pub syntax_errors: bool,
    /// The file's line ending (`"\r\n"` when its first line ends so).
    pub eol: &'static str,
    /// Whether a `class Migration` was found.
    pub has_class: bool,
    pub atomic: Atomic,
    /// Where a new first class attribute goes: the start of the line of
    /// the class body's first statement (after a docstring), and that
    /// line's indentation.
    pub class_insert: Option<(u32, String)>,
    /// Where a new import line goes: the start of the line after the last
    /// top-level import before the class (or of the class line).
    pub import_insert: Option<u32>,
    /// Whether the file ends without a line break at `import_insert`.
    pub import_insert_needs_eol: bool,
    /// How `AddIndexConcurrently` is bound at the top level.
    pub concurrently: Bound,
    pub functions: BTreeMap<String, Function>,
    /// Top-level model imports.
    pub model_imports: Vec<ModelImport>,
}

/// How deep the walk of a function goes; real migrations are shallow.
const MAX_DEPTH: u32 = 200;

/// Read the facts of a migration module.
pub fn module_facts(bytes: &[u8]) -> ModuleFacts {
    let pm = ParsedModule::new(bytes);
    let eol = match bytes.iter().position(|b| *b == b'\n') {
        Some(i) if i > 0 && bytes[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    };
    let mut out = ModuleFacts {
        syntax_errors: pm.has_syntax_errors,
        eol,
        has_class: false,
        atomic: Atomic::Absent,
        class_insert: None,
        import_insert: None,
        import_insert_needs_eol: false,
        concurrently: Bound::Unbound,
        functions: BTreeMap::new(),
        model_imports: Vec::new(),
    };
    let Some(module) = pm.module() else {
        return out;
    };
    let src = &pm.src;
    let body = &module.body[..];
    let class_idx = body
        .iter()
        .rposition(|s| matches!(s, Stmt::ClassDef(c) if c.name.as_str() == "Migration"));
    let before_class = &body[..class_idx.unwrap_or(body.len())];
    for stmt in body {
        match stmt {
            Stmt::FunctionDef(f) => {
                let mut w = Walk::new(src);
                for s in &f.body {
                    w.visit_stmt(s);
                }
                note_binding(stmt, "AddIndexConcurrently", &mut out.concurrently);
                out.functions.insert(
                    f.name.to_string(),
                    Function {
                        imports: w.imports,
                        user_model_calls: w.user_model_calls,
                        names: w.names,
                    },
                );
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                if let Some(mi) = model_import(src, stmt) {
                    out.model_imports.push(mi);
                }
                note_binding(stmt, "AddIndexConcurrently", &mut out.concurrently);
            }
            _ => note_binding(stmt, "AddIndexConcurrently", &mut out.concurrently),
        }
    }
    // A new import goes after the last top-level import before the class.
    let last_import = before_class
        .iter()
        .rev()
        .find(|s| matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_)));
    match last_import {
        Some(s) => {
            let end = src.span(s.range()).1 as usize;
            match bytes[end..].iter().position(|b| *b == b'\n') {
                Some(i) => out.import_insert = Some((end + i + 1) as u32),
                None => {
                    out.import_insert = Some(bytes.len() as u32);
                    out.import_insert_needs_eol = true;
                }
            }
        }
        None => {
            if let Some(i) = class_idx {
                out.import_insert = Some(line_start(bytes, src.span(body[i].range()).0));
            }
        }
    }
    let Some(i) = class_idx else {
        return out;
    };
    let Stmt::ClassDef(class) = &body[i] else {
        return out;
    };
    out.has_class = true;
    for stmt in &class.body {
        let Stmt::Assign(a) = stmt else {
            if assigns(stmt, "atomic") {
                out.atomic = Atomic::Other;
            }
            continue;
        };
        if !a.targets.iter().any(|t| is_name(t, "atomic")) {
            continue;
        }
        out.atomic = match (&a.targets[..], &*a.value) {
            ([_], Expr::BooleanLiteral(b)) => Atomic::Literal {
                value: b.value,
                span: src.span(a.value.range()),
            },
            _ => Atomic::Other,
        };
    }
    let first = class
        .body
        .iter()
        .find(|s| !matches!(s, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_))));
    if let Some(stmt) = first {
        let at = src.span(stmt.range()).0;
        let start = line_start(bytes, at);
        let indent = &bytes[start as usize..at as usize];
        let class_line = src.line(class.range());
        if !indent.is_empty()
            && indent.iter().all(|b| *b == b' ' || *b == b'\t')
            && src.line_of(at) > class_line
        {
            out.class_insert = Some((start, String::from_utf8_lossy(indent).into_owned()));
        }
    }
    out
}

/// Whether two versions of a module say the same to Python: only
/// formatting, comments or quoting differ. Files with syntax errors, or
/// too large to compare, are not the same.
pub fn same_meaning(a: &[u8], b: &[u8]) -> bool {
    const MAX: usize = 256 * 1024;
    if a == b {
        return true;
    }
    if a.len() > MAX || b.len() > MAX {
        return false;
    }
    // Comparing recurses once per nesting level; nesting is bounded by the
    // length.
    let need = (a.len().max(b.len()) * 256).max(1024 * 1024);
    stacker::maybe_grow(need, need, || {
        let (pa, pb) = (ParsedModule::new(a), ParsedModule::new(b));
        if pa.has_syntax_errors || pb.has_syntax_errors {
            return false;
        }
        match (pa.module(), pb.module()) {
            (Some(x), Some(y)) => ComparableModModule::from(x) == ComparableModModule::from(y),
            _ => false,
        }
    })
}

/// The start of the line holding byte `at`.
fn line_start(bytes: &[u8], at: u32) -> u32 {
    let at = (at as usize).min(bytes.len());
    bytes[..at]
        .iter()
        .rposition(|b| *b == b'\n' || *b == b'\r')
        .map_or(0, |i| i as u32 + 1)
}

fn is_name(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Name(n) if n.id.as_str() == name)
}

/// Whether a statement other than a plain assignment binds `name`
/// (annotated or augmented assignment, a conditional block).
fn assigns(stmt: &Stmt, name: &str) -> bool {
    match stmt {
        Stmt::AnnAssign(a) => is_name(&a.target, name),
        Stmt::AugAssign(a) => is_name(&a.target, name),
        Stmt::If(_) | Stmt::Try(_) | Stmt::For(_) | Stmt::While(_) | Stmt::With(_) => {
            let mut w = Assigns {
                name,
                found: false,
                depth: 0,
            };
            w.visit_stmt(stmt);
            w.found
        }
        _ => false,
    }
}

struct Assigns<'n> {
    name: &'n str,
    found: bool,
    depth: u32,
}

impl<'a> Visitor<'a> for Assigns<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH || self.found {
            return;
        }
        let hit = match stmt {
            Stmt::Assign(a) => a.targets.iter().any(|t| is_name(t, self.name)),
            Stmt::AnnAssign(a) => is_name(&a.target, self.name),
            Stmt::AugAssign(a) => is_name(&a.target, self.name),
            _ => false,
        };
        self.found |= hit;
        self.depth += 1;
        walk_stmt(self, stmt);
        self.depth -= 1;
    }
    fn visit_expr(&mut self, _: &'a Expr) {}
}

/// Update how `name` is bound after a top-level statement.
fn note_binding(stmt: &Stmt, name: &str, bound: &mut Bound) {
    match stmt {
        Stmt::ImportFrom(i) => {
            for a in &i.names {
                let b = a.asname.as_ref().unwrap_or(&a.name).as_str();
                if b == name || b == "*" {
                    let exact = i.level == 0
                        && i.module.as_ref().map(|m| m.as_str()) == Some(POSTGRES_OPERATIONS)
                        && a.name.as_str() == name;
                    *bound = if exact {
                        Bound::FromPostgres
                    } else {
                        Bound::Other
                    };
                }
            }
        }
        Stmt::Import(i) => {
            for a in &i.names {
                let b = a
                    .asname
                    .as_ref()
                    .map(|n| n.as_str())
                    .unwrap_or_else(|| a.name.as_str().split('.').next().unwrap_or(""));
                if b == name {
                    *bound = Bound::Other;
                }
            }
        }
        Stmt::FunctionDef(f) if f.name.as_str() == name => *bound = Bound::Other,
        Stmt::ClassDef(c) if c.name.as_str() == name => *bound = Bound::Other,
        other => {
            let hit = match other {
                Stmt::Assign(a) => a.targets.iter().any(|t| is_name(t, name)),
                _ => assigns(other, name),
            };
            if hit {
                *bound = Bound::Other;
            }
        }
    }
}

/// A model import, if `stmt` is one.
fn model_import(src: &Source, stmt: &Stmt) -> Option<ModelImport> {
    let (line, column) = src.line_col(stmt.range().start());
    let django = |m: &str| m == "django.db" || m.starts_with("django.db.");
    let is_models = |m: &str| m == "models" || m.ends_with(".models");
    match stmt {
        Stmt::Import(i) => {
            let bound: Vec<String> = i
                .names
                .iter()
                .filter(|a| is_models(a.name.as_str()) && !django(a.name.as_str()))
                .map(|a| match &a.asname {
                    Some(n) => n.to_string(),
                    None => a.name.as_str().split('.').next().unwrap_or("").to_string(),
                })
                .collect();
            let module = i
                .names
                .iter()
                .find(|a| is_models(a.name.as_str()) && !django(a.name.as_str()))?
                .name
                .to_string();
            Some(ModelImport {
                line,
                column,
                module,
                bound,
            })
        }
        Stmt::ImportFrom(i) => {
            let module = format!(
                "{}{}",
                ".".repeat(i.level as usize),
                i.module.as_ref().map_or("", |m| m.as_str())
            );
            if django(&module) {
                return None;
            }
            let bound_of = |a: &ruff_python_ast::Alias| {
                a.asname.as_ref().unwrap_or(&a.name).as_str().to_string()
            };
            let bound: Vec<String> = if is_models(module.trim_start_matches('.')) {
                i.names.iter().map(bound_of).collect()
            } else {
                i.names
                    .iter()
                    .filter(|a| a.name.as_str() == "models")
                    .map(bound_of)
                    .collect()
            };
            (!bound.is_empty()).then_some(ModelImport {
                line,
                column,
                module,
                bound,
            })
        }
        _ => None,
    }
}

/// Walks a function body: model imports, `get_user_model()` calls, names
/// read.
struct Walk<'s, 'b> {
    src: &'s Source<'b>,
    depth: u32,
    imports: Vec<ModelImport>,
    user_model_calls: Vec<(u32, u32)>,
    names: BTreeSet<String>,
}

impl<'s, 'b> Walk<'s, 'b> {
    fn new(src: &'s Source<'b>) -> Self {
        Walk {
            src,
            depth: 0,
            imports: Vec::new(),
            user_model_calls: Vec::new(),
            names: BTreeSet::new(),
        }
    }
}

impl<'a> Visitor<'a> for Walk<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth > MAX_DEPTH {
            return;
        }
        if let Some(mi) = model_import(self.src, stmt) {
            self.imports.push(mi);
        }
        self.depth += 1;
        walk_stmt(self, stmt);
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Name(n) => {
                self.names.insert(n.id.to_string());
            }
            Expr::Call(c) if last_name(&c.func) == Some("get_user_model") => {
                self.user_model_calls
                    .push(self.src.line_col(expr.range().start()));
            }
            _ => {}
        }
        self.depth += 1;
        walk_expr(self, expr);
        self.depth -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "from django.db import migrations, models\n\n\n";

    #[test]
    fn atomic_and_insertion_points() {
        let src = format!(
            "{HEAD}class Migration(migrations.Migration):\n    \"\"\"Doc.\"\"\"\n\n    \
             dependencies = []\n    atomic = True\n    operations = []\n"
        );
        let f = module_facts(src.as_bytes());
        assert!(f.has_class && !f.syntax_errors);
        let Atomic::Literal { value, span } = f.atomic else {
            panic!("{:?}", f.atomic)
        };
        assert!(value);
        assert_eq!(&src[span.0 as usize..span.1 as usize], "True");
        let (at, indent) = f.class_insert.clone().unwrap();
        assert_eq!(indent, "    ");
        assert!(src[at as usize..].starts_with("    dependencies"));
        assert_eq!(
            &src[f.import_insert.unwrap() as usize..][..1],
            "\n",
            "after the import line"
        );
        assert_eq!(f.concurrently, Bound::Unbound);
        assert_eq!(f.eol, "\n");

        let f = module_facts(
            format!("{HEAD}class Migration(migrations.Migration):\n    atomic = not True\n")
                .as_bytes(),
        );
        assert_eq!(f.atomic, Atomic::Other);
        let f = module_facts(
            format!(
                "{HEAD}class Migration(migrations.Migration):\n    if X:\n        atomic = False\n"
            )
            .as_bytes(),
        );
        assert_eq!(f.atomic, Atomic::Other);
        let f = module_facts(b"class Migration: operations = []\r\n");
        assert_eq!(f.class_insert, None, "a one-line class body");
        assert_eq!(f.eol, "\r\n");
        assert_eq!(f.import_insert, Some(0));
    }

    #[test]
    fn how_add_index_concurrently_is_bound() {
        let f =
            module_facts(b"from django.contrib.postgres.operations import AddIndexConcurrently\n");
        assert_eq!(f.concurrently, Bound::FromPostgres);
        let f = module_facts(b"from elsewhere import AddIndexConcurrently\n");
        assert_eq!(f.concurrently, Bound::Other);
        let f = module_facts(
            b"from django.contrib.postgres.operations import AddIndexConcurrently\nAddIndexConcurrently = 1\n",
        );
        assert_eq!(f.concurrently, Bound::Other);
        let f = module_facts(b"from x import *\n");
        assert_eq!(f.concurrently, Bound::Other);
    }

    #[test]
    fn functions_and_model_imports() {
        let src = format!(
            "{HEAD}from blog.models import Post as P\nimport shop.models\nfrom django.db.models import Q\n\
             from . import models as local\n\n\
             def forwards(apps, schema_editor):\n    from blog.models import Tag\n    \
             User = get_user_model()\n    for p in P.objects.all():\n        Tag(name=p.title).save()\n\n\
             class Migration(migrations.Migration):\n    operations = []\n"
        );
        let f = module_facts(src.as_bytes());
        let top: Vec<(&str, Vec<String>, u32)> = f
            .model_imports
            .iter()
            .map(|m| (m.module.as_str(), m.bound.clone(), m.line))
            .collect();
        assert_eq!(
            top,
            [
                ("blog.models", vec!["P".to_string()], 4),
                ("shop.models", vec!["shop".to_string()], 5),
                (".", vec!["local".to_string()], 7),
            ]
        );
        let fw = &f.functions["forwards"];
        assert_eq!(fw.imports.len(), 1);
        assert_eq!((fw.imports[0].line, fw.imports[0].column), (10, 5));
        assert_eq!(fw.user_model_calls, [(11, 12)]);
        assert!(fw.names.contains("P") && fw.names.contains("Tag"));
    }

    #[test]
    fn meaning_ignores_formatting_and_comments() {
        let a = format!("{HEAD}class Migration(migrations.Migration):\n    operations = [migrations.RunSQL('x')]\n");
        let b = format!(
            "{HEAD}# reformatted\nclass Migration(migrations.Migration):\n\n    operations = [\n        migrations.RunSQL(\"x\"),  # c\n    ]\n"
        );
        let c = a.replace("'x'", "'y'");
        assert!(same_meaning(a.as_bytes(), b.as_bytes()));
        assert!(!same_meaning(a.as_bytes(), c.as_bytes()));
        assert!(!same_meaning(a.as_bytes(), b"class (\n"));
    }
}
