//! Errors Python reports when it compiles a module that parses: a repeated
//! keyword argument, `await` or `yield` outside a function, `break` outside
//! a loop, too many nested brackets. Importing such a file raises
//! `SyntaxError`, so Django cannot load it.
//!
//! Ruff's `SemanticSyntaxChecker` knows the rules; it needs to be told where
//! it is (which scopes enclose the node it checks). Only the rules that hold
//! for every Python Django 5.2 runs on (3.10 to 3.14) are reported, and
//! where the context is not tracked the answer given is the one that
//! reports nothing: a file Python compiles is never refused.

use std::cell::RefCell;

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{self as ast, Expr, ModModule, PythonVersion, Stmt};
use ruff_python_parser::semantic_errors::{
    InvalidExpressionPosition, LazyImportContext, SemanticSyntaxChecker, SemanticSyntaxContext,
    SemanticSyntaxError, SemanticSyntaxErrorKind, WriteToDebugKind,
};
use ruff_text_size::{Ranged, TextRange, TextSize};

/// CPython's tokenizer: `MAXLEVEL` brackets deep at most.
const MAX_BRACKET_DEPTH: usize = 200;
/// CPython's tokenizer: `MAXINDENT` indentation levels, the module's own
/// included.
const MAX_INDENT_DEPTH: usize = 100;

/// An error found, at a parser offset.
pub(super) struct CompileError {
    pub(super) at: TextSize,
    pub(super) message: String,
}

/// Errors CPython's tokenizer limits give: brackets nested too deeply,
/// too many indentation levels. Only the first of each.
pub(super) fn token_limits(tokens: &Tokens) -> Vec<CompileError> {
    let mut out = Vec::new();
    let (mut brackets, mut indents) = (0usize, 0usize);
    let (mut bracket_seen, mut indent_seen) = (false, false);
    for t in tokens.iter() {
        match t.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                brackets += 1;
                if brackets > MAX_BRACKET_DEPTH && !bracket_seen {
                    bracket_seen = true;
                    out.push(CompileError {
                        at: t.start(),
                        message: "too many nested parentheses".to_owned(),
                    });
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                brackets = brackets.saturating_sub(1);
            }
            TokenKind::Indent => {
                indents += 1;
                if indents >= MAX_INDENT_DEPTH && !indent_seen {
                    indent_seen = true;
                    out.push(CompileError {
                        at: t.start(),
                        message: "IndentationError: too many levels of indentation".to_owned(),
                    });
                }
            }
            TokenKind::Dedent => indents = indents.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// The compile-time errors of a module that parsed without error.
pub(super) fn semantic_errors(module: &ModModule, source: &str) -> Vec<CompileError> {
    let mut v = ScopeVisitor {
        checker: SemanticSyntaxChecker::new(),
        errors: RefCell::new(Vec::new()),
        source,
        scopes: vec![Scope::Module { loops: 0 }],
    };
    v.visit_body(&module.body);
    let mut errors = v.errors.into_inner();
    errors.retain(|e| holds_everywhere(&e.kind));
    errors.sort_by_key(|e| e.range.start());
    // Some constructs break two rules (`await` at module level): Python
    // names one.
    errors.dedup_by_key(|e| e.range.start());
    errors
        .into_iter()
        .map(|e| CompileError {
            at: e.range.start(),
            message: e.to_string(),
        })
        .collect()
}

/// Rules that are errors on every Python from 3.10 to 3.14. Others
/// (annotations under PEP 649, lazy imports, rules a version dropped) are
/// left out, and so are those needing name bindings this visitor does not
/// track (it never reports them anyway).
fn holds_everywhere(kind: &SemanticSyntaxErrorKind) -> bool {
    use SemanticSyntaxErrorKind as K;
    match kind {
        K::InvalidExpression(_, InvalidExpressionPosition::TypeAnnotation) => false,
        K::InvalidExpression(..)
        | K::DuplicateKeywordArgument(_)
        | K::YieldOutsideFunction(_)
        | K::ReturnOutsideFunction
        | K::AwaitOutsideAsyncFunction(_)
        | K::BreakOutsideLoop
        | K::ContinueOutsideLoop
        | K::DuplicateParameter(_)
        | K::NonlocalDeclarationAtModuleLevel
        | K::NonlocalAndGlobal(_)
        | K::AnnotatedGlobal(_)
        | K::AnnotatedNonlocal(_)
        | K::YieldFromInAsyncFunction
        | K::ReturnInGenerator
        | K::LateFutureImport
        | K::FutureFeatureNotDefined(_)
        | K::WriteToDebug(_)
        | K::NamedExpressionInComprehensionIterable
        | K::NamedExpressionInClassBodyComprehension
        | K::ReboundComprehensionVariable
        | K::IrrefutableCasePattern(_)
        | K::MultipleCaseAssignment(_)
        | K::MultipleStarredNamesInSequencePattern
        | K::DuplicateMatchKey(_)
        | K::DuplicateMatchClassAttribute(_)
        | K::DifferentMatchPatternBindings
        | K::SingleStarredAssignment
        | K::MultipleStarredExpressions
        | K::InvalidStarExpression
        | K::NonModuleImportStar(_)
        | K::DuplicateTypeParameter
        | K::TypeParameterDefaultOrder(_) => true,
        _ => false,
    }
}

/// A scope the checker asks about.
#[derive(Clone, Copy, Debug)]
enum Scope {
    /// `loops`: `for`/`while` bodies around the current statement.
    Module {
        loops: u32,
    },
    Class {
        loops: u32,
    },
    Function {
        is_async: bool,
        loops: u32,
    },
    Lambda,
    /// A list, set or dict comprehension.
    Comprehension,
    /// A generator expression.
    Generator,
}

struct ScopeVisitor<'s> {
    checker: SemanticSyntaxChecker,
    errors: RefCell<Vec<SemanticSyntaxError>>,
    source: &'s str,
    scopes: Vec<Scope>,
}

impl ScopeVisitor<'_> {
    fn check(&mut self, f: impl FnOnce(&mut SemanticSyntaxChecker, &Self)) {
        let mut checker = std::mem::take(&mut self.checker);
        f(&mut checker, self);
        self.checker = checker;
    }

    fn innermost(&self) -> Scope {
        self.scopes
            .last()
            .copied()
            .unwrap_or(Scope::Module { loops: 0 })
    }

    fn loops_mut(&mut self) -> Option<&mut u32> {
        match self.scopes.last_mut()? {
            Scope::Module { loops } | Scope::Class { loops } | Scope::Function { loops, .. } => {
                Some(loops)
            }
            _ => None,
        }
    }

    fn in_scope(&mut self, scope: Scope, f: impl FnOnce(&mut Self)) {
        self.scopes.push(scope);
        f(self);
        self.scopes.pop();
    }

    /// A loop's body counts as inside it; its `else` does not.
    fn loop_body(&mut self, body: &[Stmt]) {
        if let Some(n) = self.loops_mut() {
            *n += 1;
        }
        self.visit_body(body);
        if let Some(n) = self.loops_mut() {
            *n = n.saturating_sub(1);
        }
    }

    /// A comprehension: its first iterable is evaluated outside it, the
    /// rest inside.
    fn comprehension(&mut self, scope: Scope, generators: &[ast::Comprehension], parts: &[&Expr]) {
        if let Some(first) = generators.first() {
            self.visit_expr(&first.iter);
        }
        self.in_scope(scope, |v| {
            for (i, g) in generators.iter().enumerate() {
                v.visit_expr(&g.target);
                if i > 0 {
                    v.visit_expr(&g.iter);
                }
                for cond in &g.ifs {
                    v.visit_expr(cond);
                }
            }
            for part in parts {
                v.visit_expr(part);
            }
        });
    }
}

impl SemanticSyntaxContext for ScopeVisitor<'_> {
    fn future_annotations_or_stub(&self) -> bool {
        false
    }

    fn lazy_import_context(&self) -> Option<LazyImportContext> {
        None
    }

    fn python_version(&self) -> PythonVersion {
        PythonVersion::latest()
    }

    fn source(&self) -> &str {
        self.source
    }

    fn global(&self, _name: &str) -> Option<TextRange> {
        None
    }

    fn has_nonlocal_binding(&self, _name: &str) -> bool {
        true
    }

    fn in_async_context(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope {
                Scope::Comprehension | Scope::Generator => {}
                Scope::Function { is_async, .. } => return *is_async,
                Scope::Module { .. } | Scope::Class { .. } | Scope::Lambda => return false,
            }
        }
        false
    }

    fn in_await_allowed_context(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope {
                Scope::Comprehension => {}
                Scope::Generator | Scope::Function { .. } | Scope::Lambda => return true,
                Scope::Module { .. } | Scope::Class { .. } => return false,
            }
        }
        false
    }

    fn in_yield_allowed_context(&self) -> bool {
        matches!(self.innermost(), Scope::Function { .. } | Scope::Lambda)
    }

    fn in_sync_comprehension(&self) -> bool {
        false
    }

    fn in_class_body_comprehension(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope {
                Scope::Comprehension | Scope::Generator => {}
                Scope::Class { .. } => return true,
                _ => return false,
            }
        }
        false
    }

    fn in_module_scope(&self) -> bool {
        matches!(self.innermost(), Scope::Module { .. })
    }

    fn in_function_scope(&self) -> bool {
        matches!(self.innermost(), Scope::Function { .. } | Scope::Lambda)
    }

    fn in_generator_context(&self) -> bool {
        for scope in self.scopes.iter().rev() {
            match scope {
                Scope::Comprehension => {}
                Scope::Generator => return true,
                _ => return false,
            }
        }
        false
    }

    fn in_notebook(&self) -> bool {
        false
    }

    fn report_semantic_error(&self, error: SemanticSyntaxError) {
        self.errors.borrow_mut().push(error);
    }

    fn in_loop_context(&self) -> bool {
        match self.innermost() {
            Scope::Module { loops } | Scope::Class { loops } | Scope::Function { loops, .. } => {
                loops > 0
            }
            // No statements in these.
            _ => true,
        }
    }

    fn is_bound_parameter(&self, _name: &str) -> bool {
        false
    }
}

/// Nesting a hostile file can reach: grow the stack rather than overflow.
fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, f)
}

impl<'a> Visitor<'a> for ScopeVisitor<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        deep(|| {
            self.check(|c, cx| c.visit_stmt(stmt, cx));
            match stmt {
                Stmt::ClassDef(c) => {
                    for d in &c.decorator_list {
                        self.visit_decorator(d);
                    }
                    if let Some(tp) = &c.type_params {
                        self.visit_type_params(tp);
                    }
                    if let Some(args) = &c.arguments {
                        self.visit_arguments(args);
                    }
                    self.in_scope(Scope::Class { loops: 0 }, |v| v.visit_body(&c.body));
                }
                Stmt::FunctionDef(f) => {
                    for d in &f.decorator_list {
                        self.visit_decorator(d);
                    }
                    if let Some(tp) = &f.type_params {
                        self.visit_type_params(tp);
                    }
                    self.visit_parameters(&f.parameters);
                    if let Some(r) = &f.returns {
                        self.visit_annotation(r);
                    }
                    let scope = Scope::Function {
                        is_async: f.is_async,
                        loops: 0,
                    };
                    self.in_scope(scope, |v| v.visit_body(&f.body));
                }
                Stmt::For(s) => {
                    self.visit_expr(&s.iter);
                    self.visit_expr(&s.target);
                    self.loop_body(&s.body);
                    self.visit_body(&s.orelse);
                }
                Stmt::While(s) => {
                    self.visit_expr(&s.test);
                    self.loop_body(&s.body);
                    self.visit_body(&s.orelse);
                }
                _ => walk_stmt(self, stmt),
            }
        });
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        deep(|| {
            self.check(|c, cx| c.visit_expr(expr, cx));
            if let Expr::Call(call) = expr {
                // `f(__debug__=1)`, which the checker lets through.
                for k in &call.arguments.keywords {
                    if k.arg.as_ref().is_some_and(|a| a.as_str() == "__debug__") {
                        self.report_semantic_error(SemanticSyntaxError {
                            kind: SemanticSyntaxErrorKind::WriteToDebug(WriteToDebugKind::Store),
                            range: k.range(),
                            python_version: PythonVersion::latest(),
                        });
                    }
                }
            }
            match expr {
                Expr::Lambda(l) => {
                    if let Some(p) = &l.parameters {
                        self.visit_parameters(p);
                    }
                    self.in_scope(Scope::Lambda, |v| v.visit_expr(&l.body));
                }
                Expr::ListComp(c) => {
                    self.comprehension(Scope::Comprehension, &c.generators, &[&c.elt])
                }
                Expr::SetComp(c) => {
                    self.comprehension(Scope::Comprehension, &c.generators, &[&c.elt])
                }
                Expr::DictComp(c) => {
                    let parts: Vec<&Expr> = c.key.iter().map(|k| &**k).chain([&*c.value]).collect();
                    self.comprehension(Scope::Comprehension, &c.generators, &parts)
                }
                Expr::Generator(g) => {
                    self.comprehension(Scope::Generator, &g.generators, &[&g.elt])
                }
                _ => walk_expr(self, expr),
            }
        });
    }
}
