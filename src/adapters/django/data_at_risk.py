# Run by djmig with `manage.py shell --command`: the stored data that
# unapplying some migrations would drop. The input (environment variable
# DJMIG_INPUT) is a JSON list of [app, name] in the order they would be
# unapplied. Prints one line, `DJMIG-RESULT {"result": [...]}` (or
# `{"refused": [reasons]}` for migrations the project does not have).
#
# Table and column names come from Django's own project state, right after
# each operation, as Django itself would reverse it; nothing is guessed.
# Reversing AddField drops the column (or a many-to-many field's table),
# reversing CreateModel drops the table (and its many-to-many tables). The
# loader does not raise on an app with two leaf migrations.
#
# Everything is inside main(): older Djangos run --command code with local
# names of its own, which the functions it defines cannot see.


def main():
    import json
    import os

    from django.db import connections
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import AddField, CreateModel

    def emit(reply):
        print("DJMIG-RESULT " + json.dumps(reply))

    connection = connections["default"]
    keys = [tuple(key) for key in json.loads(os.environ["DJMIG_INPUT"])]
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    unknown = [key for key in keys if key not in loader.graph.nodes]
    if unknown:
        emit({"refused": ["the project has no migration %s.%s" % key for key in unknown]})
        return

    def m2m_table(field):
        through = field.remote_field.through._meta
        return through.db_table if through.auto_created else None

    def dropped(app, operation, state):
        """(table, column or None) that reversing the operation drops."""
        if isinstance(operation, CreateModel):
            model = state.apps.get_model(app, operation.name)
            if not operation.allow_migrate_model(connection.alias, model):
                return []
            tables = [(model._meta.db_table, None)]
            for field in model._meta.local_many_to_many:
                if m2m_table(field):
                    tables.append((m2m_table(field), None))
            return tables
        if isinstance(operation, AddField):
            model = state.apps.get_model(app, operation.model_name)
            if not operation.allow_migrate_model(connection.alias, model):
                return []
            field = model._meta.get_field(operation.name)
            if field.many_to_many:
                return [(m2m_table(field), None)] if m2m_table(field) else []
            if field.column is None:
                return []
            return [(model._meta.db_table, field.column)]
        return []

    def describe(app, operation):
        if isinstance(operation, CreateModel):
            return "CreateModel %s.%s" % (app, operation.name)
        return "AddField %s.%s.%s" % (app, operation.model_name, operation.name)

    found = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        columns = {}

        def has_column(table, column):
            if table not in columns:
                description = connection.introspection.get_table_description(cursor, table)
                columns[table] = {c.name for c in description}
            return column in columns[table]

        def rows(table, column):
            quote = connection.ops.quote_name
            sql = "SELECT COUNT(*) FROM " + quote(table)
            if column is not None:
                sql += " WHERE " + quote(column) + " IS NOT NULL"
            cursor.execute(sql)
            return cursor.fetchone()[0]

        for app, name in keys:
            migration = loader.graph.nodes[(app, name)]
            state = loader.project_state((app, name), at_end=False)
            for operation in migration.operations:
                operation.state_forwards(app, state)
                for table, column in dropped(app, operation, state):
                    if table not in tables:
                        continue
                    if column is not None and not has_column(table, column):
                        continue
                    found.append(
                        {
                            "migration": {"app": app, "name": name},
                            "operation": describe(app, operation),
                            "table": table,
                            "column": column,
                            "rows": rows(table, column),
                        }
                    )
    emit({"result": found})


main()
