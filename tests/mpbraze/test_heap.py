"""Web and worker processes keep what they imported out of garbage collection (mpbraze/heap.py).

Each check runs in a fresh interpreter: freezing is for the life of a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPORT = "import gc, json; print(json.dumps([gc.get_freeze_count(), gc.get_threshold()[0]]))"
WEB = f"import mpbraze.wsgi; {REPORT}"
# What Celery sends in a prefork pool process once it has started.
POOL_PROCESS = (
    "import django; django.setup(); from mpbraze.celery import app;"
    " from celery.signals import worker_process_init; worker_process_init.send(sender=None);"
    f" {REPORT}"
)


def _run(code: str, tmp_path: Path, **env: str) -> tuple[int, int]:
    clean = {**os.environ, "MPBRAZE_LOCAL_DIR": str(tmp_path), **env}
    clean.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen, youngest = json.loads(result.stdout.strip().splitlines()[-1])
    return frozen, youngest


def test_a_web_worker_freezes_what_it_imported(tmp_path: Path) -> None:
    frozen, youngest = _run(WEB, tmp_path)
    assert frozen > 50_000  # Django and the project: tens of thousands of objects
    assert youngest == 10_000


def test_a_worker_pool_process_freezes_what_it_inherited(tmp_path: Path) -> None:
    frozen, youngest = _run(POOL_PROCESS, tmp_path)
    assert frozen > 50_000
    assert youngest == 10_000


def test_python_defaults_are_kept_when_turned_off(tmp_path: Path) -> None:
    assert _run(WEB, tmp_path, MPBRAZE_GC_FREEZE="0") == (0, 700)
    assert _run(POOL_PROCESS, tmp_path, MPBRAZE_GC_FREEZE="0") == (0, 700)
