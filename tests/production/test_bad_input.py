"""Bad input at start: a missing production setting or an unreachable database or broker stops
the process with one line naming the variable or the host, never a traceback."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.mpbraze.test_settings import PRODUCTION, manage
from tests.production import compose
from tests.reliability.processes import free_port

# Every variable docker-compose.yml requires (``${NAME:?…}``) must be refused by the settings too.
REQUIRED = sorted(
    {
        m["name"]
        for m in compose._VARIABLE.finditer(compose.COMPOSE_FILE.read_text())
        if m["op"] == ":?"
    }
)


def test_the_compose_file_requires_the_secrets_and_the_host_names() -> None:
    assert REQUIRED == ["ALLOWED_HOSTS", "MPBRAZE_ENCRYPTION_KEYS", "SECRET_KEY"]


@pytest.mark.parametrize("name", REQUIRED)
def test_production_refuses_to_start_without_each_required_setting(
    name: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"{name} must be set when DEBUG is off." in result.stderr


def services_env(database_url: str, redis_url: str) -> dict[str, str]:
    return PRODUCTION | {"DATABASE_URL": database_url, "REDIS_URL": redis_url}


def test_preflight_names_the_database_host_it_cannot_reach(tmp_path: Path) -> None:
    port = free_port()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = services_env(f"postgres://mpbraze:secret@127.0.0.1:{port}/mpbraze", redis_url)
    started = time.monotonic()
    result = manage("preflight", env=env, tmp_path=tmp_path)
    assert result.returncode == 1
    assert f"cannot reach the database at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr
    assert time.monotonic() - started < 15


def test_preflight_names_the_broker_host_it_cannot_reach(tmp_path: Path) -> None:
    port = free_port()
    env = services_env("sqlite:///" + str(tmp_path / "db.sqlite3"), f"redis://127.0.0.1:{port}/0")
    result = manage("preflight", env=env, tmp_path=tmp_path)
    assert result.returncode == 1
    assert f"cannot reach the broker at redis://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def heartbeat_check(tmp_path: Path, heartbeat: Path) -> tuple[int, str]:
    env = PRODUCTION | {"MPBRAZE_WORKER_HEARTBEAT_FILE": str(heartbeat)}
    result = manage("healthcheck", "worker", env=env, tmp_path=tmp_path)
    return result.returncode, result.stderr


def test_the_worker_health_check_fails_on_a_missing_or_stale_heartbeat(tmp_path: Path) -> None:
    heartbeat = tmp_path / "worker-heartbeat"
    assert heartbeat_check(tmp_path, heartbeat) == (
        1,
        f"CommandError: {heartbeat} is missing: the worker is not consuming\n",
    )
    heartbeat.touch()
    assert heartbeat_check(tmp_path, heartbeat) == (0, "")
    os.utime(heartbeat, (time.time() - 300, time.time() - 300))
    status, message = heartbeat_check(tmp_path, heartbeat)  # the command takes a second
    assert status == 1
    assert re.fullmatch(
        f"CommandError: {heartbeat} is 30[0-9] s old: the worker stopped consuming\n", message
    )
