"""The throttle's sliding window: never more failures than its limit in any window-long span,
counted in one round trip to check and one to record (Redis when REDIS_URL is set, else the
local-memory cache)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import redis

from mpbraze import throttle
from mpbraze.throttle import Limit, Throttle
from tests.services import redis_url

BOUNDARY = 1_800_000_000.0  # a multiple of 60 s and 900 s


def attempt(limit: Limit, moment: float, monkeypatch: pytest.MonkeyPatch) -> bool:
    """One failed attempt at ``moment``: True when it was let through and counted."""
    monkeypatch.setattr(throttle, "clock", lambda: moment)
    attempt_throttle = Throttle([limit])
    if attempt_throttle.retry_after():
        return False
    attempt_throttle.record_failure()
    return True


def most_in_any_window(moments: list[float], window: float) -> int:
    return max(sum(1 for other in moments if start <= other < start + window) for start in moments)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_window_long_span_lets_more_failures_through_than_the_limit(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    chance = random.Random(seed)
    limit = Limit("sliding-test", f"subject-{seed}", 30, 60)
    moments = sorted(BOUNDARY + chance.uniform(-200, 200) for _ in range(600))
    admitted = [moment for moment in moments if attempt(limit, moment, monkeypatch)]

    assert most_in_any_window(admitted, 60) == 30
    assert len(admitted) >= 30 * 400 // 70  # it reopens: at least the limit per 70 s


def test_a_burst_at_the_end_of_a_window_is_not_followed_by_another_at_the_start_of_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = Limit("sliding-test", "burst", 60, 60)
    end = [attempt(limit, BOUNDARY - 1, monkeypatch) for _ in range(60)]
    start = [attempt(limit, BOUNDARY + 1, monkeypatch) for _ in range(60)]

    assert (end.count(True), start.count(True)) == (60, 0)
    monkeypatch.setattr(throttle, "clock", lambda: BOUNDARY + 1)
    assert Throttle([limit]).retry_after() == 59


def test_a_limit_of_zero_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = Limit("sliding-test", "off", 0, 60)

    assert all(attempt(limit, BOUNDARY, monkeypatch) for _ in range(100))


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every command or pipeline redis-py sends to the server, as one entry each."""
    redis_url()  # skips, or fails under MPBRAZE_REQUIRE_SERVICES=1, without Redis
    Throttle([Limit("trips", "warm-up", 1, 60)]).retry_after()  # connected before counting
    sent: list[Any] = []
    real: Callable[..., None] = redis.connection.Connection.send_packed_command

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        real(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", send)
    return sent


def test_checking_three_limits_and_recording_a_failure_take_one_round_trip_each(
    round_trips: list[Any],
) -> None:
    limits = [Limit("trips", f"subject-{n}", 10, window) for n, window in enumerate([60, 60, 900])]
    checked = Throttle(limits, trusted="someone")
    checked.retry_after()
    checked.retry_after(checked=True)
    assert len(round_trips) == 1

    checked.record_failure()

    assert len(round_trips) == 2
