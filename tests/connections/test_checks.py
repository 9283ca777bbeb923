"""``manage.py check --deploy`` warns about settings that only belong on a developer's machine."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from connections.hooks.events import EVENTS
from connections.hooks.services import hook_subscription_create
from connections.system_checks import (
    LOCAL_ENDPOINTS_IN_PRODUCTION,
    PUBLIC_URL_INVALID,
    PUBLIC_URL_MISSING,
    local_endpoints_check,
    public_url_check,
)


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


def check_output() -> str:
    out, err = StringIO(), StringIO()
    try:
        call_command("check", stdout=out, stderr=err)
    except SystemCheckError as error:
        return str(error)
    return out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_the_check_fails_when_hooks_exist_without_a_public_url_and_debug_is_off(
    settings: Any, ops: Any
) -> None:
    settings.DEBUG = False
    settings.MPBRAZE_PUBLIC_URL = ""
    assert public_url_check() == []  # no hook yet: nothing links anywhere
    hook_subscription_create(user=ops, target_url="https://hooks.example.com/in", events=EVENTS)
    output = check_output()
    assert f"({PUBLIC_URL_MISSING}) MPBRAZE_PUBLIC_URL must be set when REST hooks exist" in output
    settings.MPBRAZE_PUBLIC_URL = "https://mpbraze.example.com"
    assert public_url_check() == []
    settings.DEBUG, settings.MPBRAZE_PUBLIC_URL = True, ""
    assert public_url_check() == []


@pytest.mark.parametrize("value", ["mpbraze.example.com", "ftp://mpbraze.example.com", "https://"])
def test_the_check_names_a_public_url_that_is_not_an_absolute_http_url(
    settings: Any, value: str
) -> None:
    settings.MPBRAZE_PUBLIC_URL = value
    (error,) = public_url_check()
    assert error.id == PUBLIC_URL_INVALID
    assert error.msg == f"MPBRAZE_PUBLIC_URL is not an absolute http(s) URL: {value!r}."
