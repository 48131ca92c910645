# Run by djmig with `manage.py shell --command`: renames rows of the
# django_migrations table, through Django's MigrationRecorder, in one
# transaction. The input (environment variable DJMIG_INPUT) is a JSON list of
# [app, old name, new name]. Prints one line: `DJMIG-RESULT {"result": null}`
# once renamed, or `{"refused": [reasons]}` with nothing changed when an old
# name is not recorded as applied or a new one already is.
#
# Everything is inside main(): older Djangos run --command code with local
# names of its own, which the functions it defines cannot see.


def main():
    import json
    import os

    from django.db import connections, transaction
    from django.db.migrations.recorder import MigrationRecorder

    def emit(reply):
        print("DJMIG-RESULT " + json.dumps(reply))

    connection = connections["default"]
    renames = json.loads(os.environ["DJMIG_INPUT"])
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        emit({"refused": ["the database has no django_migrations table: nothing is applied"]})
        return
    with transaction.atomic(using=connection.alias):
        applied = set(recorder.applied_migrations())
        problems = []
        for app, old, new in renames:
            if (app, old) not in applied:
                problems.append("%s.%s is not recorded as applied" % (app, old))
            if (app, new) in applied:
                problems.append("%s.%s is already recorded as applied" % (app, new))
        if problems:
            emit({"refused": problems})
            return
        for app, old, new in renames:
            updated = recorder.migration_qs.filter(app=app, name=old).update(name=new)
            if not updated:
                # Gone since it was read: roll back everything.
                raise RuntimeError("%s.%s vanished from django_migrations" % (app, old))
    emit({"result": None})


main()
