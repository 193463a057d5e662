"""The HTTPS front door for the home network: Caddy (Debian's package) in front of pde's web services.

Every service listens on 127.0.0.1 with plain HTTP, always. Only when ``PDE_LISTEN`` is set (an address of
this machine, or ``0.0.0.0`` for all of them) does ``pde up`` also start this proxy, which serves them on that
address over HTTPS only, one port each:

    PDE_PROXY_PORT      home page (default 8443); Superset on the next port (8444)
    PDE_PROXY_OPERATIONS=1   also Airflow (8445) and JupyterLab (8446), only for a browser logged in to the
                        home page as an admin (Caddy asks the home page: forward_auth), on top of their own
                        logins; without it they stay on this machine only
    PDE_TLS_CERT, PDE_TLS_KEY   your certificate and key (PEM) instead of Caddy's own local CA
    PDE_PROXY_NAMES     more names the devices use for this machine (comma-separated), for the local CA's certificate

    pde up proxy / pde down proxy / pde status proxy
    pde proxy ca        where the root certificate is and its SHA-256 fingerprint, for the partner's device

Caddy's whole state (the local CA, certificates, its generated Caddyfile and log) stays in
``$PDE_HOME/proxy``: its data and config folders point there, its admin API is off, and it never touches the
system's trust store (``skip_install_trust``). It listens on no plain-HTTP port at all (no redirect server).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pde.db import pde_home
from pde.services import Action, register_actions
from pde.services.process import Background

DEFAULT_PORT = 8443
#: the services behind the proxy, in port order from PDE_PROXY_PORT: (name, title, upstream port variable, default)
SITES = (("web", "home page", "PDE_WEB_PORT", 8000), ("superset", "Superset", "PDE_SUPERSET_PORT", 8088),
         ("airflow", "Airflow", "PDE_AIRFLOW_PORT", 8080), ("jupyter", "JupyterLab", "PDE_JUPYTER_PORT", 8888))
OPERATIONS = ("airflow", "jupyter")
CA_NAME = "pde local CA"


class ProxyError(RuntimeError):
    """A problem a user can act on; the message says what to do."""


def listen_address() -> str | None:
    """PDE_LISTEN, or None: the web services stay on 127.0.0.1 only."""
    return (os.environ.get("PDE_LISTEN") or "").strip() or None


def caddy_binary() -> str | None:
    explicit = os.environ.get("PDE_CADDY")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("caddy")


def _quoted(path: str | Path) -> str:
    """A path as one Caddyfile token, spaces and all."""
    return '"' + str(path).replace('"', '\\"') + '"'


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _local_names() -> list[str]:
    """This machine's names and non-loopback addresses: what a device on the network may type (0.0.0.0)."""
    host = socket.gethostname()
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    addresses = sorted((a for a in out if not a.startswith(("127.", "fe80:")) and a != "::1"), key=lambda a: ":" in a)
    return addresses + [host, f"{host}.local"]  # an IPv4 address first: the URL pde prints works without DNS


@dataclass
class Proxy(Background):
    """One Caddy: its state folder, the address it listens on, and what it forwards where."""

    title = "caddy"
    error = ProxyError

    home: Path
    address: str
    port: int = DEFAULT_PORT
    upstreams: dict[str, int] = field(default_factory=dict)
    operations: bool = False
    cert: str | None = None
    key: str | None = None
    names: list[str] = field(default_factory=list)

    @classmethod
    def default(cls) -> Proxy:
        return cls(home=pde_home() / "proxy", address=listen_address() or "",
                   port=int(os.environ.get("PDE_PROXY_PORT") or DEFAULT_PORT),
                   upstreams={name: int(os.environ.get(var) or default) for name, _, var, default in SITES},
                   operations=os.environ.get("PDE_PROXY_OPERATIONS") == "1",
                   cert=os.environ.get("PDE_TLS_CERT") or None, key=os.environ.get("PDE_TLS_KEY") or None,
                   names=[n.strip() for n in (os.environ.get("PDE_PROXY_NAMES") or "").split(",") if n.strip()])

    # -- layout ------------------------------------------------------------------------
    @property
    def pidfile(self) -> Path:
        return self.home / "caddy.pid"

    @property
    def logfile(self) -> Path:
        return self.home / "caddy.log"

    @property
    def caddyfile(self) -> Path:
        return self.home / "Caddyfile"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def root_cert(self) -> Path:
        """The local CA's root certificate (Caddy creates it on its first start); your own cert when given."""
        if self.cert:
            return Path(self.cert)
        return self.data_dir / "pki" / "authorities" / "local" / "root.crt"

    def sites(self) -> list[tuple[str, str, int]]:
        """(service, title, HTTPS port) of what is proxied: Airflow and JupyterLab only with PDE_PROXY_OPERATIONS=1."""
        return [(name, title, self.port + i) for i, (name, title, _, _) in enumerate(SITES)
                if self.operations or name not in OPERATIONS]

    def host_names(self) -> list[str]:
        """What the certificate covers: the address (or, for 0.0.0.0/::, this machine's names) and PDE_PROXY_NAMES."""
        base = _local_names() if self.address in ("0.0.0.0", "::") else [self.address]
        return list(dict.fromkeys(base + self.names))

    def public_host(self) -> str:
        return self.host_names()[0]

    def urls(self) -> list[tuple[str, str]]:
        return [(title, f"https://{_url_host(self.public_host())}:{port}/") for _, title, port in self.sites()]

    # -- checks ------------------------------------------------------------------------------
    def check(self) -> str:
        """The caddy binary, or ProxyError saying what is missing or wrong."""
        if not self.address:
            raise ProxyError("PDE_LISTEN is not set, so everything stays on 127.0.0.1 (plain HTTP, this machine "
                             "only). To open the home page and Superset to your home network over HTTPS, set "
                             "PDE_LISTEN to this machine's address (or 0.0.0.0) and run `pde up` again.")
        caddy = caddy_binary()
        if caddy is None:
            raise ProxyError("caddy is not installed, and PDE_LISTEN needs it (pde serves the network over HTTPS "
                             "only, through Caddy): install caddy (run scripts/system-deps.sh as root, or "
                             "`sudo apt-get install caddy`), or unset PDE_LISTEN.")
        if bool(self.cert) != bool(self.key):
            given, missing = ("PDE_TLS_CERT", "PDE_TLS_KEY") if self.cert else ("PDE_TLS_KEY", "PDE_TLS_CERT")
            raise ProxyError(f"{given} is set but {missing} is not: a certificate needs its private key (both PEM "
                             f"files), or unset both to use pde's own local CA.")
        for var, path in (("PDE_TLS_CERT", self.cert), ("PDE_TLS_KEY", self.key)):
            if path and not Path(path).is_file():
                raise ProxyError(f"{var}={path}: no such file")
        if self.cert:
            try:
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(self.cert, self.key)
            except (ssl.SSLError, OSError) as exc:
                raise ProxyError(f"PDE_TLS_CERT/PDE_TLS_KEY do not load as a certificate and its key ({exc}); "
                                 f"both must be PEM files, the key unencrypted") from exc
        return caddy

    def check_ports(self) -> None:
        for _, title, port in self.sites():
            with socket.socket(socket.AF_INET6 if ":" in self.address else socket.AF_INET) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((self.address, port))
                except OSError as exc:
                    if exc.errno == errno.EADDRINUSE:
                        raise ProxyError(f"port {port} on {self.address} (the {title} over HTTPS) is in use by another "
                                         f"program: stop it, or set PDE_PROXY_PORT to another first port (pde uses "
                                         f"{len(self.sites())} in a row from it)") from exc
                    raise ProxyError(f"cannot listen on {self.address}:{port} ({exc.strerror}): is PDE_LISTEN "
                                     f"an address of this machine?") from exc

    # -- the configuration ---------------------------------------------------------------------
    def render(self) -> str:
        """The Caddyfile: global options that keep Caddy inside $PDE_HOME/proxy, then one site per service."""
        lines = ["{", "\tadmin off", f"\tstorage file_system {_quoted(self.data_dir)}",
                 "\tskip_install_trust", "\tauto_https disable_redirects",
                 "\tservers {\n\t\tprotocols h1 h2\n\t}"]
        if not self.cert:  # the local CA, named so a device's certificate list says whose it is
            lines.append(f'\tpki {{\n\t\tca local {{\n\t\t\tname "{CA_NAME}"\n\t\t\troot_cn "{CA_NAME} - root"\n'
                         f'\t\t\tintermediate_cn "{CA_NAME} - intermediate"\n\t\t}}\n\t}}')
        lines += ["}", ""]
        ports = " ".join(f"{name}={port}" for name, _, port in self.sites())
        for name, _, port in self.sites():
            if self.cert:
                addresses, tls = f"https://:{port}", f"tls {_quoted(self.cert)} {_quoted(self.key)}"
            else:
                addresses = ", ".join(f"https://{_url_host(h)}:{port}" for h in self.host_names())
                tls = "tls internal"
            upstream = f"127.0.0.1:{self.upstreams[name]}"
            everywhere = self.address in ("0.0.0.0", "::")  # no bind: every interface, IPv4 and IPv6
            body = ([] if everywhere else [f"\tbind {self.address}"]) + [f"\t{tls}"]
            if name in OPERATIONS:  # only for a browser logged in to the home page as an admin (its cookie)
                body.append(f"\tforward_auth 127.0.0.1:{self.upstreams['web']} {{\n\t\turi /auth/operations\n"
                            f'\t\theader_up X-Pde-Proxy "{ports}"\n\t}}')
            proxy = [f"\treverse_proxy {upstream} {{"]
            if name == "web":
                proxy.append(f'\t\theader_up X-Pde-Proxy "{ports}"')  # the page links the proxied services
            else:
                # they set their cookies for plain HTTP on loopback; sent over HTTPS, they must never go back over HTTP
                proxy.append('\t\theader_down Set-Cookie "(?i)^(.*?)(;\\s*secure)?$" "$1; Secure"')
            if name == "jupyter":  # it accepts only local Host/Origin headers; the admin gate guards it here
                proxy += ["\t\theader_up Host {upstream_hostport}", "\t\theader_up Origin http://{upstream_hostport}"]
            proxy.append("\t}")
            lines += [f"{addresses} {{", *body, *proxy, "}", ""]
        return "\n".join(lines)

    def env(self) -> dict[str, str]:
        """Caddy's data and config folders under $PDE_HOME/proxy: it writes nowhere else."""
        return {**os.environ, "XDG_DATA_HOME": str(self.home / "xdg-data"),
                "XDG_CONFIG_HOME": str(self.home / "xdg-config"), "HOME": str(self.home)}

    # -- running ---------------------------------------------------------------------------------
    def listening(self) -> bool:
        """Every proxied port accepts connections on the address."""
        host = "127.0.0.1" if self.address == "0.0.0.0" else "::1" if self.address == "::" else self.address
        for _, _, port in self.sites():
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
                s.settimeout(2)
                if s.connect_ex((host, port)) != 0:
                    return False
        return True

    def start(self, timeout: float = 30) -> None:
        caddy = self.check()
        if self.current():
            return
        self.stop()  # running with other settings (a changed PDE_PROXY_*): start again with these
        self.check_ports()
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        self.caddyfile.write_text(self.render())
        os.chmod(self.caddyfile, 0o600)
        cmd = [caddy, "run", "--config", str(self.caddyfile), "--adapter", "caddyfile"]
        proc = self.spawn(cmd, self.env(), self.home)
        self.wait_ready(proc, lambda: self.listening() and self.certificates_ready(), timeout, self.address,
                        every=0.1)

    def current(self) -> bool:
        """Running, listening, and with the configuration these settings give."""
        try:
            same = self.caddyfile.read_text() == self.render()
        except FileNotFoundError:
            return False
        return same and self.pid() is not None and self.listening()

    def certificates_ready(self) -> bool:
        """With the local CA: its root and one certificate per host name are on disk (Caddy issues them at start)."""
        if self.cert:
            return True
        issued = list((self.data_dir / "certificates" / "local").glob("*/*.crt"))
        return self.root_cert.exists() and len(issued) >= len(self.host_names())

def home_url() -> str | None:
    """The home page's HTTPS address on the home network when PDE_LISTEN is set (what watch alerts link to)."""
    if not listen_address():
        return None
    proxy = Proxy.default()
    return f"https://{_url_host(proxy.public_host())}:{proxy.port}"


def fingerprint(path: Path) -> str:
    """SHA-256 of the certificate (DER), as browsers and phones show it: AB:CD:..."""
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# -- commands -----------------------------------------------------------------------------------
def up() -> int:
    svc = Proxy.default()
    svc.check()  # a ProxyError is a RuntimeError: `pde up` prints it and exits 2
    if not svc.current():
        verb = "restarting (its settings changed)" if svc.pid() else "starting"
        print(f"{verb} the HTTPS proxy (Caddy) on {svc.address} (log {svc.logfile})", flush=True)
        svc.start()
    print(f"On your home network, over HTTPS only ({'your certificate' if svc.cert else 'pde local CA'}):")
    for title, url in svc.urls():
        print(f"  {title:<11} {url}")
    if not svc.operations:
        print("  Airflow and JupyterLab stay on this machine "
              "(PDE_PROXY_OPERATIONS=1 opens them to the home page's admins)")
    if not svc.cert:
        print(f"  devices trust it once: {svc.urls()[0][1]}ca.crt, SHA-256 {fingerprint(svc.root_cert)} "
              f"(`pde proxy ca`)")
    return 0


def down() -> int:
    print("HTTPS proxy stopped" if Proxy.default().stop() else "HTTPS proxy was not running")
    return 0


def status() -> int:
    svc = Proxy.default()
    pid = svc.pid()
    if not svc.address:
        if pid is None:
            print("HTTPS proxy: off (PDE_LISTEN is not set: the services are on 127.0.0.1 only)")
        else:
            print(f"HTTPS proxy: running (pid {pid}), started with a PDE_LISTEN this environment does not set; "
                  f"its configuration: {svc.caddyfile}")
        return 0
    ok = pid is not None and svc.listening()
    where = ", ".join(f"{title} {url}" for title, url in svc.urls())
    print(f"HTTPS proxy: {'running' if ok else 'stopped'}" + (f" (pid {pid}: {where})" if pid else ""))
    return 0 if ok else 3


def ca_command(args=None) -> int:
    svc = Proxy.default()
    path = svc.root_cert
    if not path.is_file():
        raise ProxyError(f"no root certificate yet ({path}): Caddy creates pde's local CA on its first start; "
                         f"set PDE_LISTEN and run `pde up proxy`")
    kind = "your certificate (PDE_TLS_CERT)" if svc.cert else f"root certificate of {CA_NAME}"
    print(f"{kind}: {path}")
    print(f"SHA-256 fingerprint: {fingerprint(path)}")
    if not svc.cert:
        print("The partner's device installs it from the home page (/ca.crt) and compares this fingerprint.")
    return 0


def register(subparsers) -> None:
    """Adds ``pde proxy {up,down,status,ca}``."""
    register_actions(subparsers, "proxy", "the HTTPS proxy for the home network (PDE_LISTEN): up, down, status, ca", {
        "up": Action(lambda args: up(), "serve the home page and Superset on PDE_LISTEN over HTTPS (Caddy)"),
        "down": Action(lambda args: down(), "stop it"),
        "status": Action(lambda args: status(), "is it running, and where"),
        "ca": Action(ca_command, "where the root certificate is and its SHA-256 fingerprint"),
    }, errors=(ProxyError,))


if __name__ == "__main__":
    from pde.services import service_main

    sys.exit(service_main("proxy", register))
