#!/usr/bin/env python3
"""Ask Django itself for the migration graph of a fixture project.

Usage: python tests/django_graph.py FIXTURE_DIR [--settings MODULE] [--all-orders]

Runs with a Python that has Django 5.2 installed.  The settings module is taken
from FIXTURE_DIR/manage.py (its DJANGO_SETTINGS_MODULE default) unless
--settings is given.  Django is set up, then ``MigrationLoader(None,
ignore_no_migrations=True)`` builds the graph without a database -- exactly the
graph ``manage.py makemigrations`` / ``migrate`` would see.

Prints one JSON object on stdout and always exits 0 (a failure to build the
graph is data, reported under "error"):

  nodes      ["app.name", ...]
  edges      [["app.child", "app.parent"], ...]
  leaves     {app: [names]}   nodes with no child in the same app
  conflicts  {app: [names]}   MigrationLoader.detect_conflicts()
  apps       {label: {"module", "path", "project", "migrated"}}
             path: the migrations package relative to FIXTURE_DIR (null when
             it lives elsewhere, e.g. django.contrib); project: it lives
             inside FIXTURE_DIR
  error      null | {"kind": "node_not_found" | "circular_dependency" |
             "syntax" | "bad_migration" | "import_error" | "invalid_value"
             (TypeError, IndexError, KeyError) | "invalid_app_label" |
             "other", "message": str}
  django_version, python_version

With --all-orders, also:

  outcomes   the distinct results (each {error, nodes, edges, leaves,
             conflicts}) of building the graph with the squashes handled in
             every order.  Django handles them in the order of a set of
             names, which changes from run to run (PYTHONHASHSEED), and some
             graphs depend on it.

Everything is sorted.  No bytecode is written into the fixture.
"""
import argparse
import ast
import contextlib
import itertools
import json
import os
import re
import sys
import traceback

sys.dont_write_bytecode = True


def settings_from_manage_py(root):
    """The DJANGO_SETTINGS_MODULE default that manage.py sets, or None."""
    path = os.path.join(root, "manage.py")
    try:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
    except OSError:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and len(node.args) == 2
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                and node.args[0].value == "DJANGO_SETTINGS_MODULE"
            ):
                return node.args[1].value
    match = re.search(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""", source)
    return match.group(1) if match else None


def error_kind(exc):
    from django.db.migrations.exceptions import (
        BadMigrationError,
        CircularDependencyError,
        NodeNotFoundError,
    )

    if isinstance(exc, NodeNotFoundError):
        return "node_not_found"
    if isinstance(exc, CircularDependencyError):
        return "circular_dependency"
    if isinstance(exc, SyntaxError):
        return "syntax"
    if isinstance(exc, BadMigrationError):
        return "bad_migration"
    if isinstance(exc, ImportError):
        return "import_error"
    if isinstance(exc, (TypeError, IndexError, KeyError)):
        return "invalid_value"
    from django.core.exceptions import ImproperlyConfigured

    if isinstance(exc, ImproperlyConfigured) and "not a valid Python identifier" in str(exc):
        return "invalid_app_label"
    return "other"


def describe_error(exc):
    try:
        kind = error_kind(exc)
    except Exception:  # Django itself could not be imported
        kind = "syntax" if isinstance(exc, SyntaxError) else "other"
    message = "%s: %s" % (type(exc).__name__, exc)
    return {"kind": kind, "message": message}


def app_info(root, app_config, migrated):
    """Where an app's migrations package lives, relative to the fixture."""
    from django.db.migrations.loader import MigrationLoader

    module_name, _explicit = MigrationLoader.migrations_module(app_config.label)
    info = {"module": module_name, "path": None, "project": False, "migrated": migrated}
    if module_name is not None:
        module = sys.modules.get(module_name)
        paths = list(getattr(module, "__path__", []) or [])
        if paths:
            directory = os.path.realpath(paths[0])
        else:
            directory = os.path.join(os.path.realpath(app_config.path), module_name.rsplit(".", 1)[-1])
        rel = os.path.relpath(directory, root)
        if not rel.startswith(os.pardir):
            info["path"] = rel.replace(os.sep, "/")
            info["project"] = True
    elif os.path.realpath(app_config.path).startswith(root + os.sep):
        info["project"] = True
    return info


# At most this many orders of the squashes are tried with --all-orders.
MAX_ORDERS = 720


def graph_of(loader):
    """The graph the loader built, as data."""
    graph = loader.graph

    def key(node):
        return "%s.%s" % node if isinstance(node, tuple) and len(node) == 2 else repr(node)

    labels = sorted({app for app, _ in graph.nodes})
    return {
        "error": None,
        "nodes": sorted(key(n) for n in graph.nodes),
        "edges": sorted(
            [key(child), key(parent.key)]
            for child in graph.nodes
            for parent in graph.node_map[child].parents
        ),
        "leaves": {app: sorted(name for _, name in graph.leaf_nodes(app)) for app in labels},
        "conflicts": {app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())},
    }


def failed(exc):
    return {"error": describe_error(exc), "nodes": [], "edges": [], "leaves": {}, "conflicts": {}}


def squash_orders(disk):
    """Orders of the replacing migrations: all of them, up to MAX_ORDERS."""
    replacing = sorted(k for k, m in disk.items() if m.replaces)
    return itertools.islice(itertools.permutations(replacing), MAX_ORDERS)


def build(root, all_orders=False):
    import django
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    django.setup()
    loader = MigrationLoader(None, load=False, ignore_no_migrations=True)
    try:
        loader.build_graph()  # ends with graph.ensure_not_cyclic()
        result = graph_of(loader)
    except Exception as exc:  # noqa: BLE001 -- every failure is reported as data
        result = failed(exc)

    migrated = getattr(loader, "migrated_apps", None) or set()
    result["apps"] = {
        cfg.label: app_info(root, cfg, cfg.label in migrated)
        for cfg in sorted(apps.get_app_configs(), key=lambda c: c.label)
    }
    disk = getattr(loader, "disk_migrations", None)
    if all_orders and disk is not None:
        result["outcomes"] = all_outcomes(loader, disk)
    return result


def all_outcomes(loader, disk):
    """The distinct results of building the graph of the migrations in
    `disk` with the squashes handled in every order (disk_migrations in that
    order, read from disk only once), sorted."""
    loader.load_disk = lambda: None
    outcomes = []
    for order in squash_orders(disk):
        rank = {k: i for i, k in enumerate(order)}
        loader.disk_migrations = dict(
            sorted(disk.items(), key=lambda kv: (kv[0] in rank, rank.get(kv[0], 0), kv[0]))
        )
        try:
            loader.build_graph()
            outcome = graph_of(loader)
        except Exception as exc:  # noqa: BLE001
            outcome = failed(exc)
        if outcome not in outcomes:
            outcomes.append(outcome)
    return sorted(outcomes, key=lambda o: json.dumps(o, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print Django's migration graph of a project as JSON.")
    parser.add_argument("root", help="the project directory (where manage.py is)")
    parser.add_argument("--settings", help="settings module (default: from manage.py)")
    parser.add_argument(
        "--all-orders",
        action="store_true",
        help="also build the graph with the squashes handled in every order (under 'outcomes')",
    )
    args = parser.parse_args(argv)

    root = os.path.realpath(args.root)
    out = {
        "nodes": [],
        "edges": [],
        "leaves": {},
        "conflicts": {},
        "apps": {},
        "error": None,
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "django_version": None,
    }
    try:
        settings_module = args.settings or settings_from_manage_py(root)
        if not settings_module:
            raise RuntimeError("no --settings given and no DJANGO_SETTINGS_MODULE found in %s/manage.py" % root)
        os.chdir(root)
        sys.path.insert(0, root)
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
        import django

        out["django_version"] = django.get_version()
        # Keep stdout for the JSON alone, whatever project code prints.
        with contextlib.redirect_stdout(sys.stderr):
            out.update(build(root, args.all_orders))
    except BaseException as exc:  # noqa: BLE001 -- never a traceback instead of JSON
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc(file=sys.stderr)
        out["error"] = describe_error(exc)
    sys.stdout.write(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
