"""``make run``: the dashboard, a Celery worker and beat side by side; Ctrl-C stops all three.

A process supervisor in a few lines, so that stopping is reliable whatever the shell does with
signals of background jobs. If one process exits, the others are stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

STOP_GRACE_SECONDS = 10


def commands(port: str) -> list[list[str]]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "mpbraze"]
    return [
        [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        [*celery, "worker", "--loglevel=INFO", "--concurrency=2"],
        [*celery, "beat", "--loglevel=INFO"],
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def clear_metrics() -> None:
    """A new stack counts from zero: remove the metric files of processes of earlier runs
    (prometheus-client's multiprocess mode keeps summing the files of dead processes)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
    from django.conf import settings

    for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
        path.unlink(missing_ok=True)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    clear_metrics()
    processes = [subprocess.Popen(command) for command in commands(port)]  # noqa: S603 - fixed argv
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"mpbraze: dashboard on http://127.0.0.1:{port}/ (Ctrl-C stops web, worker and beat)")
    while not stopping and all(p.poll() is None for p in processes):
        time.sleep(0.5)
    stop(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
