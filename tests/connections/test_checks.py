"""``manage.py check --deploy`` warns about settings that only belong on a developer's machine."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from connections.checks import LOCAL_ENDPOINTS_IN_PRODUCTION, local_endpoints_check


@pytest.fixture(autouse=True)
def _a_deployment_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a deployment runs: whatever an earlier test in this process left in the environment
    (the browser tests allow the ORM beside Playwright's loop) is not seen here."""
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


def deploy_check_output() -> str:
    out, err = StringIO(), StringIO()
    call_command("check", "--deploy", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_check_deploy_warns_when_local_endpoints_are_allowed_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    output = deploy_check_output()
    assert f"({LOCAL_ENDPOINTS_IN_PRODUCTION}) MPBRAZE_ALLOW_LOCAL_ENDPOINTS is on" in output
    assert "Set MPBRAZE_ALLOW_LOCAL_ENDPOINTS=0 in production" in output


@pytest.mark.parametrize(
    ("debug", "allow_local"), [(False, False), (True, True)], ids=["production", "development"]
)
def test_check_deploy_is_quiet_about_endpoints_otherwise(
    settings: Any, debug: bool, allow_local: bool
) -> None:
    settings.DEBUG = debug
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = allow_local
    assert local_endpoints_check() == []
    assert LOCAL_ENDPOINTS_IN_PRODUCTION not in deploy_check_output()


def test_the_plain_check_does_not_run_the_deploy_warning(settings: Any) -> None:
    settings.DEBUG = False
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    out = StringIO()
    call_command("check", stdout=out)
    assert LOCAL_ENDPOINTS_IN_PRODUCTION not in out.getvalue()
