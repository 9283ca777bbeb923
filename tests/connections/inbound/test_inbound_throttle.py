"""Inbound API: wrong credentials are throttled per key at one address, per address and per key
from all addresses (that limit never refuses the right secret), in sliding windows."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from connections import services
from connections.delivery.models import InboundBatch
from connections.models import Connection
from mpbraze import throttle
from tests.connections.inbound_helpers import Sender, basic, sdk_batch

pytestmark = pytest.mark.django_db
ATTACKER = "198.51.100.7"
MPARTICLE = "203.0.113.9"
BOUNDARY = 1_800_000_000.0  # a multiple of every window (60 s, 900 s)


@pytest.fixture
def sender(connection: Connection) -> Sender:
    return Sender(Client(), connection)


@pytest.fixture(autouse=True)
def limits(settings: Any) -> None:
    settings.MPBRAZE_INBOUND_AUTH_FAILURES_PER_MINUTE = 60
    settings.MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE = 600
    settings.MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE = 600


def post(sender: Sender, secret: str, address: str, key: str = "") -> Any:
    header = basic(key or sender.key, secret)
    return sender.post("/v2/events", sdk_batch(), HTTP_AUTHORIZATION=header, REMOTE_ADDR=address)


def test_two_hundred_wrong_secrets_end_in_429_with_retry_after(sender: Sender) -> None:
    statuses = [post(sender, f"guess-{n}", ATTACKER).status_code for n in range(200)]

    assert statuses[:60] == [403] * 60
    assert set(statuses[60:]) == {429}
    refused = post(sender, sender.secret, ATTACKER)  # not even the right one is checked now
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 65  # a minute, and up to one 5 s slot more
    [error] = refused.json()["errors"]
    assert error["code"] == "TOO_MANY_REQUESTS"
    assert error["message"].startswith(
        "Too many requests with a wrong inbound key or secret from this address"
    )
    assert not InboundBatch.objects.exists()


def test_the_right_secret_from_another_address_is_still_accepted(sender: Sender) -> None:
    for n in range(200):
        post(sender, f"guess-{n}", ATTACKER)

    assert post(sender, sender.secret, MPARTICLE).status_code == 202
    assert InboundBatch.objects.count() == 1


def test_a_wrong_secret_of_one_key_does_not_block_another_key_at_the_same_address(
    sender: Sender,
) -> None:
    misconfigured = Sender(Client(), services.connection_create(name="Old setup")[0])
    for n in range(61):
        post(misconfigured, f"stale-secret-{n}", MPARTICLE)

    assert post(misconfigured, "stale-secret", MPARTICLE).status_code == 429
    assert post(sender, sender.secret, MPARTICLE).status_code == 202


def test_unknown_keys_from_one_address_are_stopped_at_the_address_limit(
    sender: Sender, settings: Any
) -> None:
    settings.MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE = 20
    statuses = [post(sender, "x", ATTACKER, key=f"mpb_{n:04x}").status_code for n in range(21)]

    assert statuses == [403] * 20 + [429]
    assert post(sender, sender.secret, MPARTICLE).status_code == 202


def at(monkeypatch: pytest.MonkeyPatch, moment: float) -> None:
    monkeypatch.setattr(throttle, "clock", lambda: moment)


def test_sixty_wrong_secrets_either_side_of_a_minute_boundary_are_not_all_checked(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, BOUNDARY - 1)
    assert [post(sender, f"end-{n}", ATTACKER).status_code for n in range(60)] == [403] * 60

    at(monkeypatch, BOUNDARY + 1)
    refused = post(sender, sender.secret, ATTACKER)

    assert {post(sender, f"start-{n}", ATTACKER).status_code for n in range(60)} == {429}
    assert (refused.status_code, refused["Retry-After"]) == (429, "59")


def test_random_keys_either_side_of_a_minute_boundary_stop_at_the_address_limit(
    sender: Sender, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MPBRAZE_INBOUND_AUTH_ADDRESS_FAILURES_PER_MINUTE = 20
    at(monkeypatch, BOUNDARY - 1)
    end = [post(sender, "x", ATTACKER, key=f"mpb_end{n}").status_code for n in range(20)]
    at(monkeypatch, BOUNDARY + 1)
    start = [post(sender, "x", ATTACKER, key=f"mpb_start{n}").status_code for n in range(20)]

    assert (end, start) == ([403] * 20, [429] * 20)


def test_the_inbound_throttle_reopens_when_its_retry_after_says(
    sender: Sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, BOUNDARY - 1)
    for n in range(60):
        post(sender, f"guess-{n}", ATTACKER)
    at(monkeypatch, BOUNDARY + 59)
    refused = post(sender, sender.secret, ATTACKER)
    assert (refused.status_code, refused["Retry-After"]) == (429, "1")

    at(monkeypatch, BOUNDARY + 60)

    assert post(sender, sender.secret, ATTACKER).status_code == 202


def test_wrong_secrets_for_one_key_from_many_addresses_end_in_429_at_the_key_limit(
    sender: Sender, settings: Any
) -> None:
    settings.MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE = 100
    addresses = [f"192.0.2.{n}" for n in range(1, 51)]
    statuses = [
        post(sender, f"guess-{n}", address).status_code for n in range(3) for address in addresses
    ]

    assert statuses == [403] * 100 + [429] * 50
    refused = post(sender, "guess", "192.0.2.200")
    assert 1 <= int(refused["Retry-After"]) <= 65
    [error] = refused.json()["errors"]
    assert error["code"] == "TOO_MANY_REQUESTS"
    assert error["message"].startswith("Too many requests with a wrong secret for this inbound key")


def test_the_right_secret_is_accepted_from_any_address_while_its_key_is_over_the_key_limit(
    sender: Sender, settings: Any
) -> None:
    settings.MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE = 100
    for n in range(120):
        post(sender, f"guess-{n}", f"192.0.2.{n % 60 + 1}")
    assert post(sender, "guess", "192.0.2.1").status_code == 429

    assert post(sender, sender.secret, "192.0.2.1").status_code == 202
    assert post(sender, sender.secret, "192.0.2.250").status_code == 202
    assert post(sender, sender.secret, MPARTICLE).status_code == 202


def test_the_key_limit_of_one_key_leaves_other_keys_alone(sender: Sender, settings: Any) -> None:
    settings.MPBRAZE_INBOUND_AUTH_KEY_FAILURES_PER_MINUTE = 100
    other = Sender(Client(), services.connection_create(name="Other")[0])
    for n in range(101):
        post(sender, f"guess-{n}", f"192.0.2.{n % 60 + 1}")

    assert post(other, "stale-secret", "192.0.2.1").status_code == 403
