"""A worker's liveness file for container health checks (``manage.py healthcheck worker``).

The file is touched by a timer of the consumer, which runs only while the worker consumes:
its event loop turns, and it holds a broker connection. A worker that lost its broker or hangs
stops touching it, and the check fails once the file is older than its limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import bootsteps
from django.conf import settings

TOUCH_SECONDS = 5.0


def heartbeat_path() -> Path:
    return Path(settings.MPBRAZE_WORKER_HEARTBEAT_FILE)


class HeartbeatFile(bootsteps.StartStopStep):
    """Consumer step: starts after the task consumer, stops (and removes the file) with it."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        heartbeat_path().parent.mkdir(parents=True, exist_ok=True)
        heartbeat_path().touch()
        self.timer_entry = parent.timer.call_repeatedly(TOUCH_SECONDS, heartbeat_path().touch)

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None
        heartbeat_path().unlink(missing_ok=True)

    shutdown = stop
