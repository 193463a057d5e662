"""`pde doctor` as a user runs it: every problem on its own line with what to do, exit 1; fixed, exit 0."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg2
import pytest

from pde import cassettes
from pde.db import free_port
from tests.conftest import FIXTURES, run_crawl, run_pde

SECRET = "PDE_DOCTOR_TEST_" + uuid.uuid4().hex[:8].upper()
CRAWLS = f"""
spiders:
  zillow_listings:
    crawls:
      - {{label: brunswick, args: {{search: "04011", status: for_rent}}}}
    secrets: [{SECRET}]
  ofx_statements:
    crawls:
      - {{label: checking}}
  espn_league:
    secrets: [NOT_SCHEDULED_SO_NOT_NEEDED]
"""


def sql(url, statement, args=None):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(statement, args)
    conn.close()


@pytest.fixture
def env(tmp_path, pg_url):
    (tmp_path / "crawls.yaml").write_text(CRAWLS)
    e = {"DATABASE_URL": pg_url, "PDE_HOME": str(tmp_path / "home"), "PDE_BACKUP_DIR": str(tmp_path / "backups"),
         "PDE_CRAWLS_FILE": str(tmp_path / "crawls.yaml"), "PDE_AIRFLOW_DB": "no_such_db_" + uuid.uuid4().hex[:6],
         "PDE_AIRFLOW_PORT": str(free_port()), "PDE_SUPERSET_PORT": str(free_port())}
    for name in (SECRET, "PDE_BACKUP_KEY", "PDE_DOCTOR_DAYS", "PDE_BACKUP_MAX_AGE_HOURS"):
        os.environ.pop(name, None)
    return e


def findings(stdout: str) -> dict[str, list[str]]:
    """FAIL/ok/note -> the lines (with their `->` advice appended)."""
    out: dict[str, list[str]] = {"FAIL": [], "ok": [], "note": []}
    last = None
    for line in stdout.splitlines():
        head = line.split(" ", 1)[0]
        if head in out:
            out[head].append(line)
            last = out[head]
        elif line.strip().startswith("->") and last is not None:
            last[-1] += " " + line.strip()
    return out


def test_doctor_names_each_problem_with_what_to_do_then_passes_when_fixed(env, pg_url):
    home = Path(env["PDE_HOME"])
    sql(pg_url, """INSERT INTO platform.runs (spider, status, started_at, finished_at, message) VALUES
                   ('zillow_listings', 'succeeded', now() - interval '5 days', now() - interval '5 days', null),
                   ('ofx_statements', 'failed', now() - interval '1 day', now() - interval '1 day',
                    'The bank answered 401: check PDE_OFX_PASSWORD')""")
    sql(pg_url, "INSERT INTO platform.quarantine (spider, table_name, reason, item) "
                "VALUES ('ofx_statements', 'finance.transactions', 'no date', '{}')")
    (home / "spool").mkdir(parents=True, mode=0o700)
    os.chmod(home, 0o700)
    spooled = home / "spool" / "zillow_listings-run7.jsonl"
    spooled.write_text('{"kind": "record"}\n{"kind": "record"}\n')
    os.chmod(spooled, 0o600)
    Path(env["PDE_BACKUP_DIR"]).mkdir(mode=0o755)
    os.chmod(env["PDE_BACKUP_DIR"], 0o755)

    out = run_pde("doctor", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    f = findings(out.stdout)
    fails = "\n".join(f["FAIL"])
    expected = [
        "zillow_listings has not succeeded for 5 days (limit 3 days",
        "ofx_statements has never succeeded (last run: failed",
        f"{SECRET} (for zillow_listings) is not set",
        "1 row(s) rejected in the last 3 days (ofx_statements)",
        "2 row(s) in 1 file(s) waiting",
        "no backup of this database yet",
        f"others may read personal data: {Path(env['PDE_BACKUP_DIR']).resolve()} (755)",
    ]
    for text in expected:
        assert text in fails, f"{text!r} not in:\n{out.stdout}"
    assert len(f["FAIL"]) == len(expected), out.stdout
    assert all("->" in line for line in f["FAIL"]), "a problem without what to do"
    assert "NOT_SCHEDULED_SO_NOT_NEEDED" not in out.stdout
    assert any("database" in line and "reachable" in line for line in f["ok"])
    assert any("migrations" in line and "current" in line for line in f["ok"])
    assert f"{len(expected)} thing(s) need you." in out.stdout
    # a longer limit forgives the 5-day-old success: for all (--days), or for that spider (alert_after_days)
    assert "zillow_listings has not succeeded" not in run_pde("doctor", "--days", "6", env=env).stdout
    Path(env["PDE_CRAWLS_FILE"]).write_text(CRAWLS.replace("  zillow_listings:\n",
                                                           "  zillow_listings:\n    alert_after_days: 7\n"))
    per_spider = run_pde("doctor", env=env).stdout
    assert "zillow_listings has not succeeded" not in per_spider
    assert "zillow_listings succeeded 5 days ago" in per_spider
    assert "ofx_statements has never succeeded" in per_spider  # the others keep the default
    Path(env["PDE_CRAWLS_FILE"]).write_text(CRAWLS.replace("  zillow_listings:\n",
                                                           "  zillow_listings:\n    alert_after_days: 4\n"))
    assert "zillow_listings has not succeeded for 5 days (limit 4 days" in run_pde("doctor", env=env).stdout
    Path(env["PDE_CRAWLS_FILE"]).write_text(CRAWLS)

    # the user does what the lines say
    for spider, cassette in (("zillow_listings", FIXTURES / "zillow_listings" / "search_04011.json"),
                             ("ofx_statements", FIXTURES / "ofx_statements" / "ofx_statements.json")):
        p = run_crawl(spider, db=pg_url, cassette=cassette, args=cassettes.metadata(cassette)["args"], env=env)
        assert p.returncode == 0, p.stderr[-2000:]
    sql(pg_url, "DELETE FROM platform.quarantine")
    (home / "spool" / "zillow_listings-run7.jsonl").unlink()
    os.chmod(env["PDE_BACKUP_DIR"], 0o700)
    assert run_pde("backup", env=env).returncode == 0
    fixed = run_pde("doctor", env={**env, SECRET: "set"})
    assert fixed.returncode == 0, fixed.stdout
    assert "All good: nothing needs you." in fixed.stdout
    assert not findings(fixed.stdout)["FAIL"]
    assert any("last backup" in line for line in findings(fixed.stdout)["ok"])


def self_signed(path: Path, days: int) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pde.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_doctor_without_a_database_says_how_to_get_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PDE_TLS_CERT")}
    env.update(PDE_HOME=str(tmp_path / "fresh"), PDE_PG_PORT=str(free_port()))
    (tmp_path / "fresh" / "tls").mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path / "fresh", 0o700)
    self_signed(tmp_path / "fresh" / "tls" / "soon.crt", days=5)
    self_signed(tmp_path / "fresh" / "tls" / "fine.crt", days=90)
    out = run_pde("doctor", env=env)
    assert out.returncode == 1
    assert "no embedded database" in out.stdout and "pde db start" in out.stdout
    https = [line for line in out.stdout.splitlines() if " https " in line]
    assert len(https) == 2, out.stdout
    assert any(line.startswith("FAIL") and "soon.crt expires in" in line for line in https)
    assert any(line.startswith("ok") and "fine.crt valid for 89 more days" in line for line in https)
    assert not (tmp_path / "fresh" / "pgdata").exists(), "the doctor must not create or start anything"


def test_old_backup_and_missing_backup_file_need_the_user(env, pg_url):
    assert run_pde("backup", env=env).returncode == 0
    sql(pg_url, "UPDATE platform.backups SET taken_at = taken_at - interval '3 days'")
    out = run_pde("doctor", env=env)
    assert "the last backup is 3 days old" in out.stdout
    file = psycopg2.connect(pg_url).cursor()
    file.execute("SELECT file FROM platform.backups LIMIT 1")
    Path(file.fetchone()[0]).unlink()
    file.connection.close()
    out = run_pde("doctor", env=env)
    assert "is gone or changed" in out.stdout and out.returncode == 1
