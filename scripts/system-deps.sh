#!/usr/bin/env bash
# Installs what pde needs from the operating system when it is missing:
# uv (Python packaging), PostgreSQL server binaries, redis-server (Celery's broker), Chromium (+ poppler, an emoji font)
# for the browser tests and PDFs, libofx (+ a C compiler) for the OFX cross-check, and Caddy (the HTTPS proxy
# that PDE_LISTEN starts for the home network; pde runs its own, never the system service).
# Idempotent and quick when everything is there. Only the apt packages need root: run as root
# (or `sudo scripts/system-deps.sh`) once; as a normal user it says what is missing and how to get it.
# uv is installed into a private venv (~/.local/share/pde/uv), never into the system Python (PEP 668).
set -euo pipefail

need_apt=()
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need_apt+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || [ -n "${PG_BINDIR:-}" ] || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
# Celery's broker for `pde up --celery` and tests/test_celery.py (pde starts its own; no system service needed)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# the HTTPS proxy for the partner's browser (PDE_LISTEN, pde/services/proxy.py, tests/test_proxy.py);
# PDE_WITH_PROXY=0 skips it on a machine that never serves the home network
if [ "${PDE_WITH_PROXY:-1}" = 1 ]; then
  command -v caddy >/dev/null 2>&1 || need_apt+=(caddy)
fi
if [ "${PDE_WITH_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
  # team names with emoji in dashboards and cheat sheets
  dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need_apt+=(fonts-noto-color-emoji)
  # certutil: the proxy test makes Chromium trust pde's local CA the way a Linux desktop does (an NSS database)
  command -v certutil >/dev/null 2>&1 || need_apt+=(libnss3-tools)
fi

if [ "${PDE_WITH_LIBOFX:-1}" = 1 ]; then
  # GnuCash's OFX reader (libofx) and a C compiler: the ofx_statements tests build a small second
  # reader from tests/tools/libofx_transactions.c to cross-check what pde loads. Debian 12 does not
  # package ofxdump (libofx-tools comes with Debian 13), so the tests use the library directly.
  [ -f /usr/include/libofx/libofx.h ] || need_apt+=(libofx-dev)
  command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian's postgresql package starts a cluster on 5432; pde runs its own and needs no system one.
    if command -v service >/dev/null 2>&1; then service postgresql stop >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
    # Debian's caddy package enables a system Caddy on port 80; pde starts its own (PDE_LISTEN) and needs none.
    if command -v service >/dev/null 2>&1; then service caddy stop >/dev/null 2>&1 || true; fi
    if command -v systemctl >/dev/null 2>&1; then systemctl disable caddy >/dev/null 2>&1 || true; fi
  else
    echo "pde needs these system packages, which only root can install: ${need_apt[*]}" >&2
    echo "Run once:  sudo apt-get install ${need_apt[*]}   (or: sudo scripts/system-deps.sh)" >&2
    echo "then run the same make command again as yourself." >&2
    exit 1
  fi
fi

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  tools="$HOME/.local/share/pde/uv"
  echo "installing uv (Python package manager) into its own venv: $tools"
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check uv
  mkdir -p "$HOME/.local/bin"
  ln -sf "$tools/bin/uv" "$HOME/.local/bin/uv"
fi
