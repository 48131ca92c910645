//! Each operation rule on inline sources: one that triggers it and one that
//! does not; and `--fix` on the same sources.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::core::pyparse::parse_migration;
use crate::core::rewrite::apply_edits;
use fix::FixPlan;
use history::NoHistory;

/// A migration module: `prelude` after the imports, `attrs` in the class,
/// then `operations`.
fn module(prelude: &str, attrs: &str, ops: &str) -> String {
    format!(
        "from django.db import migrations, models\n{prelude}\n\n\
         class Migration(migrations.Migration):\n\n    \
         dependencies = [('orders', '0001_initial')]\n{attrs}\n    \
         operations = [\n{ops}\n    ]\n"
    )
}

/// History from a map `(model, field)` → definition.
struct Map(BTreeMap<(String, String), String>);

impl FieldHistory for Map {
    fn previous(&self, _app: &str, _before: &str, model: &str, field: &str) -> Option<String> {
        self.0
            .get(&(model.to_lowercase(), field.to_lowercase()))
            .cloned()
    }
}

fn run_with(src: &str, history: &dyn FieldHistory) -> Vec<Finding> {
    let parsed = parse_migration(src.as_bytes());
    let r = Reviewed {
        app: "orders",
        name: "0002_x",
        file: "orders/migrations/0002_x.py",
        bytes: src.as_bytes(),
        parsed: &parsed,
    };
    review_operations(&r, &module_facts(src.as_bytes()), &BTreeSet::new(), history)
}

fn run(src: &str) -> Vec<Finding> {
    run_with(src, &NoHistory)
}

fn rules(src: &str) -> Vec<Rule> {
    run(src).into_iter().map(|f| f.rule).collect()
}

fn ops(ops: &str) -> Vec<Rule> {
    rules(&module("", "", ops))
}

#[test]
fn add_field_not_null() {
    let src = module(
        "",
        "",
        "        migrations.AddField(\n            model_name='order',\n            name='total',\n            \
         field=models.IntegerField(),\n        ),",
    );
    let f = run(&src);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, Rule::AddFieldNotNull);
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!((f[0].line, f[0].column), (9, 9));
    assert!(f[0]
        .message
        .starts_with("AddField orders.order.total adds a NOT NULL column"));
    assert!(f[0].fix.contains("null=True") && f[0].fix.contains("db_default="));
    // Clean: nullable, with a default, with db_default, a blank string
    // field, auto_now, a many-to-many.
    for field in [
        "models.IntegerField(null=True)",
        "models.IntegerField(default=0)",
        "models.IntegerField(db_default=0)",
        "models.CharField(max_length=9, blank=True)",
        "models.DateTimeField(auto_now_add=True)",
        "models.ManyToManyField(to='orders.tag')",
    ] {
        let r = ops(&format!(
            "        migrations.AddField(model_name='order', name='n', field={field}),"
        ));
        assert!(r.is_empty(), "{field}: {r:?}");
    }
    // A blank integer still has no value.
    assert_eq!(
        ops("        migrations.AddField('order', 'n', models.IntegerField(blank=True)),"),
        [Rule::AddFieldNotNull]
    );
    // On a model created in the same migration: no finding.
    assert!(ops(
        "        migrations.CreateModel(name='Invoice', fields=[('id', models.BigAutoField(primary_key=True))]),\n        \
         migrations.AddField(model_name='invoice', name='n', field=models.IntegerField()),"
    )
    .is_empty());
}

#[test]
fn index_locks_table() {
    let add_index = "        migrations.AddIndex(\n            model_name='order',\n            \
                     index=models.Index(fields=['created'], name='order_created_idx'),\n        ),";
    let f = run(&module("", "", add_index));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, Rule::IndexLocksTable);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].fix_kind, Some(FixKind::Concurrently { op: 0 }));
    assert!(f[0].fix.contains("djmig review --fix"));
    // Field options and unique constraints.
    assert_eq!(
        ops("        migrations.AddField('order', 'code', models.CharField(max_length=9, null=True, db_index=True)),\n        \
             migrations.AddField('order', 'customer', models.ForeignKey(null=True, on_delete=models.CASCADE, to='orders.customer')),\n        \
             migrations.AlterUniqueTogether(name='order', unique_together={('a', 'b')}),\n        \
             migrations.AddConstraint(model_name='order', constraint=models.UniqueConstraint(fields=['a'], name='u')),"),
        [Rule::IndexLocksTable; 4]
    );
    // With other operations, AddIndex is not fixable in place.
    let f = run(&module(
        "",
        "",
        &format!("{add_index}\n        migrations.AddField('order', 'n', models.IntegerField(null=True)),"),
    ));
    assert_eq!(f[0].fix_kind, None);
    // Clean: concurrent in a non-atomic migration, an index on a new
    // table, unique_together emptied, a check constraint, db_index=False.
    assert!(rules(&module(
        "from django.contrib.postgres.operations import AddIndexConcurrently",
        "    atomic = False\n",
        "        AddIndexConcurrently(model_name='order', index=models.Index(fields=['c'], name='i')),"
    ))
    .is_empty());
    assert!(ops(
        "        migrations.CreateModel(name='Tag', fields=[('id', models.BigAutoField(primary_key=True))]),\n        \
         migrations.AddIndex(model_name='tag', index=models.Index(fields=['id'], name='i')),\n        \
         migrations.AlterUniqueTogether(name='order', unique_together=set()),\n        \
         migrations.AddConstraint(model_name='order', constraint=models.CheckConstraint(condition=models.Q(a__gt=0), name='c')),\n        \
         migrations.AddField('order', 'c', models.ForeignKey(null=True, db_index=False, on_delete=models.CASCADE, to='orders.c')),"
    )
    .is_empty());
}

#[test]
fn concurrent_in_transaction() {
    let op = "        AddIndexConcurrently(model_name='order', index=models.Index(fields=['c'], name='i')),";
    let pre = "from django.contrib.postgres.operations import AddIndexConcurrently";
    let f = run(&module(pre, "", op));
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule, f[0].severity, f[0].fix_kind),
        (
            Rule::ConcurrentInTransaction,
            Severity::Error,
            Some(FixKind::NonAtomic)
        )
    );
    assert!(rules(&module(pre, "    atomic = False\n", op)).is_empty());
}

#[test]
fn data_loss() {
    assert_eq!(
        ops(
            "        migrations.RemoveField(model_name='order', name='note'),\n        \
             migrations.DeleteModel(name='Invoice'),"
        ),
        [Rule::DataLoss, Rule::DataLoss]
    );
    // A model created and deleted in the branch holds no deployed data.
    let src = module(
        "",
        "",
        "        migrations.DeleteModel(name='Draft'),\n        migrations.RemoveField('scratch', 'x'),",
    );
    let parsed = parse_migration(src.as_bytes());
    let r = Reviewed {
        app: "orders",
        name: "0003_y",
        file: "f.py",
        bytes: src.as_bytes(),
        parsed: &parsed,
    };
    let created: BTreeSet<String> = ["draft".to_string(), "scratch".to_string()].into();
    assert!(review_operations(&r, &module_facts(src.as_bytes()), &created, &NoHistory).is_empty());
}

#[test]
fn rename_breaks_deploy() {
    assert_eq!(
        ops(
            "        migrations.RenameField('order', 'old', 'new'),\n        \
             migrations.RenameModel('Bill', 'Invoice'),\n        \
             migrations.AlterModelTable(name='order', table='orders_v2'),"
        ),
        [Rule::RenameBreaksDeploy; 3]
    );
    assert!(ops(
        "        migrations.CreateModel(name='Bill', fields=[]),\n        \
         migrations.RenameModel('Bill', 'Invoice'),\n        \
         migrations.RenameField('invoice', 'a', 'b'),"
    )
    .is_empty());
}

#[test]
fn alter_column_type() {
    let history = Map([
        (
            ("order".into(), "total".into()),
            "models.IntegerField(default=0)".into(),
        ),
        (
            ("order".into(), "code".into()),
            "models.CharField(max_length=20)".into(),
        ),
        (
            ("order".into(), "amount".into()),
            "models.DecimalField(max_digits=8, decimal_places=2)".into(),
        ),
    ]
    .into());
    let src = module(
        "",
        "",
        "        migrations.AlterField('order', 'total', models.BigIntegerField(default=0)),\n        \
         migrations.AlterField('order', 'code', models.CharField(max_length=10)),\n        \
         migrations.AlterField('order', 'amount', models.DecimalField(max_digits=8, decimal_places=3)),",
    );
    let f = run_with(&src, &history);
    let got: Vec<(Rule, bool)> = f
        .iter()
        .map(|f| {
            (
                f.rule,
                f.message.contains("IntegerField -> BigIntegerField"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Rule::AlterColumnType, true),
            (Rule::AlterColumnType, false),
            (Rule::AlterColumnType, false)
        ]
    );
    assert!(f[1].message.contains("max_length 20 -> 10"));
    assert!(f[2].message.contains("decimal_places 2 -> 3"));
    // Clean: widening, varchar to text, more digits, the same type, and
    // no history at all.
    let src = module(
        "",
        "",
        "        migrations.AlterField('order', 'code', models.CharField(max_length=50)),\n        \
         migrations.AlterField('order', 'code', models.TextField()),\n        \
         migrations.AlterField('order', 'amount', models.DecimalField(max_digits=12, decimal_places=2)),\n        \
         migrations.AlterField('order', 'total', models.IntegerField(default=1, help_text='x')),",
    );
    assert!(run_with(&src, &history).is_empty());
    assert!(run(&module(
        "",
        "",
        "        migrations.AlterField('order', 'total', models.BigIntegerField(default=0)),"
    ))
    .is_empty());
}

#[test]
fn alter_field_index() {
    let history = Map([
        (
            ("order".into(), "a".into()),
            "models.CharField(max_length=9)".into(),
        ),
        (
            ("order".into(), "b".into()),
            "models.CharField(max_length=9, db_index=True)".into(),
        ),
    ]
    .into());
    let src = module(
        "",
        "",
        "        migrations.AlterField('order', 'a', models.CharField(max_length=9, db_index=True)),\n        \
         migrations.AlterField('order', 'b', models.CharField(max_length=9, db_index=True)),",
    );
    let f = run_with(&src, &history);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule, f[0].line), (Rule::IndexLocksTable, 9));
    assert!(f[0].message.contains(" builds an index (db_index=True)"));
}

#[test]
fn irreversible() {
    let f = run(&module(
        "",
        "",
        "        migrations.RunPython(fill),\n        migrations.RunSQL('UPDATE t SET a = 1'),",
    ));
    let got: Vec<(Rule, Severity, Option<FixKind>)> =
        f.iter().map(|f| (f.rule, f.severity, f.fix_kind)).collect();
    assert_eq!(
        got,
        [
            (
                Rule::Irreversible,
                Severity::Warning,
                Some(FixKind::NoopReverse { op: 0 })
            ),
            (
                Rule::Irreversible,
                Severity::Warning,
                Some(FixKind::NoopReverse { op: 1 })
            ),
        ]
    );
    assert!(ops(
        "        migrations.RunPython(fill, migrations.RunPython.noop),\n        \
         migrations.RunSQL('UPDATE t SET a = 1', reverse_sql='UPDATE t SET a = 0'),"
    )
    .is_empty());
}

#[test]
fn model_import() {
    let pre = "from shop.models import Product\n\n\
               def fill(apps, schema_editor):\n    from orders.models import Order\n    \
               for p in Product.objects.all():\n        Order.objects.create(product=p)\n\n\
               def unfill(apps, schema_editor):\n    User = get_user_model()\n";
    let f = run(&module(
        pre,
        "",
        "        migrations.RunPython(fill, unfill),",
    ));
    let got: Vec<(Rule, u32, u32)> = f.iter().map(|f| (f.rule, f.line, f.column)).collect();
    assert_eq!(
        got,
        [
            (Rule::ModelImport, 5, 5),
            (Rule::ModelImport, 2, 1),
            (Rule::ModelImport, 10, 12)
        ]
    );
    assert!(f[0]
        .message
        .starts_with("fill, run by RunPython at line 18, imports orders.models"));
    assert!(f[1]
        .message
        .contains("uses Product imported from shop.models"));
    assert!(f[2].message.contains("get_user_model()"));
    // Clean: apps.get_model, and a model import no RunPython code uses.
    let pre = "from shop.models import Product\n\n\
               def fill(apps, schema_editor):\n    Order = apps.get_model('orders', 'Order')\n    \
               Order.objects.update(x=1)\n";
    assert!(rules(&module(
        pre,
        "",
        "        migrations.RunPython(fill, migrations.RunPython.noop),"
    ))
    .is_empty());
}

#[test]
fn mixed_atomic() {
    let f = run(&module(
        "",
        "",
        "        migrations.AddField('order', 'n', models.IntegerField(null=True)),\n        \
         migrations.RunPython(fill, migrations.RunPython.noop),",
    ));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule, f[0].line), (Rule::MixedAtomic, 10));
    assert!(
        f[0].message.contains("AddField orders.order.n (line 9)"),
        "{}",
        f[0].message
    );
    // Clean: non-atomic, or the schema change is on a new table.
    assert!(rules(&module(
        "",
        "    atomic = False\n",
        "        migrations.AddField('order', 'n', models.IntegerField(null=True)),\n        \
         migrations.RunPython(fill, migrations.RunPython.noop),"
    ))
    .is_empty());
    assert!(ops(
        "        migrations.CreateModel(name='Tag', fields=[]),\n        \
         migrations.AddField('tag', 'n', models.IntegerField(null=True)),\n        \
         migrations.RunPython(fill, migrations.RunPython.noop),"
    )
    .is_empty());
}

#[test]
fn models_created_earlier_in_the_set() {
    let a = module(
        "",
        "",
        "        migrations.CreateModel(name='Tag', fields=[]),",
    );
    let b = module(
        "",
        "",
        "        migrations.AddIndex('tag', models.Index(fields=['id'], name='i')),",
    )
    .replace("'0001_initial'", "'0002_a'");
    let c = module("", "", "        migrations.RemoveField('tag', 'x'),");
    let (pa, pb, pc) = (
        parse_migration(a.as_bytes()),
        parse_migration(b.as_bytes()),
        parse_migration(c.as_bytes()),
    );
    let r = |name, src: &'static str, parsed| Reviewed {
        app: "orders",
        name,
        file: src,
        bytes: b"",
        parsed,
    };
    let files = [
        r("0002_a", "a", &pa),
        r("0003_b", "b", &pb),
        r("0003_c", "c", &pc),
    ];
    let created = models_created_before(&files);
    assert!(created[0].is_empty());
    assert_eq!(created[1], ["tag".to_string()].into());
    assert!(created[2].is_empty(), "0003_c does not depend on 0002_a");
}

// ---------------------------------------------------------------- --fix

fn fixed(src: &str, irreversible: bool) -> (String, FixPlan) {
    let parsed = parse_migration(src.as_bytes());
    let facts = module_facts(src.as_bytes());
    let findings = run(src);
    let plan = plan_fix(
        "orders/migrations/0002_x.py",
        src.as_bytes(),
        &parsed,
        &facts,
        &findings,
        irreversible,
    );
    let out = String::from_utf8(apply_edits(src.as_bytes(), &plan.edits)).unwrap();
    (out, plan)
}

#[test]
fn fix_add_index_concurrently() {
    let src = "# Generated by Django 5.2\r\n\r\nfrom django.db import migrations, models\r\n\r\n\r\n\
               class Migration(migrations.Migration):\r\n\r\n    \
               dependencies = [\r\n        ('orders', '0001_initial'),\r\n    ]\r\n\r\n    \
               operations = [\r\n        migrations.AddIndex(\r\n            model_name='order',\r\n            \
               index=models.Index(fields=['created'], name='order_created_idx'),\r\n        ),  # keep\r\n    ]\r\n";
    let (out, plan) = fixed(src, false);
    assert_eq!(plan.fixed, [0]);
    assert_eq!(
        out,
        src.replace(
            "from django.db import migrations, models\r\n",
            "from django.db import migrations, models\r\n\
             from django.contrib.postgres.operations import AddIndexConcurrently\r\n"
        )
        .replace(
            "    dependencies",
            "    atomic = False\r\n\r\n    dependencies"
        )
        .replace("migrations.AddIndex(", "AddIndexConcurrently(")
    );
    // Fixed: the review finds nothing more.
    assert!(run(&out).is_empty(), "{:?}", run(&out));
    // atomic = True is turned, the import kept when already there.
    let src = module(
        "from django.contrib.postgres.operations import AddIndexConcurrently",
        "    atomic = True\n",
        "        migrations.AddIndex('order', models.Index(fields=['c'], name='i')),",
    );
    let (out, _) = fixed(&src, false);
    assert_eq!(
        out,
        src.replace("atomic = True", "atomic = False")
            .replace("migrations.AddIndex(", "AddIndexConcurrently(")
    );
}

#[test]
fn fix_concurrent_in_transaction() {
    let src = module(
        "from django.contrib.postgres.operations import AddIndexConcurrently",
        "",
        "        AddIndexConcurrently('order', models.Index(fields=['c'], name='i')),",
    );
    let (out, plan) = fixed(&src, false);
    assert_eq!(plan.fixed, [0]);
    assert_eq!(
        out,
        src.replace("    dependencies", "    atomic = False\n\n    dependencies")
    );
    assert!(run(&out).is_empty());
}

#[test]
fn fix_irreversible_only_when_asked() {
    let src = module(
        "",
        "",
        "        migrations.RunPython(fill),\n        migrations.RunPython(code=fill, reverse_code=None),\n        \
         migrations.RunSQL(\n            'UPDATE t SET a = 1',\n        ),",
    );
    let (out, plan) = fixed(&src, false);
    assert!(plan.edits.is_empty() && plan.fixed.is_empty());
    assert_eq!(out, src);
    let (out, plan) = fixed(&src, true);
    assert_eq!(plan.fixed, [0, 1, 2]);
    assert_eq!(
        out,
        src.replace(
            "RunPython(fill)",
            "RunPython(fill, migrations.RunPython.noop)"
        )
        .replace(
            "reverse_code=None",
            "reverse_code=migrations.RunPython.noop"
        )
        .replace(
            "'UPDATE t SET a = 1',",
            "'UPDATE t SET a = 1', migrations.RunSQL.noop,"
        )
    );
    assert!(run(&out).is_empty());
}

#[test]
fn fix_refuses_what_it_cannot_rewrite_in_place() {
    // The operation comes through a name: not rewritten.
    let src = module(
        "IDX = migrations.AddIndex('order', models.Index(fields=['c'], name='i'))",
        "",
        "        IDX,",
    );
    let (out, plan) = fixed(&src, false);
    assert_eq!(out, src);
    assert_eq!(plan.skipped.len(), 1, "{plan:?}");
    assert!(plan.skipped[0].1.contains("not a call written in place"));
}
