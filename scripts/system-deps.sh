#!/usr/bin/env bash
# Installs what pde needs from the operating system when it is missing:
# uv (Python packaging), PostgreSQL server binaries, Chromium (+ poppler, an emoji font)
# for the browser tests and PDFs, and libofx (+ a C compiler) for the OFX cross-check.
# Idempotent and quick when everything is there. Debian/Ubuntu (apt) as root, or prints what to install.
set -euo pipefail

need_apt=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || [ -n "${PG_BINDIR:-}" ] || need_apt+=(postgresql)
command -v psql >/dev/null 2>&1 || need_apt+=(postgresql-client)
if [ "${PDE_WITH_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
  # team names with emoji in dashboards and cheat sheets
  dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || need_apt+=(fonts-noto-color-emoji)
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
  else
    echo "pde needs: ${need_apt[*]} (e.g. sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (Python package manager) with pip"
  python3 -m pip install --quiet uv 2>/dev/null || python3 -m pip install --quiet --user uv
fi
