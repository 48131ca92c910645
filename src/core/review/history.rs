//! What a field was before an `AlterField`: its last definition in the
//! app's earlier migrations (`AddField`, `AlterField`, or the `fields` of
//! `CreateModel`), following renames back. The caller feeds migrations
//! newest first and may skip files [`FieldLookup::wants`] has no use for,
//! so a long history is mostly not parsed at all.

use ruff_python_ast::Expr;
use ruff_python_parser::parse_expression;
use ruff_text_size::Ranged;

use super::plain_str;
use crate::core::pyparse::ParsedMigration;

/// Longest `fields=` list of a `CreateModel` read.
const MAX_FIELDS_SOURCE: usize = 1024 * 1024;

/// Looking for one field's definition, going back in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLookup {
    /// The names looked for now (lower case): renames change them.
    model: String,
    field: String,
    /// `Some` once decided: the definition's source, or `None` (the field
    /// did not exist, or cannot be told).
    found: Option<Option<String>>,
}

impl FieldLookup {
    pub fn new(model: &str, field: &str) -> FieldLookup {
        FieldLookup {
            model: model.to_lowercase(),
            field: field.to_lowercase(),
            found: None,
        }
    }

    /// Whether a migration with this source could say anything about the
    /// field: it names it in a string, or renames a model.
    pub fn wants(&self, source: &[u8]) -> bool {
        let lower = source.to_ascii_lowercase();
        let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
        has(format!("'{}'", self.field).as_bytes())
            || has(format!("\"{}\"", self.field).as_bytes())
            || has(b"renamemodel")
    }

    /// Read one migration (the next older one); true once decided.
    pub fn feed(&mut self, m: &ParsedMigration) -> bool {
        if self.found.is_some() {
            return true;
        }
        let lower = |s: &Option<String>| s.as_deref().map(str::to_lowercase);
        for op in m.operations.iter().rev() {
            let model = lower(&op.model);
            let on_model = model.as_deref() == Some(self.model.as_str());
            let name = lower(&op.name);
            let on_field = on_model && name.as_deref() == Some(self.field.as_str());
            match op.kind.as_str() {
                "AddField" | "AlterField" if on_field => {
                    self.found = Some(op.param("field").map(str::to_string));
                }
                "RemoveField" if on_field => self.found = Some(None),
                "RenameField" if on_model => {
                    let new = op
                        .param("new_name")
                        .and_then(plain_str)
                        .map(|s| s.to_lowercase());
                    if new.as_deref() == Some(self.field.as_str()) {
                        match name {
                            Some(old) => self.field = old,
                            None => self.found = Some(None),
                        }
                    }
                }
                "RenameModel" => {
                    let new = op
                        .param("new_name")
                        .and_then(plain_str)
                        .map(|s| s.to_lowercase());
                    if new.as_deref() == Some(self.model.as_str()) {
                        match model {
                            Some(old) => self.model = old,
                            None => self.found = Some(None),
                        }
                    }
                }
                "CreateModel" if on_model => {
                    self.found = Some(op.param("fields").and_then(|f| field_in(f, &self.field)));
                }
                "DeleteModel" if on_model => self.found = Some(None),
                _ => {}
            }
            if self.found.is_some() {
                return true;
            }
        }
        false
    }

    /// The definition found, if any.
    pub fn result(self) -> Option<String> {
        self.found.flatten()
    }
}

/// The source of `field`'s definition in a `CreateModel` `fields=` list.
fn field_in(fields: &str, field: &str) -> Option<String> {
    if fields.len() > MAX_FIELDS_SOURCE {
        return None;
    }
    let stack = (fields.len() * 512).max(256 * 1024);
    stacker::maybe_grow(stack, stack, || {
        let parsed = parse_expression(fields).ok()?;
        let elts = match parsed.expr() {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            _ => return None,
        };
        elts.iter().find_map(|e| {
            let Expr::Tuple(t) = e else { return None };
            let [name, def] = &t.elts[..] else {
                return None;
            };
            let Expr::StringLiteral(s) = name else {
                return None;
            };
            (s.value.to_str().to_lowercase() == field).then(|| {
                fields
                    .get(def.range().start().to_usize()..def.range().end().to_usize())
                    .unwrap_or("")
                    .to_string()
            })
        })
    })
}

/// No history: every `AlterField` is judged on its own.
#[cfg(test)]
pub struct NoHistory;

#[cfg(test)]
impl super::ops::FieldHistory for NoHistory {
    fn previous(&self, _app: &str, _before: &str, _model: &str, _field: &str) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::pyparse::parse_migration;

    fn mig(ops: &str) -> ParsedMigration {
        parse_migration(
            format!(
                "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    \
                 operations = [\n{ops}\n    ]\n"
            )
            .as_bytes(),
        )
    }

    /// Feed migrations newest first, as a caller does.
    fn lookup(model: &str, field: &str, newest_first: &[&str]) -> Option<String> {
        let mut l = FieldLookup::new(model, field);
        for ops in newest_first {
            if !l.wants(ops.as_bytes()) {
                continue;
            }
            if l.feed(&mig(ops)) {
                break;
            }
        }
        l.result()
    }

    #[test]
    fn finds_the_last_definition() {
        let create = "        migrations.CreateModel(name='Order', fields=[('id', models.BigAutoField(primary_key=True)), ('total', models.IntegerField(default=0))]),";
        let alter = "        migrations.AlterField(model_name='order', name='total', field=models.BigIntegerField(default=0)),";
        let other = "        migrations.AddField(model_name='order', name='note', field=models.TextField(null=True)),";
        assert_eq!(
            lookup("order", "total", &[other, alter, create]).as_deref(),
            Some("models.BigIntegerField(default=0)")
        );
        assert_eq!(
            lookup("Order", "total", &[other, create]).as_deref(),
            Some("models.IntegerField(default=0)")
        );
        assert_eq!(lookup("order", "missing", &[other, create]), None);
    }

    #[test]
    fn follows_renames_back() {
        let create = "        migrations.CreateModel(name='Bill', fields=[('amount', models.IntegerField())]),";
        let rename_model = "        migrations.RenameModel(old_name='Bill', new_name='Invoice'),";
        let rename_field =
            "        migrations.RenameField(model_name='invoice', old_name='amount', new_name='total'),";
        assert_eq!(
            lookup("invoice", "total", &[rename_field, rename_model, create]).as_deref(),
            Some("models.IntegerField()")
        );
        let removed = "        migrations.RemoveField(model_name='invoice', name='total'),";
        assert_eq!(lookup("invoice", "total", &[removed, create]), None);
    }

    #[test]
    fn wants_only_files_that_name_the_field() {
        let l = FieldLookup::new("order", "total");
        assert!(l.wants(b"x = \"total\""));
        assert!(l.wants(b"RenameModel("));
        assert!(!l.wants(b"total_price = 'totals'"));
    }
}
