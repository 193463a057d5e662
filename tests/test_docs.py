"""The docs say what the code does: the arguments page is the declarations, regenerated."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def test_sources_page_is_what_pde_sources_prints():
    printed = subprocess.run([sys.executable, "-m", "pde.cli", "sources", "--markdown"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    page = (ROOT / "docs" / "sources.md").read_text()
    assert printed.stdout.strip() in page, "docs/sources.md is stale: regenerate it with `pde sources --markdown`"
