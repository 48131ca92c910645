//! Static evaluation of the few expression forms migration attributes use:
//! string literals, tuples/lists (with `*` unpacking), `+`, names bound
//! earlier in the module or class body, and `swappable_dependency(...)`.
//!
//! Names follow Python's eager semantics: a binding is evaluated with the
//! environment as it was when the binding statement ran (`limit`), so
//! `A = A + [...]` refers to the earlier `A` and cycles are impossible.

use std::borrow::Cow;

use ruff_python_ast::{Expr, Number, Operator};
use ruff_text_size::{Ranged, TextRange};

use super::value::PyValue;
use super::{
    is_settings, last_name, start, DepEntry, FileProblem, FileProblemKind, Source, StrLit,
};

/// Deepest expression nesting / name chain followed.
const MAX_DEPTH: u32 = 64;

/// What a name is bound to.
#[derive(Clone, Copy)]
pub(super) enum Binding<'t> {
    /// `name = expr` (or `name: T = expr`).
    Expr(&'t Expr),
    /// `name += expr`: the previous binding of `name`, then `expr`.
    AugAdd(&'t Expr),
    /// Bound by something we do not evaluate (import, def, another
    /// operator, conditional code): the range of the binding statement.
    Opaque(TextRange),
}

/// Bindings in execution order; module-level ones first, then the class
/// body's (Python looks names up in the class namespace, then globals).
#[derive(Default)]
pub(super) struct Env<'t> {
    entries: Vec<(&'t str, Binding<'t>)>,
}

impl<'t> Env<'t> {
    pub(super) fn push(&mut self, name: &'t str, binding: Binding<'t>) {
        self.entries.push((name, binding));
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Latest binding of `name` among the first `limit` entries.
    pub(super) fn lookup(&self, name: &str, limit: usize) -> Option<(usize, Binding<'t>)> {
        let limit = limit.min(self.entries.len());
        self.entries[..limit]
            .iter()
            .rposition(|(n, _)| *n == name)
            .map(|i| (i, self.entries[i].1))
    }

    /// Latest binding of `name` at index `>= from`.
    pub(super) fn lookup_from(&self, name: &str, from: usize) -> Option<(usize, Binding<'t>)> {
        self.lookup(name, self.entries.len())
            .filter(|(i, _)| *i >= from)
    }
}

/// How an evaluated sequence was written; `+` of a list and a tuple raises
/// `TypeError` in Python.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum SeqKind {
    List,
    Tuple,
    Set,
    None,
    Unknown,
}

/// One element of an evaluated sequence, with the environment to evaluate it
/// in.
#[derive(Clone, Copy)]
pub(super) struct Elem<'t> {
    pub(super) expr: &'t Expr,
    pub(super) limit: usize,
    /// Reached through another name: its literals are not "in place".
    pub(super) via_name: bool,
}

/// Evaluation context: source, environment and the problems found.
pub(super) struct Cx<'t> {
    pub(super) src: &'t Source<'t>,
    pub(super) env: Env<'t>,
    pub(super) problems: Vec<FileProblem>,
}

/// A string value with its literal's span (if it is one single literal in
/// place).
pub(super) struct StrVal<'t> {
    pub(super) value: Cow<'t, str>,
    pub(super) span: Option<TextRange>,
}

impl<'t> Cx<'t> {
    pub(super) fn new(src: &'t Source<'t>) -> Self {
        Cx {
            src,
            env: Env::default(),
            problems: Vec::new(),
        }
    }

    pub(super) fn fail(&mut self, attr: &str, node: &Expr, reason: impl AsRef<str>) {
        self.fail_at(attr, node.range(), reason);
    }

    pub(super) fn fail_at(&mut self, attr: &str, range: TextRange, reason: impl AsRef<str>) {
        let message = format!(
            "{attr}: cannot read `{}` statically ({})",
            self.src.excerpt(range),
            reason.as_ref()
        );
        self.problems.push(
            self.src
                .problem(FileProblemKind::NonLiteral, range.start(), message),
        );
    }

    /// Something Python or Django raises on when it loads the module.
    pub(super) fn invalid(&mut self, node: &Expr, message: String) {
        self.problems.push(
            self.src
                .problem(FileProblemKind::Invalid, start(node), message),
        );
    }

    /// Expand a sequence expression into its elements. Parts that cannot be
    /// evaluated are reported (naming `attr`) and skipped.
    pub(super) fn flatten(
        &mut self,
        attr: &str,
        expr: &'t Expr,
        limit: usize,
        via_name: bool,
        depth: u32,
        out: &mut Vec<Elem<'t>>,
    ) -> SeqKind {
        if depth > MAX_DEPTH {
            self.fail(attr, expr, "too deeply nested");
            return SeqKind::Unknown;
        }
        let (elts, kind) = match expr {
            Expr::List(l) => (&l.elts, SeqKind::List),
            Expr::Tuple(t) => (&t.elts, SeqKind::Tuple),
            Expr::Set(s) => (&s.elts, SeqKind::Set),
            Expr::Name(n) => {
                return self.flatten_name(attr, expr, n.id.as_str(), limit, via_name, depth, out)
            }
            Expr::BinOp(b) if b.op == Operator::Add => {
                let left = self.flatten(attr, &b.left, limit, via_name, depth + 1, out);
                let right = self.flatten(attr, &b.right, limit, via_name, depth + 1, out);
                return match (left, right) {
                    (SeqKind::Unknown, k) | (k, SeqKind::Unknown) => k,
                    (l, r) if l == r && l != SeqKind::Set && l != SeqKind::None => l,
                    (l, r) => {
                        let (l_name, r_name) = (kind_name(l), kind_name(r));
                        let why = match l {
                            SeqKind::List | SeqKind::Tuple => format!(
                                "can only concatenate {l_name} (not \"{r_name}\") to {l_name}"
                            ),
                            _ => format!(
                                "unsupported operand type(s) for +: '{l_name}' and '{r_name}'"
                            ),
                        };
                        let message = format!(
                            "{attr}: `{}` raises TypeError ({why}) when Python imports the module",
                            self.src.excerpt(expr.range()),
                        );
                        self.invalid(expr, message);
                        l
                    }
                };
            }
            Expr::NoneLiteral(_) => return SeqKind::None,
            Expr::Call(c) => {
                let name = last_name(&c.func).unwrap_or("?");
                self.fail(attr, expr, format!("call to {name}()"));
                return SeqKind::Unknown;
            }
            _ => {
                self.fail(
                    attr,
                    expr,
                    format!("{} is not a list or tuple", expr_kind(expr)),
                );
                return SeqKind::Unknown;
            }
        };
        for elt in elts {
            if let Expr::Starred(s) = elt {
                self.flatten(attr, &s.value, limit, via_name, depth + 1, out);
            } else {
                out.push(Elem {
                    expr: elt,
                    limit,
                    via_name,
                });
            }
        }
        kind
    }

    /// Expand the binding of `name` visible at `limit`.
    #[allow(clippy::too_many_arguments)]
    fn flatten_name(
        &mut self,
        attr: &str,
        node: &'t Expr,
        name: &str,
        limit: usize,
        via_name: bool,
        depth: u32,
        out: &mut Vec<Elem<'t>>,
    ) -> SeqKind {
        let via = via_name || name != attr;
        match self.env.lookup(name, limit) {
            Some((_, Binding::Expr(e))) if !is_sequence_like(e) => {
                let reason = format!(
                    "`{name}` is bound to `{}` on line {}",
                    self.src.excerpt(e.range()),
                    self.src.line(e.range())
                );
                self.fail(attr, node, reason);
                SeqKind::Unknown
            }
            Some((i, b)) => self.flatten_binding(attr, name, i, b, via, depth + 1, out),
            None => {
                self.fail(attr, node, format!("unresolved name `{name}`"));
                SeqKind::Unknown
            }
        }
    }

    /// Expand binding number `idx` (of `name`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn flatten_binding(
        &mut self,
        attr: &str,
        name: &str,
        idx: usize,
        binding: Binding<'t>,
        via_name: bool,
        depth: u32,
        out: &mut Vec<Elem<'t>>,
    ) -> SeqKind {
        match binding {
            Binding::Expr(e) => self.flatten(attr, e, idx, via_name, depth + 1, out),
            Binding::AugAdd(rhs) => {
                if depth > MAX_DEPTH {
                    self.fail(attr, rhs, "too many `+=`");
                    return SeqKind::Unknown;
                }
                let left = match self.env.lookup(name, idx) {
                    Some((j, b)) => {
                        self.flatten_binding(attr, name, j, b, via_name, depth + 1, out)
                    }
                    None => {
                        self.fail(
                            attr,
                            rhs,
                            format!(
                                "`{name} +=` without an earlier `{name} =`: NameError in Python"
                            ),
                        );
                        SeqKind::Unknown
                    }
                };
                let right = self.flatten(attr, rhs, idx, via_name, depth + 1, out);
                if left == SeqKind::Tuple && right == SeqKind::List {
                    let message = format!(
                        "{attr}: `{name} += {}` raises TypeError in Python (can only \
                         concatenate tuple to tuple) when the module is imported",
                        self.src.excerpt(rhs.range())
                    );
                    self.invalid(rhs, message);
                }
                if left == SeqKind::Unknown {
                    right
                } else {
                    left
                }
            }
            Binding::Opaque(range) => {
                self.fail_at(attr, range, format!("`{name}` is not bound to a literal"));
                SeqKind::Unknown
            }
        }
    }

    /// Follow `Name`s to the expression they are bound to.
    pub(super) fn resolve(&self, mut el: Elem<'t>) -> Elem<'t> {
        for _ in 0..MAX_DEPTH {
            let Expr::Name(n) = el.expr else { break };
            match self.env.lookup(n.id.as_str(), el.limit) {
                Some((i, Binding::Expr(e))) => {
                    el = Elem {
                        expr: e,
                        limit: i,
                        via_name: true,
                    }
                }
                _ => break,
            }
        }
        el
    }

    /// Evaluate a string: a literal, a name bound to one, or `+` of strings.
    pub(super) fn str_val(&self, el: Elem<'t>, depth: u32) -> Option<StrVal<'t>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let el = self.resolve(el);
        match el.expr {
            Expr::StringLiteral(s) => {
                let span = match s.value.as_slice() {
                    [single] if !el.via_name => Some(single.range),
                    _ => None,
                };
                Some(StrVal {
                    value: Cow::Borrowed(s.value.to_str()),
                    span,
                })
            }
            Expr::BinOp(b) if b.op == Operator::Add => {
                let l = self.str_val(
                    Elem {
                        expr: &b.left,
                        ..el
                    },
                    depth + 1,
                )?;
                let r = self.str_val(
                    Elem {
                        expr: &b.right,
                        ..el
                    },
                    depth + 1,
                )?;
                Some(StrVal {
                    value: Cow::Owned(format!("{}{}", l.value, r.value)),
                    span: None,
                })
            }
            _ => None,
        }
    }

    fn str_lit(&self, v: StrVal<'t>) -> StrLit {
        StrLit {
            value: v.value.into_owned(),
            span: v.span.map(|r| self.src.span(r)),
        }
    }

    /// Evaluate one element of `dependencies`/`replaces`/`run_before`.
    ///
    /// A pair of strings is a key. Any other literal is kept as a value:
    /// Django indexes and hashes it all the same, and what that does is
    /// decided when the graph is built. Only what cannot be evaluated is
    /// reported here (and left out).
    pub(super) fn dep_entry(&mut self, attr: &str, el: Elem<'t>, out: &mut Vec<DepEntry>) {
        let node = el.expr;
        let el = self.resolve(el);
        let value = self.literal(el, 0);
        match (&value, el.expr) {
            (Some(PyValue::Tuple(items)), Expr::Tuple(_))
                if matches!(items.as_slice(), [PyValue::Str(_), PyValue::Str(_)]) =>
            {
                let mut parts = Vec::with_capacity(2);
                self.flatten(attr, el.expr, el.limit, el.via_name, 1, &mut parts);
                let app = parts.first().and_then(|p| self.str_val(*p, 1));
                let name = parts.get(1).and_then(|p| self.str_val(*p, 1));
                let (Some(app), Some(name), 2) = (app, name, parts.len()) else {
                    self.fail(attr, node, "entries must be pairs of strings");
                    return;
                };
                let line = self.src.line(el.expr.range());
                out.push(DepEntry::Key {
                    app: self.str_lit(app),
                    name: self.str_lit(name),
                    line,
                });
            }
            (Some(value), _) => out.push(value_entry(value.clone(), self.src.line(node.range()))),
            (None, Expr::Tuple(_) | Expr::List(_)) => {
                let reported = self.problems.len();
                let mut parts = Vec::with_capacity(2);
                self.flatten(attr, el.expr, el.limit, el.via_name, 1, &mut parts);
                if self.problems.len() == reported {
                    self.fail(attr, node, "an item is not a literal");
                }
            }
            (None, Expr::Call(c)) if last_name(&c.func) == Some("swappable_dependency") => {
                let line = self.src.line(el.expr.range());
                let (args, keywords) = (&c.arguments.args, &c.arguments.keywords);
                let value = match (&args[..], &keywords[..]) {
                    ([value], []) => value,
                    ([], [k]) if k.arg.as_ref().is_some_and(|a| a.as_str() == "value") => &k.value,
                    _ => {
                        self.fail(attr, node, "swappable_dependency() takes one argument");
                        return;
                    }
                };
                let arg = Elem { expr: value, ..el };
                match self.swappable(arg, line) {
                    Some(entry) => out.push(entry),
                    None => self.fail(
                        attr,
                        node,
                        "swappable_dependency() argument is not settings.X, \
                         getattr(settings, \"X\", ...) or a string",
                    ),
                }
            }
            (None, Expr::Call(c)) => {
                let name = last_name(&c.func).unwrap_or("?");
                self.fail(attr, node, format!("call to {name}()"));
            }
            (None, Expr::Name(n)) => {
                let reason = match self.env.lookup(n.id.as_str(), el.limit) {
                    None => format!("unresolved name `{}`", n.id.as_str()),
                    Some(_) => format!("`{}` is not bound to a literal", n.id.as_str()),
                };
                self.fail(attr, node, reason);
            }
            (None, other) => {
                let reason = format!("{} is not an (app_label, name) pair", expr_kind(other));
                self.fail(attr, node, reason);
            }
        }
    }

    /// The value of a literal expression (names followed), if it is one.
    pub(super) fn literal(&self, el: Elem<'t>, depth: u32) -> Option<PyValue> {
        if depth > MAX_DEPTH {
            return None;
        }
        let el = self.resolve(el);
        let sub = |expr: &'t Expr| Elem { expr, ..el };
        let items = |elts: &'t [Expr]| -> Option<Vec<PyValue>> {
            let mut out = Vec::with_capacity(elts.len());
            for e in elts {
                match e {
                    Expr::Starred(st) => {
                        out.extend(self.literal(sub(&st.value), depth + 1)?.iter().ok()?)
                    }
                    e => out.push(self.literal(sub(e), depth + 1)?),
                }
            }
            Some(out)
        };
        Some(match el.expr {
            Expr::StringLiteral(s) => PyValue::Str(s.value.to_str().to_owned()),
            Expr::BytesLiteral(b) => PyValue::Bytes(b.value.bytes().collect()),
            Expr::NumberLiteral(n) => match &n.value {
                Number::Int(i) => PyValue::Int(i.to_string()),
                Number::Float(f) => PyValue::Float(float_repr(*f)),
                Number::Complex { real, imag } if *real == 0.0 => {
                    PyValue::Complex(format!("{}j", float_repr(*imag).trim_end_matches(".0")))
                }
                Number::Complex { .. } => return None,
            },
            Expr::BooleanLiteral(b) => PyValue::Bool(b.value),
            Expr::NoneLiteral(_) => PyValue::None,
            Expr::EllipsisLiteral(_) => PyValue::Ellipsis,
            Expr::Tuple(t) => PyValue::Tuple(items(&t.elts)?),
            Expr::List(l) => PyValue::List(items(&l.elts)?),
            Expr::Set(st) => PyValue::Set(items(&st.elts)?),
            Expr::Dict(d) => {
                let mut out = Vec::with_capacity(d.items.len());
                for item in &d.items {
                    let v = self.literal(sub(&item.value), depth + 1)?;
                    match &item.key {
                        Some(k) => out.push((self.literal(sub(k), depth + 1)?, v)),
                        None => match v {
                            PyValue::Dict(more) => out.extend(more),
                            _ => return None,
                        },
                    }
                }
                PyValue::Dict(out)
            }
            Expr::BinOp(b) if b.op == Operator::Add => {
                let l = self.literal(sub(&b.left), depth + 1)?;
                let r = self.literal(sub(&b.right), depth + 1)?;
                match (l, r) {
                    (PyValue::Str(l), PyValue::Str(r)) => PyValue::Str(l + &r),
                    (PyValue::Bytes(mut l), PyValue::Bytes(r)) => {
                        l.extend(r);
                        PyValue::Bytes(l)
                    }
                    (PyValue::Tuple(mut l), PyValue::Tuple(r)) => {
                        l.extend(r);
                        PyValue::Tuple(l)
                    }
                    (PyValue::List(mut l), PyValue::List(r)) => {
                        l.extend(r);
                        PyValue::List(l)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The argument of `swappable_dependency(...)`.
    fn swappable(&self, arg: Elem<'t>, line: u32) -> Option<DepEntry> {
        let arg = self.resolve(arg);
        match arg.expr {
            Expr::Attribute(a) if is_settings(&a.value) => Some(DepEntry::Swappable {
                setting: a.attr.as_str().to_owned(),
                default: None,
                line,
            }),
            Expr::Call(c)
                if super::is_dotted(&c.func, &["getattr"])
                    && matches!(c.arguments.args.len(), 2 | 3)
                    && c.arguments.keywords.is_empty()
                    && is_settings(&c.arguments.args[0]) =>
            {
                let args = &c.arguments.args;
                let setting = self.str_val(
                    Elem {
                        expr: &args[1],
                        ..arg
                    },
                    1,
                )?;
                let default = match args.get(2) {
                    None | Some(Expr::NoneLiteral(_)) => None,
                    Some(d) => Some(self.str_val(Elem { expr: d, ..arg }, 1)?),
                };
                Some(DepEntry::Swappable {
                    setting: setting.value.into_owned(),
                    default: default.map(|d| d.value.into_owned()),
                    line,
                })
            }
            _ => {
                let value = self.str_val(arg, 1)?;
                let app = value.value.split('.').next().unwrap_or("");
                Some(DepEntry::Key {
                    app: StrLit {
                        value: app.to_owned(),
                        span: None,
                    },
                    name: StrLit {
                        value: "__first__".to_owned(),
                        span: None,
                    },
                    line,
                })
            }
        }
    }
}

/// An evaluated entry: a key when it is a pair of strings (with no spans:
/// it is not written as one), else the value.
pub(super) fn value_entry(value: PyValue, line: u32) -> DepEntry {
    let lit = |value| StrLit { value, span: None };
    match value {
        PyValue::Tuple(items) => match <[PyValue; 2]>::try_from(items) {
            Ok([PyValue::Str(app), PyValue::Str(name)]) => DepEntry::Key {
                app: lit(app),
                name: lit(name),
                line,
            },
            Ok(pair) => DepEntry::Value {
                value: PyValue::Tuple(pair.into()),
                line,
            },
            Err(items) => DepEntry::Value {
                value: PyValue::Tuple(items),
                line,
            },
        },
        value => DepEntry::Value { value, line },
    }
}

/// Python's `repr` of a float.
fn float_repr(f: f64) -> String {
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// Expressions `flatten` can expand (or follow).
pub(super) fn is_sequence_like(e: &Expr) -> bool {
    matches!(
        e,
        Expr::List(_) | Expr::Tuple(_) | Expr::Set(_) | Expr::Name(_) | Expr::NoneLiteral(_)
    ) || matches!(e, Expr::BinOp(b) if b.op == Operator::Add)
}

fn kind_name(k: SeqKind) -> &'static str {
    match k {
        SeqKind::List => "list",
        SeqKind::Tuple => "tuple",
        SeqKind::Set => "set",
        SeqKind::None => "NoneType",
        SeqKind::Unknown => "?",
    }
}

/// A short name for an expression's kind, for messages.
pub(super) fn expr_kind(expr: &Expr) -> &'static str {
    match expr {
        Expr::StringLiteral(_) => "a string",
        Expr::BytesLiteral(_) => "a bytes literal",
        Expr::FString(_) | Expr::TString(_) => "an f-string",
        Expr::NumberLiteral(_) => "a number",
        Expr::BooleanLiteral(_) => "a boolean",
        Expr::NoneLiteral(_) => "None",
        Expr::Dict(_) => "a dict",
        Expr::Set(_) => "a set",
        Expr::List(_) => "a list",
        Expr::Tuple(_) => "a tuple",
        Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
            "a comprehension"
        }
        Expr::Call(_) => "a call",
        Expr::Attribute(_) => "an attribute",
        Expr::Subscript(_) => "a subscript",
        Expr::Name(_) => "a name",
        Expr::BinOp(_) => "an operator expression",
        Expr::If(_) => "a conditional expression",
        Expr::Lambda(_) => "a lambda",
        _ => "an expression",
    }
}
