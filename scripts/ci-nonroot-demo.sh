#!/usr/bin/env bash
# Runs `make demo` from a fresh clone as a normal user (CI runs as root, which hides PEP 668
# and initdb's refusal of root). Needs root to create the user; skips with a message otherwise.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "ci-nonroot-demo: not root, skipped (you are already a normal user: run make demo)"; exit 0; fi
user=pde-newcomer
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
rm -rf "$home/pde"
git clone --quiet "$(pwd)" "$home/pde"
chown -R "$user:" "$home/pde"
# a clean environment, as a login would give (no root PATH with its pyenv Python), keeping only
# the machine's network settings (proxy, CA bundle) that any user here has
keep=$(env | grep -E '^[A-Z_]*(PROXY|proxy|CERT|CA_BUNDLE|CA_CERTS)[A-Z_]*=' | sed "s/'/'\\\\''/g; s/^\([^=]*\)=\(.*\)$/\1='\2'/" | tr '\n' ' ')
set +e
su - "$user" -c "cd ~/pde && env -i HOME=$home PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 PDE_PG_PORT=54399 $keep make demo" \
  > /tmp/pde-nonroot-demo.log 2>&1
status=$?
set -e
tail -40 /tmp/pde-nonroot-demo.log
su - "$user" -c "cd ~/pde && env -i HOME=$home PATH=$home/.local/bin:/usr/bin:/bin PDE_PG_PORT=54399 .venv/bin/pde db stop" >/dev/null 2>&1 || true
echo "non-root make demo exited $status"
exit "$status"
