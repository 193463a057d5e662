"""The home page's own users: ``$PDE_HOME/web/users.json``, passwords hashed with scrypt (stdlib), never stored.

Roles: ``admin`` sees everything (sources, quarantine, inbox, Airflow, JupyterLab);
``viewer`` sees the dashboards, exports and reports only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from pde.db import pde_home

ROLES = ("admin", "viewer")
_N, _R, _P = 2**14, 8, 1


class UserError(ValueError):
    """A bad user name, role or password; the message says what to do."""


def users_file() -> Path:
    return pde_home() / "web" / "users.json"


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        assert scheme == "scrypt"
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, AssertionError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def load(path: Path | None = None) -> dict[str, dict]:
    path = path or users_file()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def add_user(name: str, password: str, role: str = "viewer", path: Path | None = None) -> None:
    """Add or replace a user (the file is private to the owner: 0600)."""
    if not name or not all(c.isalnum() or c in "._-@" for c in name):
        raise UserError(f"user name {name!r}: use letters, digits and . _ - @ only")
    if role not in ROLES:
        raise UserError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise UserError("the password is shorter than 8 characters; choose a longer one")
    path = path or users_file()
    users = load(path)
    users[name] = {"password": hash_password(password), "role": role}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(users, indent=1) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def authenticate(name: str, password: str, path: Path | None = None) -> str | None:
    """The user's role when the password is right, else None."""
    user = load(path).get(name)
    if user is None:
        check_password(password, hash_password("x"))  # same work either way: no user-name probing by timing
        return None
    return user["role"] if check_password(password, user["password"]) else None
