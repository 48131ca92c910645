//! Reading a migration module: its top-level `class Migration` and the
//! module-level names the class body refers to.

use ruff_python_ast::{Expr, ExprCall, Operator, Stmt};
use ruff_text_size::Ranged;

use super::eval::{expr_kind, is_sequence_like, value_entry, Binding, Cx, Elem};
use super::value::{PyError, PyValue};
use super::{
    is_dotted, last_name, DepEntry, FileProblemKind, Operation, ParsedMigration, ParsedModule,
};

/// The list attributes.
const LIST_ATTRS: [&str; 3] = ["dependencies", "replaces", "run_before"];
/// Every attribute djmig reads.
const ATTRS: [&str; 6] = [
    "dependencies",
    "replaces",
    "run_before",
    "initial",
    "atomic",
    "operations",
];

/// Deepest statement nesting walked when looking for assignments.
const MAX_STMT_DEPTH: u32 = 32;

/// Parse a migration module's source, operations included.
pub fn parse_migration(source: &[u8]) -> ParsedMigration {
    parse_migration_with(source, true)
}

/// Parse only what the graph needs: dependencies, `replaces`, `run_before`,
/// `initial`, `atomic` — not the operations. Reading a whole project for
/// `check` keeps thousands of these in memory at once.
pub fn parse_migration_graph(source: &[u8]) -> ParsedMigration {
    parse_migration_with(source, false)
}

fn parse_migration_with(source: &[u8], with_operations: bool) -> ParsedMigration {
    let mut pm = ParsedModule::new(source);
    let mut out = ParsedMigration {
        problems: std::mem::take(&mut pm.problems),
        ..ParsedMigration::default()
    };
    let Some(module) = pm.module() else {
        return out;
    };
    let src = &pm.src;
    let body = &module.body[..];

    // The last top-level `class Migration` is the one Python leaves bound.
    let classes: Vec<usize> = body
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Stmt::ClassDef(c) if c.name.as_str() == "Migration"))
        .map(|(i, _)| i)
        .collect();
    let Some(&class_idx) = classes.last() else {
        return out;
    };
    let Stmt::ClassDef(class) = &body[class_idx] else {
        return out;
    };
    out.has_migration_class = true;
    out.class_line = src.line(class.range());
    out.class_without_base = class
        .arguments
        .as_ref()
        .is_none_or(|a| a.keywords.is_empty() && a.args.iter().all(|b| is_dotted(b, &["object"])));

    let mut cx = Cx::new(src);
    if classes.len() > 1 {
        cx.problems.push(src.problem(
            FileProblemKind::Note,
            class.range().start(),
            format!(
                "{} top-level `class Migration` statements; the last one (line {}) is used",
                classes.len(),
                out.class_line
            ),
        ));
    }

    // Module-level bindings visible when the class body runs.
    for stmt in &body[..class_idx] {
        bind_stmt(&mut cx, stmt, false);
    }
    for stmt in &body[class_idx + 1..] {
        check_after_class(&mut cx, stmt);
    }

    // The class body, in order.
    let class_start = cx.env.len();
    for stmt in &class.body {
        bind_stmt(&mut cx, stmt, true);
    }

    for attr in LIST_ATTRS {
        let entries = read_list_attr(&mut cx, attr, class_start);
        match attr {
            "dependencies" => out.dependencies = entries,
            "replaces" => out.replaces = entries,
            _ => out.run_before = entries,
        }
    }
    out.initial = read_bool_attr(&mut cx, "initial", class_start);
    out.atomic = read_bool_attr(&mut cx, "atomic", class_start);
    if with_operations {
        out.operations = read_operations(&mut cx, class_start);
    }
    check_operations_iterable(&mut cx, class_start);

    out.problems.append(&mut cx.problems);
    out.problems.sort_by_key(|p| (p.line, p.col));
    out
}

/// Record the names `stmt` binds. In the class body, conditional assignments
/// to the attributes djmig reads are reported.
fn bind_stmt<'t>(cx: &mut Cx<'t>, stmt: &'t Stmt, in_class: bool) {
    let opaque = Binding::Opaque(stmt.range());
    match stmt {
        Stmt::Assign(a) => {
            for target in &a.targets {
                match target {
                    Expr::Name(n) => cx.env.push(n.id.as_str(), Binding::Expr(&a.value)),
                    other => bind_target_opaque(cx, other, opaque, 0),
                }
            }
        }
        Stmt::AnnAssign(a) => match (&*a.target, &a.value) {
            (Expr::Name(n), Some(value)) => cx.env.push(n.id.as_str(), Binding::Expr(value)),
            (Expr::Name(_), None) => {}
            (other, _) => bind_target_opaque(cx, other, opaque, 0),
        },
        Stmt::AugAssign(a) => {
            if let Expr::Name(n) = &*a.target {
                let binding = if a.op == Operator::Add {
                    Binding::AugAdd(&a.value)
                } else {
                    opaque
                };
                cx.env.push(n.id.as_str(), binding);
            }
        }
        Stmt::Import(i) => {
            for alias in &i.names {
                let bound = match &alias.asname {
                    Some(a) => a.as_str(),
                    None => alias.name.as_str().split('.').next().unwrap_or(""),
                };
                cx.env.push(bound, opaque);
            }
        }
        Stmt::ImportFrom(i) => {
            for alias in &i.names {
                let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                if bound != "*" {
                    cx.env.push(bound, opaque);
                }
            }
        }
        Stmt::FunctionDef(f) => cx.env.push(f.name.as_str(), opaque),
        Stmt::ClassDef(c) => cx.env.push(c.name.as_str(), opaque),
        Stmt::If(_)
        | Stmt::Try(_)
        | Stmt::For(_)
        | Stmt::While(_)
        | Stmt::With(_)
        | Stmt::Match(_) => {
            let mut names = Vec::new();
            assigned_names(stmt, 0, &mut names);
            for name in names {
                if in_class && ATTRS.contains(&name) {
                    cx.problems.push(cx.src.problem(
                        FileProblemKind::NonLiteral,
                        stmt.range().start(),
                        format!(
                            "{name}: conditional assignment in the class body is ignored \
                             (`{}`)",
                            cx.src.excerpt(stmt.range())
                        ),
                    ));
                } else {
                    cx.env.push(name, opaque);
                }
            }
        }
        _ => {}
    }
}

/// Names bound by a destructuring target (`a, b = ...`) are not evaluated.
fn bind_target_opaque<'t>(cx: &mut Cx<'t>, target: &'t Expr, opaque: Binding<'t>, depth: u32) {
    if depth > MAX_STMT_DEPTH {
        return;
    }
    match target {
        Expr::Name(n) => cx.env.push(n.id.as_str(), opaque),
        Expr::Tuple(t) => t
            .elts
            .iter()
            .for_each(|e| bind_target_opaque(cx, e, opaque, depth + 1)),
        Expr::List(l) => l
            .elts
            .iter()
            .for_each(|e| bind_target_opaque(cx, e, opaque, depth + 1)),
        Expr::Starred(s) => bind_target_opaque(cx, &s.value, opaque, depth + 1),
        _ => {}
    }
}

/// Names assigned anywhere inside a compound statement (not inside nested
/// functions or classes, whose names are still bound by them).
fn assigned_names<'t>(stmt: &'t Stmt, depth: u32, out: &mut Vec<&'t str>) {
    if depth > MAX_STMT_DEPTH {
        return;
    }
    let targets = |e: &'t Expr, out: &mut Vec<&'t str>| target_names(e, 0, out);
    let body = |b: &'t [Stmt], out: &mut Vec<&'t str>| {
        for s in b {
            assigned_names(s, depth + 1, out);
        }
    };
    match stmt {
        Stmt::Assign(a) => a.targets.iter().for_each(|t| targets(t, out)),
        Stmt::AnnAssign(a) if a.value.is_some() => targets(&a.target, out),
        Stmt::AugAssign(a) => targets(&a.target, out),
        Stmt::FunctionDef(f) => out.push(f.name.as_str()),
        Stmt::ClassDef(c) => out.push(c.name.as_str()),
        Stmt::Import(i) => {
            for alias in &i.names {
                out.push(match &alias.asname {
                    Some(a) => a.as_str(),
                    None => alias.name.as_str().split('.').next().unwrap_or(""),
                });
            }
        }
        Stmt::ImportFrom(i) => {
            for alias in &i.names {
                out.push(alias.asname.as_ref().unwrap_or(&alias.name).as_str());
            }
        }
        Stmt::If(s) => {
            body(&s.body, out);
            for clause in &s.elif_else_clauses {
                body(&clause.body, out);
            }
        }
        Stmt::Try(s) => {
            body(&s.body, out);
            for h in &s.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                body(&h.body, out);
            }
            body(&s.orelse, out);
            body(&s.finalbody, out);
        }
        Stmt::For(s) => {
            targets(&s.target, out);
            body(&s.body, out);
            body(&s.orelse, out);
        }
        Stmt::While(s) => {
            body(&s.body, out);
            body(&s.orelse, out);
        }
        Stmt::With(s) => {
            for item in &s.items {
                if let Some(v) = &item.optional_vars {
                    targets(v, out);
                }
            }
            body(&s.body, out);
        }
        Stmt::Match(s) => {
            for case in &s.cases {
                body(&case.body, out);
            }
        }
        _ => {}
    }
}

fn target_names<'t>(target: &'t Expr, depth: u32, out: &mut Vec<&'t str>) {
    if depth > MAX_STMT_DEPTH {
        return;
    }
    match target {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, depth + 1, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, depth + 1, out)),
        Expr::Starred(s) => target_names(&s.value, depth + 1, out),
        _ => {}
    }
}

/// Statements after the class that change what Django will see.
fn check_after_class(cx: &mut Cx<'_>, stmt: &Stmt) {
    let mut names = Vec::new();
    let mutated_attr =
        |e: &Expr| matches!(e, Expr::Attribute(a) if is_dotted(&a.value, &["Migration"]));
    let mutation = match stmt {
        Stmt::Assign(a) => a.targets.iter().any(mutated_attr),
        Stmt::AugAssign(a) => mutated_attr(&a.target),
        Stmt::Expr(e) => matches!(&*e.value, Expr::Call(c)
            if matches!(&*c.func, Expr::Attribute(m) if mutated_attr(&m.value))),
        _ => false,
    };
    if mutation {
        cx.problems.push(cx.src.problem(
            FileProblemKind::NonLiteral,
            stmt.range().start(),
            format!(
                "`{}` changes the Migration class after its definition; ignored",
                cx.src.excerpt(stmt.range())
            ),
        ));
        return;
    }
    match stmt {
        Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
        _ => assigned_names(stmt, 0, &mut names),
    }
    if names.contains(&"Migration") {
        cx.problems.push(cx.src.problem(
            FileProblemKind::Note,
            stmt.range().start(),
            "`Migration` is rebound after the class definition; the class is used anyway",
        ));
    }
}

/// The final binding of a class attribute, if the class body sets it.
fn final_binding<'t>(cx: &Cx<'t>, attr: &str, class_start: usize) -> Option<(usize, Binding<'t>)> {
    cx.env.lookup_from(attr, class_start)
}

fn read_list_attr(cx: &mut Cx<'_>, attr: &str, class_start: usize) -> Vec<DepEntry> {
    let mut out = Vec::new();
    let Some((idx, binding)) = final_binding(cx, attr, class_start) else {
        return out;
    };
    // `Migration.__init__` does `list(self.__class__.<attr>)`: a string,
    // bytes or a dict gives its items, anything else not iterable raises.
    if let Binding::Expr(e) = binding {
        let el = cx.resolve(Elem {
            expr: e,
            limit: idx,
            via_name: false,
        });
        if !is_sequence_like(el.expr) || matches!(el.expr, Expr::NoneLiteral(_)) {
            if let Some(value) = cx.literal(el, 0) {
                match value.iter() {
                    Ok(items) => {
                        let line = cx.src.line(e.range());
                        out.extend(items.into_iter().map(|value| value_entry(value, line)));
                    }
                    Err(err) => not_iterable(cx, attr, e, &err),
                }
                return out;
            }
        }
    }
    let mut elems = Vec::new();
    cx.flatten_binding(attr, attr, idx, binding, false, 0, &mut elems);
    out.reserve(elems.len());
    for el in elems {
        cx.dep_entry(attr, el, &mut out);
    }
    out
}

/// `<attr> = None` and the like: `Migration.__init__` raises TypeError.
fn not_iterable(cx: &mut Cx<'_>, attr: &str, e: &Expr, err: &PyError) {
    let message = format!(
        "{attr} = {}: Django raises {err} when it loads the migration (it takes \
         list({attr}); the default is [])",
        cx.src.excerpt(e.range())
    );
    cx.invalid(e, message);
}

/// `operations` must be iterable too (the graph does not read it).
fn check_operations_iterable(cx: &mut Cx<'_>, class_start: usize) {
    let Some((idx, Binding::Expr(e))) = final_binding(cx, "operations", class_start) else {
        return;
    };
    let el = cx.resolve(Elem {
        expr: e,
        limit: idx,
        via_name: false,
    });
    if !is_sequence_like(el.expr) || matches!(el.expr, Expr::NoneLiteral(_)) {
        if let Some(Err(err)) = cx.literal(el, 0).map(PyValue::iter) {
            not_iterable(cx, "operations", e, &err);
        }
    }
}

fn read_bool_attr(cx: &mut Cx<'_>, attr: &str, class_start: usize) -> Option<bool> {
    let (idx, binding) = final_binding(cx, attr, class_start)?;
    let e = match binding {
        Binding::Expr(e) => e,
        Binding::AugAdd(rhs) => {
            cx.fail(attr, rhs, "expected True or False");
            return None;
        }
        Binding::Opaque(range) => {
            cx.fail_at(attr, range, "expected True or False");
            return None;
        }
    };
    let el = cx.resolve(Elem {
        expr: e,
        limit: idx,
        via_name: false,
    });
    match el.expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        Expr::NoneLiteral(_) => None,
        other => {
            let reason = format!("expected True or False, found {}", expr_kind(other));
            cx.fail(attr, e, reason);
            None
        }
    }
}

fn read_operations(cx: &mut Cx<'_>, class_start: usize) -> Vec<Operation> {
    let mut elems = Vec::new();
    match final_binding(cx, "operations", class_start) {
        None => return Vec::new(),
        Some((idx, binding)) => {
            cx.flatten_binding(
                "operations",
                "operations",
                idx,
                binding,
                false,
                0,
                &mut elems,
            );
        }
    }
    elems.iter().map(|el| operation(cx, *el)).collect()
}

/// Django's signatures for the built-in operations (and the PostgreSQL
/// ones), in positional order: used to map positional arguments to names.
pub fn operation_signature(kind: &str) -> &'static [&'static str] {
    match kind {
        "AddField" | "AlterField" => &["model_name", "name", "field", "preserve_default"],
        "RemoveField" => &["model_name", "name"],
        "RenameField" => &["model_name", "old_name", "new_name"],
        "CreateModel" => &["name", "fields", "options", "bases", "managers"],
        "DeleteModel" => &["name"],
        "RenameModel" => &["old_name", "new_name"],
        "AlterModelTable" => &["name", "table"],
        "AlterModelTableComment" => &["name", "table_comment"],
        "AlterUniqueTogether" => &["name", "unique_together"],
        "AlterIndexTogether" => &["name", "index_together"],
        "AlterOrderWithRespectTo" => &["name", "order_with_respect_to"],
        "AlterModelOptions" => &["name", "options"],
        "AlterModelManagers" => &["name", "managers"],
        "AddIndex" => &["model_name", "index"],
        "RemoveIndex" => &["model_name", "name"],
        "RenameIndex" => &["model_name", "new_name", "old_name", "old_fields"],
        "AddConstraint" => &["model_name", "constraint"],
        "RemoveConstraint" => &["model_name", "name"],
        "AlterConstraint" => &["model_name", "name", "constraint"],
        "RunPython" => &["code", "reverse_code", "atomic", "hints", "elidable"],
        "RunSQL" => &[
            "sql",
            "reverse_sql",
            "state_operations",
            "hints",
            "elidable",
        ],
        "SeparateDatabaseAndState" => &["database_operations", "state_operations"],
        "AddIndexConcurrently" => &["model_name", "index"],
        "RemoveIndexConcurrently" => &["model_name", "name"],
        "AddConstraintNotValid" => &["model_name", "constraint"],
        "ValidateConstraint" => &["model_name", "name"],
        "CreateExtension" | "BtreeGinExtension" | "BtreeGistExtension" | "CITextExtension"
        | "CryptoExtension" | "HStoreExtension" | "TrigramExtension" | "UnaccentExtension" => {
            &["name"]
        }
        "CreateCollation" => &["name", "locale", "provider", "deterministic"],
        "RemoveCollation" => &["name", "locale", "provider", "deterministic"],
        _ => &[],
    }
}

/// The argument bound to `param` (keyword first, then by position).
fn arg<'t>(call: &'t ExprCall, sig: &[&str], param: &str) -> Option<&'t Expr> {
    if let Some(k) = call
        .arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == param))
    {
        return Some(&k.value);
    }
    let idx = sig.iter().position(|p| *p == param)?;
    let args = &call.arguments.args;
    if args
        .iter()
        .take(idx + 1)
        .any(|a| matches!(a, Expr::Starred(_)))
    {
        return None;
    }
    args.get(idx)
}

fn operation<'t>(cx: &mut Cx<'t>, el: Elem<'t>) -> Operation {
    let src = cx.src;
    let span = src.span(el.expr.range());
    let line = src.line(el.expr.range());
    let target = cx.resolve(el);
    let Expr::Call(call) = target.expr else {
        return Operation {
            kind: src.slice(el.expr.range()).to_owned(),
            model: None,
            name: None,
            keywords: Vec::new(),
            args: Vec::new(),
            span,
            line,
        };
    };
    let kind = match last_name(&call.func) {
        Some(k) => k.to_owned(),
        None => src.slice(call.func.range()).to_owned(),
    };
    let args: Vec<String> = call
        .arguments
        .args
        .iter()
        .map(|a| src.slice(a.range()).to_owned())
        .collect();
    let keywords: Vec<(String, String)> = call
        .arguments
        .keywords
        .iter()
        .map(|k| {
            let name = k.arg.as_ref().map_or("**", |a| a.as_str());
            (name.to_owned(), src.slice(k.value.range()).to_owned())
        })
        .collect();

    let sig = operation_signature(&kind);
    let string = |cx: &Cx<'t>, e: Option<&'t Expr>| -> Option<String> {
        let e = e?;
        cx.str_val(
            Elem {
                expr: e,
                limit: target.limit,
                via_name: true,
            },
            0,
        )
        .map(|v| v.value.into_owned())
    };
    // `name=` of an index/constraint expression.
    let inner_name = |cx: &Cx<'t>, e: Option<&'t Expr>| -> Option<String> {
        let el = cx.resolve(Elem {
            expr: e?,
            limit: target.limit,
            via_name: true,
        });
        let Expr::Call(c) = el.expr else { return None };
        let k = c
            .arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "name"))?;
        cx.str_val(
            Elem {
                expr: &k.value,
                ..el
            },
            0,
        )
        .map(|v| v.value.into_owned())
    };
    let p = |name: &str| arg(call, sig, name);
    let (model, name) = match kind.as_str() {
        "AddField"
        | "AlterField"
        | "RemoveField"
        | "RemoveIndex"
        | "RemoveConstraint"
        | "AlterConstraint"
        | "RemoveIndexConcurrently"
        | "ValidateConstraint" => (string(cx, p("model_name")), string(cx, p("name"))),
        "RenameField" => (string(cx, p("model_name")), string(cx, p("old_name"))),
        "RenameModel" => (string(cx, p("old_name")), None),
        "CreateModel"
        | "DeleteModel"
        | "AlterModelTable"
        | "AlterModelTableComment"
        | "AlterUniqueTogether"
        | "AlterIndexTogether"
        | "AlterOrderWithRespectTo"
        | "AlterModelOptions"
        | "AlterModelManagers" => (string(cx, p("name")), None),
        "AddIndex" | "AddIndexConcurrently" => {
            (string(cx, p("model_name")), inner_name(cx, p("index")))
        }
        "AddConstraint" | "AddConstraintNotValid" => {
            (string(cx, p("model_name")), inner_name(cx, p("constraint")))
        }
        "RenameIndex" => (
            string(cx, p("model_name")),
            string(cx, p("old_name")).or_else(|| string(cx, p("new_name"))),
        ),
        "RunPython" => (None, p("code").map(|e| src.slice(e.range()).to_owned())),
        "RunSQL" | "SeparateDatabaseAndState" => (None, None),
        _ => (string(cx, p("model_name")), string(cx, p("name"))),
    };
    Operation {
        kind,
        model,
        name,
        keywords,
        args,
        span,
        line,
    }
}
