"""Settings: embedded defaults, production refusals and Django's deploy checklist."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#Kq9!vLm2@pR4$tW6^yZ8&bN1*cF3(hJ5)dG0-sA+eU=iO_" + "Qw",
    "MPBRAZE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "mpbraze.example.com",
}


def manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for themselves; a deployment never does.
    dropped = {*PRODUCTION, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    clean |= {"MPBRAZE_LOCAL_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_pass_the_deploy_checklist(tmp_path: Path) -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_production_refuses_to_start_without_encryption_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "MPBRAZE_ENCRYPTION_KEYS"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "MPBRAZE_ENCRYPTION_KEYS must be set when DEBUG is off." in result.stderr


def test_development_secrets_are_generated_once_into_the_local_folder(tmp_path: Path) -> None:
    first = manage("check", env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    secrets_file = tmp_path / "dev-secrets.env"
    content = secrets_file.read_text()
    assert content.startswith("SECRET_KEY=")
    manage("check", env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert secrets_file.read_text() == content
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"


def test_a_lease_no_longer_than_the_task_time_limit_is_refused(tmp_path: Path) -> None:
    env = {"MPBRAZE_TASK_TIME_LIMIT_SECONDS": "300", "MPBRAZE_OUTBOX_LEASE_SECONDS": "300"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "MPBRAZE_OUTBOX_LEASE_SECONDS (300) must be longer than the task time limit" in (
        result.stderr
    )


def test_a_forwarding_budget_past_the_soft_time_limit_is_refused(tmp_path: Path) -> None:
    env = {"MPBRAZE_TASK_TIME_LIMIT_SECONDS": "60", "MPBRAZE_FORWARD_BUDGET_SECONDS": "50"}
    result = manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "must be shorter than the task's soft time limit (48 s)" in result.stderr
