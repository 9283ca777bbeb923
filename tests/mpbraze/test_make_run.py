"""The README's first command: ``make run`` on the embedded default (no DATABASE_URL, REDIS_URL
or broker URL) serves the sign-in page, becomes ready once the worker's first sweep has run,
and Ctrl-C stops the web server, the worker and beat together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "PROMETHEUS_MULTIPROC_DIR",
)
READY_WITHIN = 120  # the first beat sweep comes after MPBRAZE_SWEEP_SECONDS (30 s by default)

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def newcomer_environment(local_dir: Path, port: int) -> dict[str, str]:
    """The test's environment without any service, with state in a folder of its own."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env = {k: v for k, v in env.items() if not k.startswith(("MPBRAZE_", "PYTEST", "DJANGO_"))}
    return env | {
        "MPBRAZE_LOCAL_DIR": str(local_dir),
        "DJANGO_SUPERUSER_PASSWORD": "newcomer-password-1",
        "PORT": str(port),
    }


def wait_for(url: str, *, status: int, within: float) -> float:
    """Seconds until ``url`` answers ``status``; fails naming the last answer."""
    started, last = time.monotonic(), "no answer"
    while time.monotonic() - started < within:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == status:
                return time.monotonic() - started
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer {status} within {within:.0f} s; last: {last}")


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_becomes_ready_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=newcomer_environment(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/login/", status=200, within=120)
        ready_after = wait_for(f"{base}/readyz", status=200, within=READY_WITHIN)
        print(f"\nmake run: /readyz answered 200 after {ready_after:.1f} s more")
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group
        output, _ = process.communicate(timeout=30)
    # make ends itself with the signal after its recipe stopped, as on a terminal.
    assert process.returncode in (0, -signal.SIGINT), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    deadline = time.monotonic() + 15
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(process.pid), "a process of make run outlived Ctrl-C"
    assert "dashboard on http://127.0.0.1:" in output
    assert (tmp_path / "db.sqlite3").exists()
