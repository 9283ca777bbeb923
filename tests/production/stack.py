"""The compose file's web, two workers and beat as real processes on this machine."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

from tests.production import compose
from tests.reliability.conftest import _database_url
from tests.reliability.processes import (
    LOOPBACK,
    ROOT,
    _group_alive,
    _Output,
    _spawn,
    _stop,
    free_port,
)

ALLOWED_HOST = "mpbraze.example.com"
PROXY_HEADERS = {"Host": ALLOWED_HOST, "X-Forwarded-Proto": "https"}
PROXY_ADDRESS = "172.30.0.10"  # the proxy's fixed address on the compose network


def interpolation_variables() -> dict[str, str]:
    """What an operator's .env holds; the keys are the test process's, which seeds the rows."""
    return {
        "SECRET_KEY": "x7#Kq9!vLm2@pR4$tW6^yZ8&bN1*cF3(hJ5)dG0-sA+eU=iO_Qw",
        "MPBRAZE_ENCRYPTION_KEYS": ",".join(settings.MPBRAZE_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": ALLOWED_HOST,
        # make test-rabbitmq sets it: the same stack with RabbitMQ carrying the tasks.
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", ""),
    }


class Stack:
    """Reads docker-compose.yml once; ``start(name, instance)`` runs one service's command."""

    def __init__(self, tmp: Path, redis_url: str, queue: str) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.spec = compose.load(interpolation_variables())
        self.swaps = {
            "postgres": _database_url(),
            "redis": redis_url,
            "/tmp/mpbraze/metrics": str(tmp / "metrics"),
            "/tmp/mpbraze/beat": str(tmp / "beat"),
            "127.0.0.1:8000": f"{LOOPBACK}:{self.port}",
            PROXY_ADDRESS: LOOPBACK,  # nginx reaches gunicorn from loopback here
        }
        self.queue = queue
        self.running: dict[str, tuple[subprocess.Popen[str], _Output]] = {}

    def service(self, name: str) -> compose.Service:
        return compose.service(self.spec, name, self.swaps)

    def environment(self, name: str, instance: str, **extra: str) -> dict[str, str]:
        """The service's compose environment plus what the image and the host provide: the
        image's STATIC_ROOT and MPBRAZE_LOCAL_DIR (one per container), PATH to this venv, the
        test's private queue and gunicorn's bind address on a free loopback port."""
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
        env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
        env |= self.service(name).environment
        env |= {
            "STATIC_ROOT": str(self.tmp / "static"),
            "MPBRAZE_LOCAL_DIR": str(self.tmp / instance),
            "HOME": str(self.tmp / instance),  # gunicorn's control socket: one per container
            "MPBRAZE_CELERY_QUEUE": self.queue,
            "GUNICORN_CMD_ARGS": f"--bind {LOOPBACK}:{self.port}",
            "PYTHONUNBUFFERED": "1",
        }
        return env | extra

    def run(self, args: list[str], env: Mapping[str, str], timeout: float = 60) -> str:
        """A one-off command in a service's environment; its output, or fail with it."""
        done = subprocess.run(
            args, cwd=ROOT, env=dict(env), capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, instance: str, **extra: str) -> None:
        command = shlex.split(self.service(name).command)  # as Compose splits a string command
        if name == "worker":  # each container has a host name of its own, so each node a name
            command[-1] += f" --hostname={instance}@%h"
        self.running[instance] = _spawn(command, self.environment(name, instance, **extra))

    def healthy(self, name: str, instance: str, timeout: float = 60) -> None:
        """Poll the service's compose health check until it exits 0."""
        check = self.service(name).healthcheck
        assert check is not None, f"{name} has no health check"
        deadline = time.monotonic() + timeout
        while True:
            env = self.environment(name, instance)
            done = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode == 0:
                return
            process, output = self.running[instance]
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{instance}: {done.stderr}\n{output.tail()}")
            time.sleep(0.5)

    def terminate_all(self) -> dict[str, float]:
        """SIGTERM to every process at once, as ``docker compose stop``; seconds each took."""
        started = time.monotonic()
        for process, _ in self.running.values():
            process.terminate()
        took = {}
        for instance, (process, _) in self.running.items():
            deadline = started + self.service(instance.rstrip("0123456789")).stop_grace_seconds
            # The whole group: a shell that died of the signal while its child ran on (no
            # ``exec`` in the command) would leave the real process behind.
            while _group_alive(process.pid) or process.poll() is None:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            gone = process.poll() is not None and not _group_alive(process.pid)
            took[instance] = time.monotonic() - started if gone else float("inf")
        return took

    def log(self, instance: str, lines: int = 80) -> str:
        return self.running[instance][1].tail(lines)

    def stop(self) -> None:
        for process, _ in self.running.values():
            _stop(process, 5)
