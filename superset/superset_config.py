"""Superset settings for pde, read by Superset through SUPERSET_CONFIG_PATH.

pde.services.superset sets the environment this reads:
PDE_SUPERSET_HOME (state folder, e.g. .pde/superset), PDE_SUPERSET_METADATA_URL
(Superset's own metadata database, not pde's data) and PDE_SUPERSET_SECRET_KEY.
Everything stays on this machine: no telemetry, no fonts or tiles fetched by the server.
"""

import os
from pathlib import Path

HOME = Path(os.environ.get("PDE_SUPERSET_HOME", Path(__file__).resolve().parent.parent / ".pde" / "superset"))

SECRET_KEY = os.environ["PDE_SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ.get("PDE_SUPERSET_METADATA_URL") or f"sqlite:///{HOME / 'superset.db'}"

# Offline and private: no usage pings, no example data.
SCARF_ANALYTICS = False
SUPERSET_LOG_VIEW = False

# Query results are cached on disk (shared by the gunicorn workers) for one minute
# (PDE_SUPERSET_CACHE_SECONDS): long enough that a dashboard's charts and a quick
# reload share their queries, short enough that rows a crawl just wrote show at once.
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": str(HOME / "cache" / "data"),
    "CACHE_DEFAULT_TIMEOUT": int(os.environ.get("PDE_SUPERSET_CACHE_SECONDS", "60")),
    "CACHE_THRESHOLD": 5000,
}
CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": str(HOME / "cache" / "meta"),
    "CACHE_DEFAULT_TIMEOUT": 600,
}

# Served on 127.0.0.1 only, over plain HTTP; the home network reaches it only through pde's
# HTTPS proxy (Caddy, pde/services/proxy.py), which sends X-Forwarded-Proto/Host/For and marks
# the session cookie Secure on the way out. ProxyFix makes Superset believe those headers (one
# proxy hop), so its redirects stay on https://<address>:<port> and the CSRF check of a login
# over HTTPS compares the Referer with the host the browser used. Only local processes can
# reach this port, so only they could send such headers. The Content Security Policy keeps the
# browser to this server and OpenStreetMap's tiles (the map); it also stops the usage pixel
# Superset's front-end loads from a third party.
SESSION_COOKIE_SECURE = False
ENABLE_PROXY_FIX = True
PROXY_FIX_CONFIG = {"x_for": 1, "x_proto": 1, "x_host": 1, "x_port": 1, "x_prefix": 1}
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:", "https://tile.openstreetmap.org"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'", "https://tile.openstreetmap.org"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
DECKGL_BASE_MAP = [["https://tile.openstreetmap.org/{z}/{x}/{y}.png", "Streets (OpenStreetMap)"]]

FEATURE_FLAGS = {
    "DASHBOARD_NATIVE_FILTERS": True,
    "ALERT_REPORTS": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
}

# The partner's read-only role (see superset/admin_tasks.py) is not one Superset resets.
ROW_LIMIT = 10000
