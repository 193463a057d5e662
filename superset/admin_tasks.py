"""Superset set-up steps, run with Superset's own Python (superset/.venv) by pde.services.superset.

One process does what `superset db upgrade`, `superset fab create-admin` and
`superset init` do (each of those starts the whole app, ~15 s apiece), then
creates the partner's read-only role::

    python superset/admin_tasks.py setup            # admin from PDE_SUPERSET_ADMIN_USER/_PASSWORD
    python superset/admin_tasks.py viewer NAME      # password from PDE_SUPERSET_VIEWER_PASSWORD

Needs SUPERSET_CONFIG_PATH and the variables superset_config.py reads.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

VIEWER_ROLE = "pde_viewer"
# Gamma's permissions that change things; the viewer keeps the rest (reading,
# filtering, sharing a link), plus read access to every dataset.
WRITE_PERMISSIONS = {
    "can_write", "can_add", "can_edit", "can_delete", "muldelete", "can_save", "can_copy_dash",
    "can_import", "can_export", "can_tag", "can_csv", "can_upload", "can_share_chart", "can_share_dashboard",
    "can_favorite_status", "can_add_favorite", "can_remove_favorite",
}
# View menus where writing is only keeping the viewer's own filter state or share links.
HARMLESS_WRITES = {
    "DashboardFilterStateRestApi", "DashboardPermalinkRestApi", "ExploreFormDataRestApi",
    "ExplorePermalinkRestApi", "Log",
}


def app():
    logging.getLogger("superset").setLevel(logging.WARNING)
    from superset.app import create_app

    return create_app()


def ensure_viewer_role(sm) -> None:
    """pde_viewer: Gamma without the ability to change anything, SQL Lab excluded."""
    from superset import db

    gamma = sm.find_role("Gamma")
    role = sm.find_role(VIEWER_ROLE) or sm.add_role(VIEWER_ROLE)
    keep = [
        pvm for pvm in gamma.permissions
        if pvm.permission.name not in WRITE_PERMISSIONS or pvm.view_menu.name in HARMLESS_WRITES
    ]
    keep = [pvm for pvm in keep if not sm._is_sql_lab_pvm(pvm)]
    all_data = sm.find_permission_view_menu("all_datasource_access", "all_datasource_access")
    if all_data is None:
        all_data = sm.add_permission_view_menu("all_datasource_access", "all_datasource_access")
    role.permissions = [*keep, all_data]
    db.session.commit()


def setup() -> int:
    application = app()
    with application.app_context():
        from flask_migrate import upgrade

        from superset import appbuilder
        from superset import security_manager as sm

        upgrade(directory=os.path.join(os.path.dirname(sys.modules["superset"].__file__), "migrations"))
        appbuilder.add_permissions(update_perms=True)
        sm.sync_role_definitions()
        user = os.environ["PDE_SUPERSET_ADMIN_USER"]
        if sm.find_user(username=user) is None:
            created = sm.add_user(user, "pde", "admin", f"{user}@localhost", sm.find_role("Admin"),
                                  password=os.environ["PDE_SUPERSET_ADMIN_PASSWORD"])
            if not created:
                print(f"could not create the admin user {user}", file=sys.stderr)
                return 1
            print(f"created admin user {user}")
        ensure_viewer_role(sm)
    return 0


def viewer(name: str) -> int:
    application = app()
    with application.app_context():
        from superset import db
        from superset import security_manager as sm

        ensure_viewer_role(sm)
        password = os.environ["PDE_SUPERSET_VIEWER_PASSWORD"]
        role = sm.find_role(VIEWER_ROLE)
        user = sm.find_user(username=name)
        if user is None:
            if not sm.add_user(name, name, "(viewer)", f"{name}@localhost", role, password=password):
                print(f"could not create user {name}", file=sys.stderr)
                return 1
            print(f"created viewer {name}")
        else:
            user.roles = [role]
            sm.reset_password(user.id, password)
            db.session.commit()
            print(f"viewer {name} updated (role {VIEWER_ROLE}, new password)")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="task", required=True)
    sub.add_parser("setup")
    v = sub.add_parser("viewer")
    v.add_argument("name")
    args = p.parse_args(argv)
    return setup() if args.task == "setup" else viewer(args.name)


if __name__ == "__main__":
    sys.exit(main())
