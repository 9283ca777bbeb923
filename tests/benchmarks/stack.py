"""The real stack for end-to-end benchmarks: a database of its own, gunicorn, Celery workers,
a fake Braze. PostgreSQL and Redis when ``DATABASE_URL``/``REDIS_URL`` are set, else the
embedded default (SQLite and kombu's filesystem broker in a temporary folder)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
# A developer running two benchmarks on one server gives each a database of its own.
BENCH_DATABASE = os.environ.get("MPBRAZE_BENCH_DATABASE", "mpbraze_bench")


def prepare_environment() -> str:
    """Point this process (before Django starts) at a database and queue of the benchmark's
    own, so a developer's data is never touched. Returns a description of the machine."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        os.environ["DATABASE_URL"] = _fresh_postgres_database(url)
    else:
        os.environ["MPBRAZE_LOCAL_DIR"] = tempfile.mkdtemp(prefix="mpbraze-bench-")
    os.environ["MPBRAZE_CELERY_QUEUE"] = f"mpbraze-bench-{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("MPBRAZE_ALLOW_LOCAL_ENDPOINTS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return describe_machine()


def describe_machine() -> str:
    import sqlite3

    from django.conf import settings
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "postgresql":
        version = connection.cursor().connection.info.server_version
        database = f"PostgreSQL {version // 10000}.{version % 10000}"
    else:
        database = f"SQLite {sqlite3.sqlite_version}"
    broker = "Redis" if settings.REDIS_URL else "kombu filesystem broker"
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {database}, {broker}"


def _fresh_postgres_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def child_environment(**overrides: str) -> dict[str, str]:
    """What this process runs on, for its gunicorn and Celery children."""
    from django.conf import settings

    env = dict(os.environ)
    env.update(
        SECRET_KEY=settings.SECRET_KEY,
        MPBRAZE_ENCRYPTION_KEYS=",".join(settings.MPBRAZE_ENCRYPTION_KEYS),
        MPBRAZE_LOCAL_DIR=str(settings.LOCAL_DIR),
        DEBUG="0",  # as in production: no query log, no debug pages
        ALLOWED_HOSTS="127.0.0.1,localhost",  # required with DEBUG off
    )
    env.update(overrides)
    return env


class Process:
    """A child in its own session, output to a log file, stopped with SIGTERM then SIGKILL."""

    def __init__(self, command: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("w")
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=self._file, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._file.close()

    def peak_rss_mb(self) -> float:
        """Highest resident set of the process and its children, in MB."""
        peaks = [_peak_rss_kb(pid) for pid in [self.popen.pid, *_children(self.popen.pid)]]
        return max(peaks, default=0) / 1024


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _peak_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def gunicorn(
    wsgi: str, port: int, log: Path, *, queue: str, workers: int = 2, threads: int = 4
) -> Process:
    command = [sys.executable, "-m", "gunicorn", wsgi, "-b", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--timeout", "60"]
    server = Process(command, child_environment(MPBRAZE_CELERY_QUEUE=queue), log)
    _wait_for(f"http://127.0.0.1:{port}/v2/events", server)
    return server


def celery_worker(
    name: str,
    log: Path,
    *,
    queue: str,
    counts: Path,
    concurrency: int = 1,
    beat: bool = False,
    mapping_only: bool = False,
) -> Process:
    """A worker process of the product (counting its SQL statements per task into ``counts``)
    on ``queue`` and its forwarding queue, or on the mapping queue alone."""
    command = [sys.executable, "-m", "tests.benchmarks.counting_worker", "-A", "mpbraze"]
    command += ["worker", "--loglevel=WARNING", f"--concurrency={concurrency}"]
    command += [f"--hostname={name}@%h", "--without-mingle", "--without-gossip"]
    if mapping_only:
        command += ["-Q", queue]
    if beat:
        command.append("--beat")
    env = child_environment(MPBRAZE_CELERY_QUEUE=queue, MPBRAZE_BENCH_COUNTS_DIR=str(counts))
    return Process(command, env, log)


def wait_ready(counts: Path, workers: int, timeout: float = 60) -> None:
    """Until ``workers`` worker processes writing into ``counts`` consume their queues."""
    deadline = time.monotonic() + timeout
    while len(list(counts.glob("ready-*"))) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers not ready within {timeout:.0f} s")
        time.sleep(0.1)


def _wait_for(url: str, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.log} exited:\n{process.log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=2, trust_env=False)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered {url} within {timeout} s")
