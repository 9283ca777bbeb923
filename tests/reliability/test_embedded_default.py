"""The embedded default (no environment: SQLite, filesystem broker) forwards end to end.

Runs ``manage.py demo --once`` as ``make demo`` does: web, worker and beat processes, a fake
Braze, and batches posted with the real mParticle SDK, then waits until all is delivered.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MPBRAZE_ENCRYPTION_KEYS")

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_embedded_default_delivers_sdk_batches_to_a_fake_braze(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env |= {"MPBRAZE_LOCAL_DIR": str(tmp_path), "DJANGO_SUPERUSER_PASSWORD": "demo-password"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "demo",
            "--once",
            "--port",
            str(free_port()),
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sent 20 batches with the mParticle SDK" in result.stdout
    assert "delivered 220 objects to the fake Braze" in result.stdout
    assert (tmp_path / "db.sqlite3").exists()
    assert not (ROOT / "control").exists()  # kombu's control files stay in the state folder
