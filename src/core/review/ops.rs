//! The safety rules on one migration's operations (PostgreSQL's locks,
//! lost data, deploys with old code still running, irreversibility):
//! plain data in, findings out.

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::Expr;
use ruff_python_parser::parse_expression;

use super::finding::{Finding, FixKind};
use super::pysrc::{Atomic, Bound, ModuleFacts};
use super::rules::Rule;
use super::{field_call, plain_str, position, summary, FieldCall, Val};
use crate::core::pyparse::{DepEntry, Operation, ParsedMigration};

/// One migration under review.
#[derive(Debug, Clone, Copy)]
pub struct Reviewed<'a> {
    pub app: &'a str,
    pub name: &'a str,
    /// Project-relative path.
    pub file: &'a str,
    pub bytes: &'a [u8],
    /// Parsed with operations ([`crate::core::pyparse::parse_migration`]).
    pub parsed: &'a ParsedMigration,
}

/// Where an `AlterField`'s previous definition comes from.
pub trait FieldHistory {
    /// The source of `model.field`'s definition before migration `before`
    /// of `app` (`models.IntegerField(default=0)`), when it can be told.
    fn previous(&self, app: &str, before: &str, model: &str, field: &str) -> Option<String>;
}

/// Operations that only build or drop indexes: a migration of nothing else
/// can be made non-atomic safely (a failure leaves no half-done schema
/// change behind).
const INDEX_ONLY: [&str; 4] = [
    "AddIndex",
    "AddIndexConcurrently",
    "RemoveIndex",
    "RemoveIndexConcurrently",
];

/// Operations that change the schema of a table (and lock it).
const SCHEMA: [&str; 16] = [
    "AddField",
    "RemoveField",
    "AlterField",
    "RenameField",
    "AddIndex",
    "RemoveIndex",
    "RenameIndex",
    "AddConstraint",
    "RemoveConstraint",
    "AlterUniqueTogether",
    "AlterIndexTogether",
    "DeleteModel",
    "RenameModel",
    "AlterModelTable",
    "AlterModelTableComment",
    "AlterOrderWithRespectTo",
];

/// For each migration, the models (lower case) that migrations of its app
/// earlier in the same set create: tables that do not exist yet on a
/// deployed database, so locking them or dropping their data costs
/// nothing. "Earlier" is by dependencies within the set.
pub fn models_created_before(files: &[Reviewed]) -> Vec<BTreeSet<String>> {
    let index: BTreeMap<(&str, &str), usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| ((f.app, f.name), i))
        .collect();
    let created: Vec<BTreeSet<String>> = files
        .iter()
        .map(|f| {
            let mut new = BTreeSet::new();
            track_models(f.parsed, &mut new, |_, _| {});
            new
        })
        .collect();
    files
        .iter()
        .map(|f| {
            // Ancestors within the set, by a walk of dependencies.
            let mut seen = BTreeSet::new();
            let mut stack: Vec<usize> = parents(f, &index);
            while let Some(i) = stack.pop() {
                if seen.insert(i) {
                    stack.extend(parents(&files[i], &index));
                }
            }
            seen.into_iter()
                .filter(|i| files[*i].app == f.app)
                .flat_map(|i| created[i].iter().cloned())
                .collect()
        })
        .collect()
}

fn parents(f: &Reviewed, index: &BTreeMap<(&str, &str), usize>) -> Vec<usize> {
    f.parsed
        .dependencies
        .iter()
        .filter_map(|d| match d {
            DepEntry::Key { app, name, .. } => index
                .get(&(app.value.as_str(), name.value.as_str()))
                .copied(),
            DepEntry::Swappable { .. } | DepEntry::Value { .. } => None,
        })
        .collect()
}

/// Walk the operations, keeping `new` (models created so far, lower case)
/// up to date, and calling `each` with every operation and whether its
/// model is an existing one (not in `new`) before it runs.
fn track_models(
    parsed: &ParsedMigration,
    new: &mut BTreeSet<String>,
    mut each: impl FnMut(usize, bool),
) {
    for (i, op) in parsed.operations.iter().enumerate() {
        let model = op.model.as_deref().map(str::to_lowercase);
        let existing = model.as_ref().is_none_or(|m| !new.contains(m));
        each(i, existing);
        match (op.kind.as_str(), model) {
            ("CreateModel", Some(m)) => {
                new.insert(m);
            }
            ("RenameModel", Some(old)) if new.remove(&old) => {
                if let Some(n) = op.param("new_name").and_then(plain_str) {
                    new.insert(n.to_lowercase());
                }
            }
            _ => {}
        }
    }
}

/// The findings of the operation rules on one migration. `created_before`:
/// models created by earlier migrations of the same set
/// ([`models_created_before`]).
pub fn review_operations(
    m: &Reviewed,
    facts: &ModuleFacts,
    created_before: &BTreeSet<String>,
    history: &dyn FieldHistory,
) -> Vec<Finding> {
    let ops = &m.parsed.operations;
    let mut existing = vec![true; ops.len()];
    let mut new = created_before.clone();
    track_models(m.parsed, &mut new, |i, e| existing[i] = e);
    let cx = Cx {
        m,
        facts,
        index_only: !ops.is_empty() && ops.iter().all(|o| INDEX_ONLY.contains(&o.kind.as_str())),
        non_atomic: m.parsed.atomic == Some(false),
    };
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        cx.operation(i, op, existing[i], history, &mut out);
    }
    cx.mixed(&existing, &mut out);
    cx.model_imports(&mut out);
    out
}

struct Cx<'a, 'f> {
    m: &'a Reviewed<'a>,
    facts: &'f ModuleFacts,
    /// Only index operations: `atomic = False` is a safe fix.
    index_only: bool,
    non_atomic: bool,
}

impl Cx<'_, '_> {
    fn at(&self, rule: Rule, op: &Operation) -> Finding {
        Finding::new(rule, self.m.file, position(self.m.bytes, op.span.0))
    }

    /// Whether `--fix` can make the migration non-atomic.
    fn can_make_non_atomic(&self) -> bool {
        self.index_only
            && match &self.facts.atomic {
                Atomic::Literal { .. } => true,
                Atomic::Absent => self.facts.class_insert.is_some(),
                Atomic::Other => false,
            }
    }

    fn operation(
        &self,
        i: usize,
        op: &Operation,
        existing: bool,
        history: &dyn FieldHistory,
        out: &mut Vec<Finding>,
    ) {
        let s = summary(op, self.m.app);
        let table = || {
            format!(
                "the existing table of {}.{}",
                self.m.app,
                op.model.as_deref().unwrap_or("?")
            )
        };
        match op.kind.as_str() {
            "AddField" if existing => {
                let Some(field) = op.param("field").and_then(field_call) else {
                    return;
                };
                if let Some(why) = fails_on_rows(&field) {
                    out.push(
                        self.at(Rule::AddFieldNotNull, op)
                            .message(format!(
                                "{s} adds a NOT NULL column with no default to {}: {why}",
                                table()
                            ))
                            .fix(
                                "add it with null=True, fill the existing rows (a data migration \
                                 or a batch job), then make it NOT NULL with AlterField in a later \
                                 migration; or give it db_default= so the database fills the rows",
                            ),
                    );
                }
                if let Some(why) = adds_index(&field) {
                    out.push(
                        self.at(Rule::IndexLocksTable, op)
                            .message(format!(
                                "{s} builds an index ({why}) on {}, blocking writes to it until \
                                 the index is built",
                                table()
                            ))
                            .fix(INDEX_FIELD_FIX),
                    );
                }
            }
            "AlterField" if existing => self.alter_field(op, &s, history, out),
            "AddIndex" if existing => {
                let mut f = self
                    .at(Rule::IndexLocksTable, op)
                    .message(format!(
                        "{s} builds an index on {} with CREATE INDEX, blocking writes to it until \
                         the index is built",
                        table()
                    ))
                    .fix(
                        "use AddIndexConcurrently (django.contrib.postgres.operations) in a \
                         migration with atomic = False",
                    );
                if self.can_make_non_atomic() && self.facts.concurrently != Bound::Other {
                    f = f.fixable(FixKind::Concurrently { op: i });
                    f.fix.push_str(": `djmig review --fix` does it");
                } else if !self.index_only {
                    f.fix.push_str(
                        ", on its own (the other operations stay in an atomic migration)",
                    );
                }
                out.push(f);
            }
            "AddConstraint" if existing && is_unique_constraint(op) => out.push(
                self.at(Rule::IndexLocksTable, op)
                    .message(format!(
                        "{s} builds a unique index on {}, blocking writes to it until the index \
                         is built",
                        table()
                    ))
                    .fix(INDEX_UNIQUE_FIX),
            ),
            "AlterUniqueTogether" if existing && !empty_collection(op.param("unique_together")) => {
                out.push(
                    self.at(Rule::IndexLocksTable, op)
                        .message(format!(
                            "{s} builds a unique index on {}, blocking writes to it until the \
                             index is built",
                            table()
                        ))
                        .fix(INDEX_UNIQUE_FIX),
                )
            }
            "AddIndexConcurrently" | "RemoveIndexConcurrently" if !self.non_atomic => {
                let mut f = self
                    .at(Rule::ConcurrentInTransaction, op)
                    .message(format!(
                        "{s} runs inside the migration's transaction (atomic is not False): \
                         Django refuses to run it (\"cannot be executed inside a transaction\")"
                    ))
                    .fix("set atomic = False on the migration");
                if self.can_make_non_atomic() {
                    f = f.fixable(FixKind::NonAtomic);
                    f.fix.push_str(": `djmig review --fix` does it");
                } else {
                    f.fix
                        .push_str(", with the concurrent operations in a migration of their own");
                }
                out.push(f);
            }
            "RemoveField" if existing => out.push(
                self.at(Rule::DataLoss, op)
                    .message(format!(
                        "{s} drops the column and every value in it; code of the previous release \
                         still running during the deploy fails on the missing column"
                    ))
                    .fix(
                        "remove it in two deploys: first stop using the field in the code (keep \
                         the column: SeparateDatabaseAndState with the RemoveField in \
                         state_operations only, or null=True so inserts work), deploy, then drop \
                         the column in a later migration",
                    ),
            ),
            "DeleteModel" if existing => out.push(
                self.at(Rule::DataLoss, op)
                    .message(format!(
                        "{s} drops the table and all its rows; code of the previous release still \
                         running during the deploy fails on the missing table"
                    ))
                    .fix(
                        "remove it in two deploys: first remove every use of the model from the \
                         code, deploy, then delete the model in a later migration (keep a backup \
                         of the rows if they may be needed)",
                    ),
            ),
            "RenameField" | "RenameModel" | "AlterModelTable" if existing => out.push(
                self.at(Rule::RenameBreaksDeploy, op)
                    .message(format!(
                        "{s} renames {} in the database; code of the previous release still \
                         running during the deploy queries the old name",
                        if op.kind == "RenameField" {
                            "a column"
                        } else {
                            "a table"
                        }
                    ))
                    .fix(if op.kind == "RenameField" {
                        "keep the column's name (db_column='old_name' on the renamed field), or \
                         add the new column, write to both, backfill, then drop the old one over \
                         several deploys"
                    } else {
                        "keep the table's name (db_table='old_table' in the model's Meta), or \
                         copy to a new table over several deploys"
                    }),
            ),
            "RunPython" if super::is_missing(op.param("reverse_code")) => {
                out.push(self.irreversible(i, op, &s, "reverse_code"))
            }
            "RunSQL" if super::is_missing(op.param("reverse_sql")) => {
                out.push(self.irreversible(i, op, &s, "reverse_sql"))
            }
            _ => {}
        }
    }

    fn irreversible(&self, i: usize, op: &Operation, s: &str, param: &str) -> Finding {
        let noop = if op.kind == "RunPython" {
            "migrations.RunPython.noop"
        } else {
            "migrations.RunSQL.noop"
        };
        self.at(Rule::Irreversible, op)
            .message(format!(
                "{s} has no {param}: the migration cannot be unapplied"
            ))
            .fix(format!(
                "write the reverse as {param}=, or pass {param}={noop} if there is nothing to \
                 undo (`djmig review --fix-irreversible` adds the no-op)"
            ))
            .fixable(FixKind::NoopReverse { op: i })
    }

    fn alter_field(
        &self,
        op: &Operation,
        s: &str,
        history: &dyn FieldHistory,
        out: &mut Vec<Finding>,
    ) {
        let Some(new) = op.param("field").and_then(field_call) else {
            return;
        };
        let prev_src = match (op.model.as_deref(), op.name.as_deref()) {
            (Some(model), Some(field)) => history.previous(self.m.app, self.m.name, model, field),
            _ => None,
        };
        let prev = prev_src.as_deref().and_then(field_call);
        if let Some(prev) = &prev {
            if let Some(change) = type_change(prev, &new) {
                out.push(
                    self.at(Rule::AlterColumnType, op)
                        .message(format!(
                            "{s} changes the column type ({change}): PostgreSQL rewrites the \
                             table under an ACCESS EXCLUSIVE lock (no reads or writes meanwhile), \
                             and code still running during the deploy may not handle the new type"
                        ))
                        .fix(
                            "add a column of the new type, write to both, backfill it, switch the \
                             reads, then drop the old column over several deploys; or, for a \
                             small table, accept the lock and suppress this with a reason",
                        ),
                );
            }
        }
        let Some(why) = index_option(&new) else {
            return;
        };
        let had = prev.as_ref().and_then(index_option);
        match (&prev, had) {
            (Some(_), Some(_)) => {}
            (known, _) => {
                let verb = if known.is_some() {
                    "builds"
                } else {
                    "may build"
                };
                out.push(
                    self.at(Rule::IndexLocksTable, op)
                        .message(format!(
                            "{s} {verb} an index ({why}) on the existing table of {}.{}, blocking \
                             writes to it until the index is built",
                            self.m.app,
                            op.model.as_deref().unwrap_or("?")
                        ))
                        .fix(if why.starts_with("unique") {
                            INDEX_UNIQUE_FIX
                        } else {
                            INDEX_FIELD_FIX
                        }),
                );
            }
        }
    }

    /// Schema changes of existing tables and data operations in one
    /// transaction.
    fn mixed(&self, existing: &[bool], out: &mut Vec<Finding>) {
        if self.non_atomic {
            return;
        }
        let ops = &self.m.parsed.operations;
        let data = ops
            .iter()
            .find(|o| matches!(o.kind.as_str(), "RunPython" | "RunSQL"));
        let schema = ops
            .iter()
            .zip(existing)
            .find(|(o, e)| **e && SCHEMA.contains(&o.kind.as_str()));
        let (Some(data), Some((schema, _))) = (data, schema) else {
            return;
        };
        out.push(
            self.at(Rule::MixedAtomic, data)
                .message(format!(
                    "{} runs in the same transaction as {} (line {}): on PostgreSQL the schema \
                     change's locks are held until the data migration finishes",
                    summary(data, self.m.app),
                    summary(schema, self.m.app),
                    schema.line
                ))
                .fix(
                    "split it: the schema changes in one migration, the data migration in the \
                     next; or set atomic = False on the migration and keep each step atomic on \
                     its own (RunPython(..., atomic=True))",
                ),
        );
    }

    /// `RunPython` code that imports models instead of `apps.get_model`.
    fn model_imports(&self, out: &mut Vec<Finding>) {
        let mut seen = BTreeSet::new();
        for op in &self.m.parsed.operations {
            if op.kind != "RunPython" {
                continue;
            }
            for param in ["code", "reverse_code"] {
                let Some(func) = op.param(param).map(str::trim) else {
                    continue;
                };
                let Some(f) = self.facts.functions.get(func) else {
                    continue;
                };
                let mut found = Vec::new();
                for mi in &f.imports {
                    found.push((mi.line, mi.column, format!("imports {}", mi.module)));
                }
                for mi in &self.facts.model_imports {
                    let used: Vec<&str> = mi
                        .bound
                        .iter()
                        .filter(|b| *b == "*" || f.names.contains(*b))
                        .map(String::as_str)
                        .collect();
                    if !used.is_empty() {
                        found.push((
                            mi.line,
                            mi.column,
                            format!("uses {} imported from {}", used.join(", "), mi.module),
                        ));
                    }
                }
                for (line, column) in &f.user_model_calls {
                    found.push((*line, *column, "calls get_user_model()".to_string()));
                }
                for (line, column, what) in found {
                    if !seen.insert((line, column)) {
                        continue;
                    }
                    out.push(
                        Finding::new(Rule::ModelImport, self.m.file, (line, column))
                            .message(format!(
                                "{func}, run by RunPython at line {}, {what}: that is the current \
                                 code's model, not the one this migration's history has, so the \
                                 migration breaks when the model changes later",
                                op.line
                            ))
                            .fix(
                                "take the historical model from the `apps` argument: \
                                 apps.get_model('app_label', 'ModelName') (for the user model: \
                                 apps.get_model(settings.AUTH_USER_MODEL))",
                            ),
                    );
                }
            }
        }
    }
}

const INDEX_FIELD_FIX: &str = "add the field without the index (db_index=False), then build the \
     index with AddIndexConcurrently in a migration of its own with atomic = False";
const INDEX_UNIQUE_FIX: &str =
    "build the unique index concurrently in a migration of its own with \
     atomic = False (RunSQL \"CREATE UNIQUE INDEX CONCURRENTLY …\" in SeparateDatabaseAndState), \
     then add the constraint using it";

/// Why a new NOT NULL column without a default fails on a table with
/// rows, if it does. Django fills existing rows with the field's
/// "effective default": none here, except `""` for a blank string field
/// and now for `auto_now`/`auto_now_add`.
fn fails_on_rows(f: &FieldCall) -> Option<&'static str> {
    if matches!(f.class.as_str(), "ManyToManyField" | "GeneratedField") || f.star {
        return None;
    }
    let given = |k: &str| f.get(k).is_some();
    if f.get("null").is_some_and(|v| v != Val::False)
        || given("default")
        || given("db_default")
        || f.get("primary_key") == Some(Val::True)
        || f.get("auto_now") == Some(Val::True)
        || f.get("auto_now_add") == Some(Val::True)
    {
        return None;
    }
    // `blank=True` on a field that stores strings: Django fills "".
    const NO_EMPTY_STRING: [&str; 24] = [
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "SmallIntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "BooleanField",
        "NullBooleanField",
        "DateField",
        "DateTimeField",
        "TimeField",
        "DecimalField",
        "DurationField",
        "FloatField",
        "UUIDField",
        "JSONField",
        "GenericIPAddressField",
        "ForeignKey",
        "OneToOneField",
        "ArrayField",
        "HStoreField",
    ];
    if f.get("blank") == Some(Val::True) && !NO_EMPTY_STRING.contains(&f.class.as_str()) {
        return None;
    }
    Some("the migration fails on a table with rows (Django has no value for them)")
}

/// Why adding this field builds an index, if it does.
fn adds_index(f: &FieldCall) -> Option<&'static str> {
    if let Some(why) = index_option(f) {
        return Some(why);
    }
    match f.class.as_str() {
        "ForeignKey" if f.has_literal("db_index") != Some(false) => {
            Some("ForeignKey columns are indexed by default")
        }
        "OneToOneField" => Some("unique: OneToOneField"),
        _ => None,
    }
}

/// The option of a field that gives it an index.
fn index_option(f: &FieldCall) -> Option<&'static str> {
    if f.get("primary_key") == Some(Val::True) {
        return None;
    }
    if f.get("unique") == Some(Val::True) {
        return Some("unique=True");
    }
    if f.get("db_index") == Some(Val::True) {
        return Some("db_index=True");
    }
    None
}

fn is_unique_constraint(op: &Operation) -> bool {
    let Some(src) = op.param("constraint") else {
        return false;
    };
    if src.len() > 64 * 1024 {
        return false;
    }
    let stack = (src.len() * 1024).max(256 * 1024);
    stacker::maybe_grow(stack, stack, || {
        parse_expression(src).ok().is_some_and(|p| {
            matches!(p.expr(), Expr::Call(c)
                if crate::core::pyparse::last_name(&c.func) == Some("UniqueConstraint"))
        })
    })
}

/// `None`, `()`, `[]`, `set()`, `{}` or absent.
fn empty_collection(src: Option<&str>) -> bool {
    src.is_none_or(|s| {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        matches!(s.as_str(), "None" | "()" | "[]" | "set()" | "{}")
    })
}

/// The column type a field class stores (PostgreSQL), with its default
/// length for the `varchar` family.
fn column_type(class: &str) -> (&str, Option<u64>) {
    match class {
        "CharField" => ("varchar", None),
        "SlugField" => ("varchar", Some(50)),
        "EmailField" => ("varchar", Some(254)),
        "URLField" => ("varchar", Some(200)),
        other => (other, None),
    }
}

/// How a field's column type changes, when PostgreSQL must rewrite or
/// scan the table for it. Widening a `varchar`, `varchar` to `text`, and
/// more digits before a decimal's point are catalog-only changes.
fn type_change(prev: &FieldCall, new: &FieldCall) -> Option<String> {
    let (pt, pdef) = column_type(&prev.class);
    let (nt, ndef) = column_type(&new.class);
    let len = |f: &FieldCall, def: Option<u64>| f.number("max_length").or(def);
    match (pt, nt) {
        ("varchar", "TextField") => None,
        ("varchar", "varchar") => {
            let (a, b) = (len(prev, pdef), len(new, ndef));
            match (a, b) {
                (Some(a), Some(b)) if b < a => Some(format!("max_length {a} -> {b}")),
                (None, Some(b)) => Some(format!("unlimited -> max_length {b}")),
                _ => None,
            }
        }
        _ if pt != nt => Some(format!("{} -> {}", prev.class, new.class)),
        ("DecimalField", _) => {
            let (pd, nd) = (prev.number("max_digits"), new.number("max_digits"));
            let (pp, np) = (prev.number("decimal_places"), new.number("decimal_places"));
            if pp != np {
                Some(format!("decimal_places {} -> {}", show(pp), show(np)))
            } else if let (Some(a), Some(b)) = (pd, nd) {
                (b < a).then(|| format!("max_digits {a} -> {b}"))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn show(n: Option<u64>) -> String {
    n.map_or("?".to_string(), |n| n.to_string())
}
