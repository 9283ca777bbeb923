"""Failed sign-ins on /login/ and /admin/login/ are throttled per username and address."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from mpbraze import throttle
from tests.conftest import PASSWORD
from tests.responses import TestResponse

pytestmark = pytest.mark.django_db
ATTACKER = "198.51.100.7"
OTHER = "203.0.113.9"


def sign_in(path: str, username: str, password: str, address: str) -> TestResponse:
    client = Client(REMOTE_ADDR=address)
    return client.post(path, {"username": username, "password": password})


def wrong_passwords(path: str, username: str, address: str, count: int) -> list[int]:
    return [sign_in(path, username, f"guess-{n}", address).status_code for n in range(count)]


@pytest.fixture
def limits(settings: Any) -> None:
    """Low limits: each failure below them costs a password hash (about half a second here)."""
    settings.MPBRAZE_LOGIN_FAILURES_PER_15_MINUTES = 5
    settings.MPBRAZE_LOGIN_ADDRESS_FAILURES_PER_15_MINUTES = 8
    settings.MPBRAZE_LOGIN_USERNAME_FAILURES_PER_15_MINUTES = 100


@pytest.mark.usefixtures("limits")
def test_two_hundred_wrong_passwords_end_in_429_with_retry_after(marketer: User) -> None:
    statuses = wrong_passwords("/login/", "marketer", ATTACKER, 200)

    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    response = sign_in("/login/", "marketer", "guess-201", ATTACKER)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 975  # 15 minutes, and up to a 75 s slot more
    page = response.content.decode()
    assert "Too many failed sign-ins: try again in" in page
    assert 'role="alert"' in page  # shown in the form, where the other sign-in errors are


@pytest.mark.usefixtures("limits")
def test_the_right_password_is_refused_from_the_throttled_address(marketer: User) -> None:
    wrong_passwords("/login/", "marketer", ATTACKER, 5)

    assert sign_in("/login/", "marketer", PASSWORD, ATTACKER).status_code == 429


@pytest.mark.usefixtures("limits")
def test_the_right_password_from_another_address_still_signs_in(marketer: User) -> None:
    wrong_passwords("/login/", "marketer", ATTACKER, 200)

    response = sign_in("/login/", "marketer", PASSWORD, OTHER)

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.usefixtures("limits")
def test_a_success_elsewhere_does_not_reopen_the_attackers_address(marketer: User) -> None:
    wrong_passwords("/login/", "marketer", ATTACKER, 5)

    assert sign_in("/login/", "marketer", PASSWORD, OTHER).status_code == 302
    assert sign_in("/login/", "marketer", "guess-6", ATTACKER).status_code == 429


@pytest.mark.usefixtures("limits")
def test_the_audit_admin_sign_in_is_throttled_the_same_way(auditor: User) -> None:
    statuses = wrong_passwords("/admin/login/", "auditor", ATTACKER, 200)

    assert set(statuses[5:]) == {429}
    refused = sign_in("/admin/login/", "auditor", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many failed sign-ins: try again in" in refused.content.decode()
    assert sign_in("/admin/login/", "auditor", PASSWORD, OTHER).status_code == 302


@pytest.mark.usefixtures("limits")
def test_one_address_guessing_many_usernames_is_stopped(marketer: User) -> None:
    statuses = [sign_in("/login/", f"user-{n}", "guess", ATTACKER).status_code for n in range(9)]

    assert statuses == [200] * 8 + [429]
    assert sign_in("/login/", "marketer", PASSWORD, OTHER).status_code == 302


def test_guesses_spread_over_addresses_stop_at_the_username_limit_but_not_its_owner(
    marketer: User, settings: Any
) -> None:
    settings.MPBRAZE_LOGIN_USERNAME_FAILURES_PER_15_MINUTES = 5
    assert sign_in("/login/", "marketer", PASSWORD, OTHER).status_code == 302
    statuses = [
        sign_in("/login/", "marketer", "guess", f"192.0.2.{n}").status_code for n in range(6)
    ]

    assert statuses == [200] * 5 + [429]
    assert sign_in("/login/", "marketer", PASSWORD, "192.0.2.99").status_code == 429
    assert sign_in("/login/", "marketer", PASSWORD, OTHER).status_code == 302


@pytest.mark.usefixtures("limits")
def test_the_throttle_slides_over_a_window_boundary(
    marketer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    boundary = 1_800_000_000.0  # a multiple of 900 s
    monkeypatch.setattr(throttle, "clock", lambda: boundary - 1)
    wrong_passwords("/login/", "marketer", ATTACKER, 5)
    monkeypatch.setattr(throttle, "clock", lambda: boundary + 1)
    refused = sign_in("/login/", "marketer", PASSWORD, ATTACKER)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "899"
    assert "Too many failed sign-ins: try again in 15 minutes." in refused.content.decode()

    monkeypatch.setattr(throttle, "clock", lambda: boundary + 1 + 899)

    assert sign_in("/login/", "marketer", PASSWORD, ATTACKER).status_code == 302


def test_the_client_address_is_taken_from_the_trusted_proxy_hop(
    settings: Any, rf: RequestFactory
) -> None:
    settings.MPBRAZE_TRUSTED_PROXY_HOPS = 1
    request = rf.get(
        "/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )

    assert throttle.client_address(request) == "198.51.100.7"
    settings.MPBRAZE_TRUSTED_PROXY_HOPS = 0
    assert throttle.client_address(request) == "10.0.0.2"
