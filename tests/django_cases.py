#!/usr/bin/env python3
"""Ask Django for the migration graphs of many small projects, in one process.

Usage: python tests/django_cases.py ROOT...

Every ROOT is a project with the same settings module (proj.settings) and
the same apps; only their migration files differ (the property tests in
tests/it/graph_agreement.rs write them). Django is set up once, from the
first ROOT; for each ROOT the apps' modules are forgotten and imported again
from it, and ``MigrationLoader(None)`` reads its migrations as ``migrate``
does: a dependency on ``__first__`` or ``__latest__`` of a migrated app
without root or leaf is Django's ValueError there (makemigrations, with
``ignore_no_migrations=True``, skips it), and djmig reports it.

Prints one JSON list with, per ROOT in order, {"outcomes": [...]}: the
distinct results of building the graph with the squashes handled in every
order, as ``django_graph.py --all-orders`` gives them (each {error, nodes,
edges, leaves, conflicts}). A failure to read the migrations is one
outcome with an error. No bytecode is written.
"""
import importlib
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django_graph  # noqa: E402 -- the helpers of the one-project script


def main(roots):
    roots = [os.path.realpath(r) for r in roots]
    os.environ["DJANGO_SETTINGS_MODULE"] = "proj.settings"
    sys.path.insert(0, roots[0])
    import django
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader

    django.setup()
    tops = {name.split(".")[0] for name in settings.INSTALLED_APPS}
    results = []
    for root in roots:
        sys.path[0] = root
        for name in list(sys.modules):
            if name.split(".")[0] in tops:
                del sys.modules[name]
        importlib.invalidate_caches()
        loader = MigrationLoader(None, load=False)
        try:
            loader.load_disk()
        except Exception as exc:  # noqa: BLE001 -- reported as data
            results.append({"outcomes": [django_graph.failed(exc)]})
            continue
        results.append({"outcomes": django_graph.all_outcomes(loader, dict(loader.disk_migrations))})
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
