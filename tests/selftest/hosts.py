"""Airflow's hostname_callable for tests where two workers on one machine stand in for two hosts."""

from __future__ import annotations

import os
import socket


def name() -> str:
    """$PDE_TEST_HOSTNAME (set per worker by the test), else the real host name."""
    return os.environ.get("PDE_TEST_HOSTNAME") or socket.getfqdn()
