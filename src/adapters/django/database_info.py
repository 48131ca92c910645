# Run by djmig with `manage.py shell --command`: what the project's `default`
# database is, read from its settings (nothing connects). Prints one line,
# `DJMIG-RESULT {"result": {...}}`. The password is never read.
#
# Everything is inside main(): older Djangos run --command code with local
# names of its own, which the functions it defines cannot see.


def main():
    import json
    import os

    from django.db import connections

    connection = connections["default"]
    settings = connection.settings_dict
    name = settings.get("NAME")
    name = "" if name is None else str(name)
    sqlite_path = None
    if (
        connection.vendor == "sqlite"
        and name
        and name != ":memory:"
        and not name.startswith("file:")
        and "mode=memory" not in name
    ):
        # Django opens a relative name from the working directory, which
        # is manage.py's here too.
        sqlite_path = os.path.abspath(name)
    print(
        "DJMIG-RESULT "
        + json.dumps(
            {
                "result": {
                    "vendor": connection.vendor,
                    "display_name": connection.display_name,
                    "name": name,
                    "host": str(settings.get("HOST") or ""),
                    "port": str(settings.get("PORT") or ""),
                    "sqlite_path": sqlite_path,
                }
            }
        )
    )


main()
