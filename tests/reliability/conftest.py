"""Real parts for integration tests: PostgreSQL, Redis and Celery worker processes.

The workers run this checkout's code in separate processes against the test database and a
queue private to this test run, exactly as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mpbraze.celery import app
from tests.conftest import TEST_QUEUE
from tests.services import redis_url, require_broker

ROOT = Path(__file__).resolve().parents[2]
FAST_TIMINGS = {
    "MPBRAZE_RETRY_BACKOFF_SECONDS": "1,1,2",
    "MPBRAZE_SWEEP_SECONDS": "1",
    "MPBRAZE_MAPPING_GRACE_SECONDS": "3",
}


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":  # the test database is a file (tests/conftest.py)
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker_environment(name: str, *, broker_url: str | None = None) -> dict[str, str]:
    """The worker's settings: this test run's database and queue; ``broker_url`` (a Redis that
    a fault test controls) as both broker and Redis, else the test process's own broker
    (RabbitMQ in ``make test-rabbitmq``, the filesystem one on the embedded default) and
    Redis (none on the embedded default)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(FAST_TIMINGS)
    broker = broker_url or str(app.conf.broker_url)
    if broker.startswith("filesystem"):
        env["MPBRAZE_BROKER_DIR"] = str(settings.BROKER_DIR)
    env.update(
        DATABASE_URL=_database_url(),
        REDIS_URL=broker_url or os.environ.get("REDIS_URL", ""),
        CELERY_BROKER_URL=broker,
        MPBRAZE_CELERY_QUEUE=TEST_QUEUE,
        MPBRAZE_ENCRYPTION_KEYS=",".join(settings.MPBRAZE_ENCRYPTION_KEYS),
        SECRET_KEY=settings.SECRET_KEY,
        MPBRAZE_ALLOW_LOCAL_ENDPOINTS="1",
        DEBUG="1",
        MPBRAZE_LOCAL_DIR=str(Path(settings.LOCAL_DIR) / f"worker-{name}"),
    )
    return env


class WorkerProcess:
    """``celery worker`` (optionally with embedded beat) as a child process."""

    def __init__(self, name: str, *, beat: bool) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mpbraze",
            "worker",
            "--concurrency=2",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
        ]
        if beat:
            command.append("--beat")
        self.log: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=worker_environment(name),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(" ready." in line for line in self.log):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + "".join(self.log[-40:]))
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def require_worker_services() -> None:
    """What the test process runs on must answer: on the embedded default (SQLite, the
    filesystem broker) nothing more; on PostgreSQL, Redis and the broker as in production."""
    if connection.vendor == "postgresql" or os.environ.get("REDIS_URL"):
        redis_url()
    if connection.vendor == "postgresql" or not str(app.conf.broker_url).startswith("filesystem"):
        require_broker()


@pytest.fixture
def start_worker(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    require_worker_services()
    started: list[WorkerProcess] = []

    def start(name: str = "w1", *, beat: bool = True) -> WorkerProcess:
        worker = WorkerProcess(name, beat=beat)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
        if os.environ.get("MPBRAZE_SHOW_WORKER_LOG"):
            print(f"--- worker log ---\n{''.join(worker.log)}")


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> float:
    """Poll until ``condition()``; returns the seconds it took or fails saying what was awaited."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - start
