"""The compose file's worker health check follows consumption: it fails once the worker lost
its broker, and passes again when the worker consumes again."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.production.stack import Stack
from tests.reliability.processes import ROOT, RedisServer
from tests.services import require_postgresql

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def health_check_output(stack: Stack) -> tuple[int, str]:
    check = stack.service("worker").healthcheck
    assert check is not None
    env = stack.environment("worker", "worker1")
    done = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    return done.returncode, done.stderr


def wait_for_status(stack: Stack, status: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while (got := health_check_output(stack))[0] != status:
        assert time.monotonic() < deadline, f"still {got} after {timeout:.0f} s"
        time.sleep(0.5)
    return got[1]


def test_the_worker_health_check_fails_while_the_broker_is_gone(
    tmp_path: Path, transactional_db: None
) -> None:
    require_postgresql()
    redis = RedisServer(tmp_path / "redis")
    stack = Stack(tmp_path, redis.url, queue=f"mpbraze-prod-{uuid.uuid4().hex[:8]}")
    try:
        stack.start("worker", "worker1")
        stack.healthy("worker", "worker1")
        redis.kill()
        message = wait_for_status(stack, 1, timeout=20)
        assert message.endswith("worker-heartbeat is missing: the worker is not consuming\n")
        redis.start()
        wait_for_status(stack, 0, timeout=40)
    finally:
        stack.stop()
        redis.stop()
