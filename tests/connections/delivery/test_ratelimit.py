"""The per-workspace rate limiter, on both backends, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connections.delivery import ratelimit
from connections.delivery.ratelimit import (
    Backend,
    FileBackend,
    Rate,
    RateLimiter,
    RedisBackend,
    workspace_key,
)
from tests.services import redis_url

RATE = Rate(limit=5, window=0.5)
TOLERANCE = 0.05  # the limiter's own clock reads and file or Redis round trips
BackendFactory = Callable[[], Backend]
# When a slot was granted is known to lie between a clock read before ``acquire`` and one after
# it: the checks below use only what those bounds prove, so a busy machine that delays a
# thread between the grant and the clock read cannot fail them.
Span = tuple[float, float]


@pytest.fixture(params=["file", "redis"])
def make_backend(request: pytest.FixtureRequest, tmp_path: Path) -> BackendFactory:
    """Builds a backend; every call shares the same storage, like separate workers do."""
    if request.param == "redis":
        url, prefix = redis_url(), f"mpbraze-test:{uuid.uuid4().hex}"
        return lambda: RedisBackend(url, prefix=prefix)
    return lambda: FileBackend(tmp_path / "ratelimit")


@pytest.fixture
def workspace() -> str:
    return workspace_key("rest.iad-01.braze.com", uuid.uuid4().hex)


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def waited_for_slot(limiter: RateLimiter, workspace: str, timeout: float) -> float:
    waited = limiter.acquire(workspace, timeout=timeout)
    assert waited is not None, "no slot within the timeout"
    return waited


def acquire_many(make_backend: BackendFactory, workspace: str, count: int) -> list[Span]:
    limiter = RateLimiter(make_backend(), RATE)
    spans = []
    for _ in range(count):
        before = time.time()
        waited_for_slot(limiter, workspace, 10)
        spans.append((before, time.time()))
    return spans


def assert_never_more_than_the_limit_per_window(spans: list[Span]) -> None:
    """No window-long stretch holds more grants than the limit: counted from each grant's
    earliest possible time, the grants that surely fell inside the stretch."""
    for start, _ in spans:
        inside = [s for s in spans if s[0] >= start and s[1] < start + RATE.window - TOLERANCE]
        assert len(inside) <= RATE.limit, sorted(spans)


def assert_spread_over_two_windows(spans: list[Span]) -> None:
    """Twelve grants at five a window: the last came two windows or more after the first."""
    assert max(after for _, after in spans) - min(before for before, _ in spans) >= (
        2 * RATE.window - TOLERANCE
    )


def test_threads_sharing_a_workspace_never_exceed_the_limit(
    make_backend: BackendFactory, workspace: str
) -> None:
    results: list[Span] = []

    def worker() -> None:
        results.extend(acquire_many(make_backend, workspace, 4))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12
    assert_never_more_than_the_limit_per_window(results)
    assert_spread_over_two_windows(results)


def _acquire_in_child(
    make_backend: BackendFactory, workspace: str, queue: multiprocessing.Queue[list[Span]]
) -> None:
    queue.put(acquire_many(make_backend, workspace, 4))


def spans_of_three_children(
    target: Callable[..., None], make_backend: BackendFactory, workspace: str
) -> list[Span]:
    """The grants of three processes each running ``target`` on one workspace."""
    context = multiprocessing.get_context("fork")  # like Celery's prefork pool
    queue: multiprocessing.Queue[list[Span]] = context.Queue()
    children = [
        context.Process(target=target, args=(make_backend, workspace, queue)) for _ in range(3)
    ]
    for child in children:
        child.start()
    results = [t for _ in children for t in queue.get(timeout=20)]
    for child in children:
        child.join(timeout=5)
        assert child.exitcode == 0
    return results


def test_processes_sharing_a_workspace_never_exceed_the_limit(
    make_backend: BackendFactory, workspace: str
) -> None:
    results = spans_of_three_children(_acquire_in_child, make_backend, workspace)
    assert len(results) == 12
    assert_never_more_than_the_limit_per_window(results)


def test_one_busy_workspace_does_not_slow_another(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    for _ in range(RATE.limit):
        limiter.acquire(workspace, timeout=0)
    assert waited_for_slot(limiter, workspace_key("rest.fra-01.braze.eu", "other"), 0) < 0.05
    assert limiter.acquire(workspace, timeout=0) is None


def test_slots_free_at_once_are_taken_in_one_call_and_the_rest_as_they_free(
    make_backend: BackendFactory, workspace: str
) -> None:
    backend = make_backend()
    assert backend.try_acquire(workspace, RATE, 3) == (3, 0.0)
    taken, wait = backend.try_acquire(workspace, RATE, 4)  # 2 slots left of 5
    assert taken == 2
    assert 0 < wait <= RATE.window
    limiter = RateLimiter(backend, RATE)
    before = time.time()
    taken, waited, slept = limiter.acquire_many(workspace, 7, timeout=10)
    assert (taken, slept) == (7, True)
    # 5 more once the first 5 expire, a window on; the last 2 once those expire, a window later
    assert time.time() - before >= 2 * RATE.window - TOLERANCE
    assert waited >= 2 * RATE.window - TOLERANCE


def test_slots_wanted_together_never_exceed_the_limit_across_processes(
    make_backend: BackendFactory, workspace: str
) -> None:
    results = spans_of_three_children(_acquire_in_bulk_in_child, make_backend, workspace)
    assert len(results) == 12
    assert_never_more_than_the_limit_per_window(results)
    assert_spread_over_two_windows(results)


def _acquire_in_bulk_in_child(
    make_backend: BackendFactory, workspace: str, queue: multiprocessing.Queue[list[Span]]
) -> None:
    """Four slots in calls of up to 3: each slot's span is its call's (taken within it)."""
    limiter, spans = RateLimiter(make_backend(), RATE), []
    for count in (3, 1):
        before = time.time()
        taken, _waited, _slept = limiter.acquire_many(workspace, count, timeout=10)
        assert taken == count
        spans += [(before, time.time())] * count
    queue.put(spans)


def test_slots_past_the_timeout_are_left_and_the_taken_ones_kept(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    assert limiter.acquire_many(workspace, 8, timeout=0)[:1] == (5,)
    assert limiter.backend.try_acquire(workspace, RATE)[0] == 0  # the 5 are spent


def test_a_remaining_count_of_zero_pauses_until_the_reset(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    limiter.observe(workspace, 0, in_seconds(0.4))
    assert 0.3 <= waited_for_slot(limiter, workspace, 2) < 0.8


def test_a_remaining_count_of_zero_without_a_reset_pauses_one_window(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    limiter.observe(workspace, 0, None)
    assert RATE.window - TOLERANCE <= waited_for_slot(limiter, workspace, 2) < 1.0


@pytest.mark.parametrize("remaining", [None, 1, 2500])
def test_remaining_requests_do_not_pause(
    make_backend: BackendFactory, workspace: str, remaining: int | None
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    limiter.observe(workspace, remaining, in_seconds(5))
    assert waited_for_slot(limiter, workspace, 0) < 0.5  # a pause would last about 5 s


def test_a_429_seen_by_one_worker_pauses_every_worker(
    make_backend: BackendFactory, workspace: str
) -> None:
    RateLimiter(make_backend(), RATE).block_until(workspace, in_seconds(0.4))
    other_worker = RateLimiter(make_backend(), RATE)
    assert 0.3 <= waited_for_slot(other_worker, workspace, 2) < 0.8


def test_a_pause_longer_than_the_timeout_gives_up_at_once(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    limiter.block_until(workspace, in_seconds(5))
    assert limiter.acquire_noting_waits(workspace, timeout=1) == (None, False)  # no sleep
    taken, wait = limiter.backend.try_acquire(workspace, RATE)
    assert taken == 0
    assert 4.5 < wait <= 5


def test_a_shorter_pause_never_cuts_a_longer_one_short(
    make_backend: BackendFactory, workspace: str
) -> None:
    limiter = RateLimiter(make_backend(), RATE)
    limiter.block_until(workspace, in_seconds(5))
    limiter.block_until(workspace, in_seconds(1))
    assert limiter.backend.try_acquire(workspace, RATE)[1] > 4.5


def test_a_pause_is_capped_at_one_hour(tmp_path: Path, workspace: str) -> None:
    limiter = RateLimiter(FileBackend(tmp_path), RATE)
    limiter.block_until(workspace, in_seconds(10 * 86400))
    assert 3590 < limiter.backend.try_acquire(workspace, RATE)[1] <= 3600


def test_a_pause_in_the_past_changes_nothing(tmp_path: Path, workspace: str) -> None:
    limiter = RateLimiter(FileBackend(tmp_path), RATE)
    limiter.block_until(workspace, in_seconds(-30))
    assert waited_for_slot(limiter, workspace, 0) < 0.5  # a pause would last about 5 s


def test_a_workspace_is_named_by_host_and_key_fingerprint_never_the_key() -> None:
    name = workspace_key("REST.iad-01.braze.com", "secret-key-123")
    assert name.startswith("rest.iad-01.braze.com/")
    assert "secret-key-123" not in name
    assert name == workspace_key("rest.iad-01.braze.com", "secret-key-123")
    assert name != workspace_key("rest.iad-01.braze.com", "secret-key-124")


@pytest.mark.parametrize(
    ("text", "rate"), [("3000/3", Rate(3000, 3.0)), ("5/0.5", Rate(5, 0.5)), ("10", Rate(10, 1))]
)
def test_it_reads_a_rate_as_requests_per_seconds(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "0/3", "5/0", "-1/3", "5/x"])
def test_it_refuses_a_rate_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="MPBRAZE_BRAZE_RATE_LIMIT must look like 3000/3"):
        Rate.parse(text)


def test_without_redis_the_limiter_keeps_its_state_in_files_under_local_dir(
    settings: Any, tmp_path: Path
) -> None:
    settings.REDIS_URL = ""
    settings.LOCAL_DIR = tmp_path
    settings.MPBRAZE_BRAZE_RATE_LIMIT = "2/60"
    limiter = ratelimit.limiter()
    assert isinstance(limiter.backend, FileBackend)
    assert limiter.backend.directory == tmp_path / "ratelimit"
    assert limiter.rate == Rate(2, 60)
    # Granted at once (the file lock's own time aside, which a loaded machine stretches),
    # then refused: the third token of 2 per minute would need a wait of about 30 s.
    assert ratelimit.acquire("ws", timeout=0) == pytest.approx(0, abs=0.5)
    assert ratelimit.acquire("ws", timeout=0) == pytest.approx(0, abs=0.5)
    assert ratelimit.acquire("ws", timeout=0) is None


def test_with_redis_configured_the_limiter_shares_state_through_redis(settings: Any) -> None:
    settings.REDIS_URL = redis_url()
    limiter = ratelimit.limiter()
    assert isinstance(limiter.backend, RedisBackend)
    assert limiter.rate == Rate(3000, 3.0)


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_the_user_data_bucket_has_its_own_rate_and_slots_beside_users_tracks(
    settings: Any, tmp_path: Path, backend: str
) -> None:
    settings.REDIS_URL = redis_url() if backend == "redis" else ""
    settings.LOCAL_DIR = tmp_path
    settings.MPBRAZE_BRAZE_RATE_LIMIT = "1/60"
    settings.MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT = "2/60"
    workspace = f"ws-{uuid.uuid4().hex}"
    user_data = ratelimit.Bucket.USER_DATA
    assert ratelimit.limiter(user_data).rate == Rate(2, 60)
    assert ratelimit.acquire(workspace, timeout=0) is not None
    assert ratelimit.acquire(workspace, timeout=0) is None  # /users/track's one slot is taken
    assert ratelimit.acquire(workspace, timeout=0, bucket=user_data) is not None
    assert ratelimit.acquire(workspace, timeout=0, bucket=user_data) is not None
    assert ratelimit.acquire(workspace, timeout=0, bucket=user_data) is None


def test_a_pause_of_the_user_data_bucket_leaves_users_track_alone(
    settings: Any, tmp_path: Path
) -> None:
    settings.REDIS_URL = ""
    settings.LOCAL_DIR = tmp_path
    workspace = f"ws-{uuid.uuid4().hex}"
    user_data = ratelimit.Bucket.USER_DATA
    ratelimit.block_until(workspace, datetime.now(UTC) + timedelta(minutes=5), bucket=user_data)
    assert ratelimit.acquire(workspace, timeout=0, bucket=user_data) is None
    assert ratelimit.acquire(workspace, timeout=0) is not None


def test_a_bad_user_data_rate_names_its_own_setting(settings: Any) -> None:
    settings.MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT = "lots"
    with pytest.raises(ValueError, match="MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT must look like"):
        ratelimit.limiter(ratelimit.Bucket.USER_DATA)
