//! Static reading of a settings module and of `manage.py`.

use std::collections::BTreeMap;

use ruff_python_ast::{Expr, Stmt};

use super::{dotted_ends_with, is_dotted, name_of, str_literal, ParsedModule};

/// What a settings module says, statically: literal string assignments of
/// top-level names (`AUTH_USER_MODEL = "accounts.User"`) and a literal
/// `MIGRATION_MODULES` dict (`None` values mean "unmigrated").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticSettings {
    pub strings: BTreeMap<String, String>,
    pub migration_modules: BTreeMap<String, Option<String>>,
}

/// Django only reads upper-case settings (`str.isupper()`).
fn is_setting_name(name: &str) -> bool {
    name.chars().any(char::is_uppercase) && !name.chars().any(char::is_lowercase)
}

/// Read a settings module. Top-level statements only, in order, last
/// assignment wins; a non-literal reassignment forgets the earlier literal.
/// `MIGRATION_MODULES` may be a dict literal or `dict(...)`, and may be
/// changed later by `MIGRATION_MODULES["x"] = ...`, `.update({...})` or `|=`.
pub fn parse_settings(source: &[u8]) -> StaticSettings {
    let pm = ParsedModule::new(source);
    let mut out = StaticSettings::default();
    let Some(module) = pm.module() else {
        return out;
    };
    for stmt in &module.body {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    assign(&mut out, target, &a.value);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    assign(&mut out, &a.target, value);
                }
            }
            Stmt::AugAssign(a)
                if is_dotted(&a.target, &["MIGRATION_MODULES"])
                    && a.op == ruff_python_ast::Operator::BitOr =>
            {
                merge_modules(&mut out.migration_modules, &a.value);
            }
            Stmt::AugAssign(a) if is_dotted(&a.target, &["MIGRATION_MODULES"]) => {
                out.migration_modules.clear();
            }
            Stmt::AugAssign(a) => {
                if let Some(name) = name_of(&a.target) {
                    out.strings.remove(name);
                }
            }
            Stmt::Expr(e) => {
                if let Expr::Call(call) = &*e.value {
                    if is_dotted(&call.func, &["MIGRATION_MODULES", "update"]) {
                        for arg in &call.arguments.args {
                            merge_modules(&mut out.migration_modules, arg);
                        }
                        merge_keywords(&mut out.migration_modules, &call.arguments.keywords);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn assign(out: &mut StaticSettings, target: &Expr, value: &Expr) {
    match target {
        Expr::Name(n) if n.id.as_str() == "MIGRATION_MODULES" => {
            out.migration_modules.clear();
            merge_modules(&mut out.migration_modules, value);
        }
        Expr::Name(n) if is_setting_name(n.id.as_str()) => {
            let name = n.id.as_str();
            let literal = match value {
                Expr::StringLiteral(s) => Some(s.value.to_str().to_owned()),
                Expr::Name(other) => out.strings.get(other.id.as_str()).cloned(),
                _ => None,
            };
            match literal {
                Some(v) => {
                    out.strings.insert(name.to_owned(), v);
                }
                None => {
                    out.strings.remove(name);
                }
            }
        }
        Expr::Subscript(s) if is_dotted(&s.value, &["MIGRATION_MODULES"]) => {
            if let Some(key) = str_literal(&s.slice) {
                match module_value(value) {
                    Some(v) => {
                        out.migration_modules.insert(key.to_owned(), v);
                    }
                    None => {
                        out.migration_modules.remove(key);
                    }
                }
            }
        }
        _ => {}
    }
}

/// `"dotted.path"` → `Some(Some(..))`, `None` → `Some(None)`, else `None`.
fn module_value(value: &Expr) -> Option<Option<String>> {
    match value {
        Expr::StringLiteral(s) => Some(Some(s.value.to_str().to_owned())),
        Expr::NoneLiteral(_) => Some(None),
        _ => None,
    }
}

fn merge_modules(map: &mut BTreeMap<String, Option<String>>, value: &Expr) {
    match value {
        Expr::Dict(d) => {
            for item in &d.items {
                let Some(key) = item.key.as_ref().and_then(str_literal) else {
                    continue;
                };
                if let Some(v) = module_value(&item.value) {
                    map.insert(key.to_owned(), v);
                }
            }
        }
        Expr::Call(c) if is_dotted(&c.func, &["dict"]) => {
            for arg in &c.arguments.args {
                merge_modules(map, arg);
            }
            merge_keywords(map, &c.arguments.keywords);
        }
        _ => {}
    }
}

fn merge_keywords(
    map: &mut BTreeMap<String, Option<String>>,
    keywords: &[ruff_python_ast::Keyword],
) {
    for k in keywords {
        let Some(key) = &k.arg else { continue };
        if let Some(v) = module_value(&k.value) {
            map.insert(key.as_str().to_owned(), v);
        }
    }
}

/// The value of `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")`
/// (or `os.environ["DJANGO_SETTINGS_MODULE"] = "x.settings"`) in a
/// `manage.py`, looked for anywhere in the module (inside `def main():`,
/// `if __name__ == "__main__":` …); the first one in source order.
pub fn parse_manage_py_settings(source: &[u8]) -> Option<String> {
    let pm = ParsedModule::new(source);
    let module = pm.module()?;
    find_in_body(&module.body, 0)
}

const MAX_DEPTH: u32 = 32;

fn find_in_body(body: &[Stmt], depth: u32) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    body.iter().find_map(|s| find_in_stmt(s, depth))
}

fn find_in_stmt(stmt: &Stmt, depth: u32) -> Option<String> {
    let body = |b: &[Stmt]| find_in_body(b, depth + 1);
    match stmt {
        Stmt::Expr(e) => setdefault_value(&e.value),
        Stmt::Assign(a) => {
            for target in &a.targets {
                if let Expr::Subscript(s) = target {
                    if is_environ(&s.value) && str_literal(&s.slice) == Some(KEY) {
                        if let Some(v) = str_literal(&a.value) {
                            return Some(v.to_owned());
                        }
                    }
                }
            }
            setdefault_value(&a.value)
        }
        Stmt::AnnAssign(a) => a.value.as_deref().and_then(setdefault_value),
        Stmt::Return(r) => r.value.as_deref().and_then(setdefault_value),
        Stmt::FunctionDef(f) => body(&f.body),
        Stmt::ClassDef(c) => body(&c.body),
        Stmt::If(s) => body(&s.body).or_else(|| {
            s.elif_else_clauses
                .iter()
                .find_map(|clause| body(&clause.body))
        }),
        Stmt::Try(s) => body(&s.body)
            .or_else(|| {
                s.handlers.iter().find_map(|h| {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    body(&h.body)
                })
            })
            .or_else(|| body(&s.orelse))
            .or_else(|| body(&s.finalbody)),
        Stmt::With(s) => body(&s.body),
        Stmt::For(s) => body(&s.body).or_else(|| body(&s.orelse)),
        Stmt::While(s) => body(&s.body).or_else(|| body(&s.orelse)),
        Stmt::Match(s) => s.cases.iter().find_map(|c| body(&c.body)),
        _ => None,
    }
}

const KEY: &str = "DJANGO_SETTINGS_MODULE";

fn is_environ(expr: &Expr) -> bool {
    is_dotted(expr, &["os", "environ"]) || is_dotted(expr, &["environ"])
}

fn setdefault_value(expr: &Expr) -> Option<String> {
    let Expr::Call(call) = expr else { return None };
    if !dotted_ends_with(&call.func, &["environ", "setdefault"]) {
        return None;
    }
    let args = &call.arguments.args;
    if args.len() != 2 || str_literal(&args[0]) != Some(KEY) {
        return None;
    }
    str_literal(&args[1]).map(str::to_owned)
}
