"""The fault-injection harness itself: its Redis dies and returns empty, its workers' pool
processes are found and replaced, its web server serves, and its ledger adds up.

Nothing here depends on how deliveries behave; the reliability tests build on these parts.
"""

from __future__ import annotations

import kombu.exceptions
import pytest

from connections import services
from connections.models import InboundBatch
from tests.conftest import TEST_QUEUE
from tests.reliability.harness import (
    Ledger,
    Poster,
    RedisServer,
    StartWeb,
    StartWorker,
    assert_all_answered,
    assert_balanced,
    enqueue,
    own_redis,  # noqa: F401  (fixture)
    start_fault_worker,  # noqa: F401  (fixture)
    start_web_server,  # noqa: F401  (fixture)
)
from tests.reliability.processes import LOOPBACK, _group_alive, _proc_children, port_open


@pytest.mark.integration
def test_own_redis_dies_and_restarts_empty_on_the_same_port(
    own_redis: RedisServer,  # noqa: F811
) -> None:
    assert own_redis.port != 6379
    assert own_redis.url == f"redis://{LOOPBACK}:{own_redis.port}/0"
    own_redis.client().set("before-the-kill", "1")

    own_redis.kill()
    assert not own_redis.ping()
    assert not port_open(own_redis.port)

    port = own_redis.port
    own_redis.restart()
    assert (own_redis.port, own_redis.ping()) == (port, True)
    assert own_redis.client().get("before-the-kill") is None
    assert own_redis.client().dbsize() == 0


@pytest.mark.integration
def test_enqueue_publishes_to_the_chosen_broker_and_fails_fast_when_it_is_down(
    own_redis: RedisServer,  # noqa: F811
) -> None:
    enqueue(own_redis.url, "mpbraze.deliveries_sweep")
    assert own_redis.client().llen(TEST_QUEUE) == 1

    own_redis.kill()
    with pytest.raises(kombu.exceptions.OperationalError):
        enqueue(own_redis.url, "mpbraze.deliveries_sweep")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_killed_pool_process_is_replaced_and_kill_all_leaves_nothing(
    start_fault_worker: StartWorker,  # noqa: F811
    own_redis: RedisServer,  # noqa: F811
) -> None:
    worker = start_fault_worker("harness", concurrency=2, beat=True)
    assert any(f"{LOOPBACK}:{own_redis.port}" in line for line in worker.log)
    assert own_redis.client().exists(f"_kombu.binding.{TEST_QUEUE}")

    pool = worker.child_pids()
    everything = _proc_children(worker.pid)
    assert len(pool) == 2
    assert len(everything) == 3  # the embedded beat process is a child but not in the pool

    victim = worker.kill_child()
    assert victim in pool
    replaced = worker.wait_children(2, without={victim}, timeout=10)
    assert victim not in replaced
    assert worker.alive()

    worker.kill_all()
    assert not worker.alive()
    assert not set(_proc_children(worker.pid)) & set(everything + replaced)
    assert not _group_alive(worker.pid)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_web_server_accepts_posted_batches_into_the_database(
    start_web_server: StartWeb,  # noqa: F811
) -> None:
    connection, secret = services.connection_create(name="Harness")
    web = start_web_server()
    poster = Poster(web.url, connection.inbound_key, secret, batches_per_request=3)

    posts = poster.post_many(4)

    assert_all_answered(posts, status=202, within=5)
    assert len(poster.accepted) == 4 * 3 * 4
    assert sorted(poster.accepted) == sorted(f"E{n}" for n in range(48))
    assert InboundBatch.objects.filter(connection=connection).count() == 4 * 3


LEDGER_CASES = [
    # expected, delivered (every copy), dead → accepted, delivered, dead, missing, duplicates
    pytest.param({"E1", "E2"}, ["E1", "E2"], set(), (2, 2, 0, 0, 0), True, id="all-once"),
    pytest.param({"E1", "E2"}, ["E1", "E1", "E2"], set(), (2, 2, 0, 0, 1), True, id="one-dup"),
    pytest.param({"E1", "E2", "E3"}, ["E1"], {"E3"}, (3, 1, 1, 1, 0), False, id="one-missing"),
    pytest.param({"E1", "E2"}, ["E1"], {"E2"}, (2, 1, 1, 0, 0), True, id="one-dead"),
    pytest.param({"E1"}, ["E1"], {"E1"}, (1, 1, 1, 0, 0), False, id="delivered-and-dead"),
    pytest.param({"E1"}, ["E1", "X9"], set(), (1, 1, 0, 0, 0), False, id="never-accepted"),
    pytest.param(set(), [], set(), (0, 0, 0, 0, 0), True, id="empty"),
]


@pytest.mark.parametrize(("expected", "delivered", "dead", "counts", "balanced"), LEDGER_CASES)
def test_the_ledger_reconciles(
    expected: set[str],
    delivered: list[str],
    dead: set[str],
    counts: tuple[int, int, int, int, int],
    balanced: bool,
) -> None:
    ledger = Ledger.compute(expected, delivered, dead, unknown_outcome=1)
    got = (ledger.accepted, ledger.delivered, ledger.dead, ledger.missing, ledger.duplicates)
    assert got == counts
    assert ledger.balanced is balanced
    if balanced:
        assert_balanced(ledger, max_duplicates=ledger.duplicates)
    else:
        with pytest.raises(AssertionError):
            assert_balanced(ledger, max_duplicates=10)


def test_the_ledger_line_and_the_duplicate_bound() -> None:
    expected = {f"E{n}" for n in range(5000)}
    dead = {f"E{n}" for n in range(75)}
    delivered = [f"E{n}" for n in range(75, 5000)] + [f"E{n}" for n in range(100, 175)]
    ledger = Ledger.compute(expected, delivered, dead, unknown_outcome=1)

    assert ledger.line() == (
        "ledger: accepted=5000 delivered=4925 dead=75 missing=0 duplicates=75 "
        "(unknown-outcome sends: 1)"
    )
    assert_balanced(ledger, max_duplicates=75)
    with pytest.raises(AssertionError, match="over 74"):
        assert_balanced(ledger, max_duplicates=74)


def test_unanswered_requests_may_or_may_not_have_been_delivered() -> None:
    ledger = Ledger.compute({"E1"}, ["E1", "E2"], set(), maybe_ids={"E2", "E3"})
    assert (ledger.unexpected, ledger.missing, ledger.balanced) == (0, 0, True)
