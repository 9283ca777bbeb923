"""Real processes a fault-injection test kills: its own Redis, Celery workers, gunicorn.

Every process here is a child of the test process, bound to 127.0.0.1 only, and started in
its own session so that the whole process tree can be killed with one ``killpg``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import httpx
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.reliability import conftest as reliability
from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_open(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM and wait, then SIGKILL whatever is left of the process group (also after a kill)."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    _kill_group(process)
    process.wait(timeout=10)


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the session the process leads: it and every descendant still in it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(process.pid, signal.SIGKILL)


class _Output:
    """Collects a child's merged stdout/stderr lines in a daemon thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)

    def tail(self, count: int = 40) -> str:
        return "".join(self.lines[-count:])


def _spawn(command: list[str], env: Mapping[str, str]) -> tuple[subprocess.Popen[str], _Output]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    return process, _Output(process)


# --- Redis -----------------------------------------------------------------------------------


class RedisServer:
    """A private ``redis-server`` without persistence on a free loopback port.

    ``kill()`` is ``kill -9``; ``restart()`` brings up a new, empty server on the same port,
    so clients configured with ``url`` reconnect to it.
    """

    def __init__(self, directory: Path, *, port: int | None = None, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        assert binary is not None
        self.binary = binary
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None
        self.output: _Output | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client that fails at once when the server is down (no retries)."""
        return redis.Redis(
            host=LOOPBACK,
            port=self.port,
            socket_timeout=2,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        command = [self.binary, "--bind", LOOPBACK, "--port", str(self.port), "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory), "--protected-mode", "no"]
        self.process, self.output = _spawn(command, os.environ)
        deadline = time.monotonic() + self.timeout
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.output.tail()
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, and wait until the process is gone (its port is then closed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=self.timeout)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process, self.timeout)


# --- Celery workers --------------------------------------------------------------------------


def fault_environment(
    name: str, redis_url: str, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``worker_environment(name)`` with ``REDIS_URL`` (broker and cache) set to ``redis_url``:
    the machine's Redis is neither required nor contacted."""
    env = reliability.worker_environment(name, broker_url=redis_url)
    env.update(overrides or {})
    return env


def _proc_stats() -> Iterator[tuple[int, str, int, int]]:
    """``(pid, state, ppid, pgrp)`` of every process, from /proc/*/stat."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while scanning
        # "pid (comm) state ppid pgrp ...": comm may hold spaces or parentheses.
        state, ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        yield int(stat.parent.name), state, int(ppid), int(pgrp)


def _proc_children(pid: int) -> list[int]:
    """Live child pids of ``pid`` (``/proc/<pid>/task/*/children`` is often not compiled in,
    so the process table is scanned for the parent pid)."""
    return sorted(p for p, state, ppid, _ in _proc_stats() if ppid == pid and state != "Z")


def _group_alive(pgid: int) -> list[int]:
    """Live (not zombie) members of a process group."""
    return sorted(p for p, state, _, pgrp in _proc_stats() if pgrp == pgid and state != "Z")


def _ignores_sigint(pid: int) -> bool:
    """Celery's pool initializer ignores SIGINT in every prefork child; embedded beat does not."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


class FaultWorker:
    """``celery worker`` on the test queue against a chosen Redis, killable in every way."""

    def __init__(
        self,
        name: str,
        redis_url: str,
        *,
        concurrency: int = 2,
        beat: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.redis_url = redis_url
        self.concurrency = concurrency
        # No -Q: MPBRAZE_CELERY_QUEUE names the test's queues (mapping, forwarding, hooks).
        command = [sys.executable, "-m", "celery", "-A", "mpbraze", "worker"]
        command += [f"--concurrency={concurrency}", "--loglevel=INFO", f"--hostname={name}@%h"]
        if beat:
            command.append("--beat")
        self.env = fault_environment(name, redis_url, env)
        self.process, self._output = _spawn(command, self.env)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> list[str]:
        return self._output.lines

    def log_text(self) -> str:
        return "".join(self.log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 30) -> FaultWorker:
        deadline = time.monotonic() + timeout
        while not any(" ready." in line for line in self.log):
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name} did not start:\n{self._output.tail()}")
            time.sleep(0.1)
        self.wait_children(self.concurrency, timeout=max(1.0, deadline - time.monotonic()))
        return self

    def child_pids(self) -> list[int]:
        """The prefork pool's processes (not the embedded beat process)."""
        return [pid for pid in _proc_children(self.pid) if _ignores_sigint(pid)]

    def wait_children(
        self, count: int, *, timeout: float = 10, without: Collection[int] = ()
    ) -> list[int]:
        """Wait until ``count`` pool processes outside ``without`` are running."""
        deadline = time.monotonic() + timeout
        while len(children := [p for p in self.child_pids() if p not in without]) < count:
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker {self.name}: {len(children)} of {count} pool processes after "
                    f"{timeout:.0f} s:\n{self._output.tail()}"
                )
            time.sleep(0.05)
        return children

    def kill_child(self, pid: int | None = None) -> int:
        """SIGKILL one pool process (the first, unless given); returns its pid."""
        victim = pid if pid is not None else self.child_pids()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_all(self) -> None:
        """``kill -9`` the main process and its children at once, as an OOM kill or host loss;
        returns once no process of the group is left running."""
        _kill_group(self.process)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while survivors := _group_alive(self.pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name}: {survivors} survived SIGKILL")
            time.sleep(0.02)

    def terminate(self) -> None:
        """SIGTERM to the main process only: Celery's warm shutdown; does not wait."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown, then SIGKILL to whatever of the group is left (also after a kill)."""
        _stop(self.process, timeout)


# --- The web app ---------------------------------------------------------------------------


class WebServer:
    """The product's WSGI app under gunicorn on a free loopback port.

    Ready once a TCP connect succeeds and the app has answered one request (``GET /v2/events``
    is refused with 405 before any database or Redis access), so the first timed request
    does not include Django's start-up.
    """

    def __init__(self, env: Mapping[str, str], *, timeout: float = 20, threads: int = 4) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "mpbraze.wsgi:application"]
        command += ["-b", f"{LOOPBACK}:{self.port}", "--workers", "1", "--threads", str(threads)]
        command += ["--timeout", "30", "--graceful-timeout", "5"]
        self.process, self._output = _spawn(command, env)
        deadline = time.monotonic() + timeout
        while not (port_open(self.port) and self._answers()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self._output.tail()
                self.stop()
                raise RuntimeError(f"gunicorn did not serve on {self.port}:\n{log}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            httpx.get(f"{self.url}/v2/events", timeout=5, trust_env=False)
        except httpx.HTTPError:
            return False
        return True

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def log(self) -> list[str]:
        return self._output.lines

    def stop(self, timeout: float = 10) -> None:
        _stop(self.process, timeout)
