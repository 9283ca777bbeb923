"""REST API: bearer tokens that fail to authenticate are throttled per address and per token
prefix; a valid token is never refused, whatever its address or prefix has seen."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.api.tokens import api_token_create
from mpbraze import throttle

pytestmark = pytest.mark.django_db
ATTACKER = "198.51.100.7"
OPS_HOST = "203.0.113.9"
GUESS = "mpb_{prefix}_" + "A" * 43


@pytest.fixture(autouse=True)
def limits(settings: Any) -> None:
    settings.MPBRAZE_API_AUTH_ADDRESS_FAILURES_PER_MINUTE = 60
    settings.MPBRAZE_API_AUTH_PREFIX_FAILURES_PER_MINUTE = 20


@pytest.fixture
def valid(ops: User) -> str:
    return api_token_create(user=ops, scopes=["read"])[1]


def call(token: str, address: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(REMOTE_ADDR=address).get("/api/v1/connections", headers=headers)


def prefix_of(token: str) -> str:
    return token.split("_")[1]


def test_two_hundred_bad_tokens_from_one_address_end_in_429_with_retry_after() -> None:
    statuses = [call(f"mpb_guess-{n}", ATTACKER).status_code for n in range(200)]

    assert statuses[:60] == [401] * 60
    assert set(statuses[60:]) == {429}
    refused = call("mpb_guess-201", ATTACKER)
    assert 1 <= int(refused["Retry-After"]) <= 65
    assert refused["Content-Type"].startswith("application/json")
    [error] = refused.json()["errors"]
    assert error["code"] == "throttled"
    assert error["message"].startswith("Too many requests with a bad API token from this address")


def test_a_valid_token_from_the_throttled_address_still_works(valid: str) -> None:
    for n in range(61):
        call(f"mpb_guess-{n}", ATTACKER)
    assert call("mpb_guess", ATTACKER).status_code == 429

    assert call(valid, ATTACKER).status_code == 200


def test_guesses_at_one_prefix_from_many_addresses_stop_at_the_prefix_limit(valid: str) -> None:
    guess = GUESS.format(prefix=prefix_of(valid))
    statuses = [call(guess, f"192.0.2.{n}").status_code for n in range(25)]

    assert statuses == [401] * 20 + [429] * 5
    assert call(GUESS.format(prefix="b" * 12), "192.0.2.99").status_code == 401
    assert call(valid, "192.0.2.99").status_code == 200


def test_a_revoked_or_unknown_token_counts_but_a_missing_one_does_not() -> None:
    for _ in range(100):
        assert call("", ATTACKER).status_code == 401
    statuses = [call(GUESS.format(prefix=f"{n:012d}"), ATTACKER).status_code for n in range(61)]

    assert statuses == [401] * 60 + [429]


def test_other_addresses_are_not_throttled_by_one_address(valid: str) -> None:
    for n in range(61):
        call(f"mpb_guess-{n}", ATTACKER)

    assert call("mpb_guess", OPS_HOST).status_code == 401


def test_a_valid_token_never_reaches_the_throttles_store(
    valid: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens: any use of it is logged
    caplog.set_level(logging.WARNING, logger="mpbraze.throttle")

    assert call(valid, ATTACKER).status_code == 200
    assert caplog.messages == []
    assert call("mpb_guess", ATTACKER).status_code == 401  # a bad one is let through, logged
    assert "Throttle counters unavailable" in caplog.text


def test_the_api_throttle_slides_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    now = 1_800_000_000.0  # a minute boundary
    monkeypatch.setattr(throttle, "clock", lambda: now - 1)
    assert [call(f"mpb_end-{n}", ATTACKER).status_code for n in range(60)] == [401] * 60

    monkeypatch.setattr(throttle, "clock", lambda: now + 1)
    assert {call(f"mpb_start-{n}", ATTACKER).status_code for n in range(60)} == {429}

    monkeypatch.setattr(throttle, "clock", lambda: now + 60)
    assert call("mpb_later", ATTACKER).status_code == 401
