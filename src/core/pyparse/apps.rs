//! The AppConfig label declared in an `apps.py`.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use super::{str_literal, ParsedModule};

/// The AppConfig label declared in an `apps.py`, if any, with a note when
/// several AppConfigs disagree (the `default = True` one wins).
///
/// Every top-level class counts whose body assigns `label = "..."` (a string
/// literal). With one distinct label, that label; with several, the one of
/// the class with `default = True` (Django's choice), else the first one,
/// with a note either way. A `default = True` class without a label means
/// Django uses the app's own name: `(None, Some(note))` when other classes
/// declare labels. Syntax errors give `(None, Some(note))` unless the
/// recovered tree still has a label.
pub fn parse_app_label(source: &[u8]) -> (Option<String>, Option<String>) {
    let pm = ParsedModule::new(source);
    let syntax_note = pm.has_syntax_errors.then(|| {
        let first = pm
            .problems
            .iter()
            .find(|p| p.kind == super::FileProblemKind::Syntax);
        match first {
            Some(p) => format!(
                "apps.py has a syntax error at {}:{}: {}",
                p.line, p.col, p.message
            ),
            None => "apps.py has a syntax error".to_owned(),
        }
    });
    let Some(module) = pm.module() else {
        return (None, syntax_note);
    };

    // (label, default) per class, in source order.
    let mut found: Vec<(Option<&str>, bool)> = Vec::new();
    for stmt in &module.body {
        let Stmt::ClassDef(class) = stmt else {
            continue;
        };
        let mut label = None;
        let mut default = false;
        for s in &class.body {
            let (target, value) = match s {
                Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], &*a.value),
                Stmt::AnnAssign(a) => match &a.value {
                    Some(v) => (&*a.target, &**v),
                    None => continue,
                },
                _ => continue,
            };
            let Expr::Name(n) = target else { continue };
            match n.id.as_str() {
                "label" => label = str_literal(value),
                "default" => default = matches!(value, Expr::BooleanLiteral(b) if b.value),
                _ => {}
            }
        }
        if label.is_some() || default {
            found.push((label, default));
        }
    }

    let mut labels: Vec<&str> = found.iter().filter_map(|(l, _)| *l).collect();
    labels.sort_unstable();
    labels.dedup();
    let join = |notes: Vec<String>| -> Option<String> {
        let notes: Vec<String> = syntax_note.iter().cloned().chain(notes).collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    };
    match labels.len() {
        0 => (None, syntax_note),
        1 => {
            // A default=True class without a label overrides the others.
            let defaults: Vec<Option<&str>> =
                found.iter().filter(|(_, d)| *d).map(|(l, _)| *l).collect();
            if defaults.len() == 1 && defaults[0].is_none() {
                return (
                    None,
                    join(vec![format!(
                        "the `default = True` AppConfig sets no label (another sets \
                         label {:?}); Django uses the app name",
                        labels[0]
                    )]),
                );
            }
            (Some(labels[0].to_owned()), join(Vec::new()))
        }
        _ => {
            let defaults: Vec<Option<&str>> =
                found.iter().filter(|(_, d)| *d).map(|(l, _)| *l).collect();
            let listed = labels.join(", ");
            match defaults.as_slice() {
                [Some(label)] => (
                    Some((*label).to_owned()),
                    join(vec![format!(
                        "several AppConfig labels ({listed}); used the `default = True` one"
                    )]),
                ),
                [None] => (
                    None,
                    join(vec![format!(
                        "several AppConfig labels ({listed}); the `default = True` one \
                         sets no label, so Django uses the app name"
                    )]),
                ),
                _ => {
                    let first = found.iter().find_map(|(l, _)| *l).unwrap_or(labels[0]);
                    (
                        Some(first.to_owned()),
                        join(vec![format!(
                            "several AppConfig labels ({listed}) and no single \
                             `default = True`; used the first one"
                        )]),
                    )
                }
            }
        }
    }
}

/// The line of the first class attribute `label = "<label>"` in an
/// `apps.py`, for messages about that label.
pub fn app_label_line(source: &[u8], label: &str) -> Option<u32> {
    let pm = ParsedModule::new(source);
    let module = pm.module()?;
    module.body.iter().find_map(|stmt| {
        let Stmt::ClassDef(class) = stmt else {
            return None;
        };
        class.body.iter().find_map(|s| {
            let (target, value) = match s {
                Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], &*a.value),
                Stmt::AnnAssign(a) => (&*a.target, a.value.as_deref()?),
                _ => return None,
            };
            let is_label = matches!(target, Expr::Name(n) if n.id.as_str() == "label");
            (is_label && str_literal(value) == Some(label)).then(|| pm.src.line(s.range()))
        })
    })
}
