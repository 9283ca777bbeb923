"""A million events stored: one user's events of the last 7 days come through the identity
expression indexes, and every request (list, poll, filtered scan) answers in well under a
second (issue 25, point 2 and "Bad input"). PostgreSQL's plans, as issue 7 showed the claim's."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connections.live.filters import LiveFilters
from connections.live.selectors import live_events_page
from connections.models import Connection, InboundBatch
from tests.connections.live.live_helpers import custom, outputs, receive
from tests.services import require_postgresql

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BATCHES = 100_000  # of ten events each: a million events
EVENTS = (
    "[" + ",".join(['{"event_type": "custom_event", "data": {"event_name": "Tap"}}'] * 10) + "]"
)


def seed_a_million_events(connection: Connection) -> None:
    """Batches of ten events for 20,000 users, straight into the table as ingest leaves them."""
    with db.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO connections_inboundbatch (connection_id, received_at, source_request_id,
                content_hash, historical, payload, status, map_attempts, error, enqueue_count)
            SELECT %s, now() - (n || ' seconds')::interval, '', md5(n::text), false,
                jsonb_build_object(
                    'mpid', 100000 + n %% 20000,
                    'user_identities', jsonb_build_object(
                        'customer_id', 'user-' || (n %% 20000),
                        'email', 'user-' || (n %% 20000) || '@example.com'),
                    'device_info', jsonb_build_object('platform', 'iOS'),
                    'events', %s::jsonb),
                'kit', 0, '', 0
            FROM generate_series(1, {BATCHES}) AS n
            """,  # noqa: S608 (a constant)
            [connection.pk, EVENTS],
        )
        cursor.execute("ANALYZE connections_inboundbatch")


def timed(read: Callable[[], Any]) -> tuple[Any, float, list[str]]:
    with CaptureQueriesContext(db) as captured:
        started = time.perf_counter()
        result = read()
        elapsed = time.perf_counter() - started
    return result, elapsed, [q["sql"] for q in captured.captured_queries]


def plan_of(sql: str) -> str:
    with db.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def million(connection: Connection) -> Connection:
    require_postgresql()
    outputs(connection)
    seed_a_million_events(connection)
    receive(connection, custom("Checkout"), user="ada", mpid=77, email="ada@example.com")
    return connection


def test_one_users_events_of_7_days_are_found_through_the_identity_indexes_in_under_a_second(
    million: Connection,
) -> None:
    for user in ("user-42", "100042", "user-42@example.com"):
        filters = LiveFilters(user=user, window="7d")
        page, elapsed, queries = timed(
            partial(live_events_page, connection=million, filters=filters, limit=200)
        )
        assert len(page.events) == 50  # 5 batches of this user, 10 events each
        assert {e.slot.user for e in page.events} == {"user-42"}
        assert elapsed < 1.0, elapsed
        [batches] = [q for q in queries if 'FROM "connections_inboundbatch"' in q]
        plan = plan_of(batches)
        for index in ("batch_user_mpid", "batch_user_customer_id", "batch_user_email"):
            assert index in plan, plan
        assert "Seq Scan" not in plan, plan


def test_the_newest_page_a_poll_and_a_filtered_scan_each_answer_in_bounded_time(
    million: Connection,
) -> None:
    newest, elapsed, queries = timed(
        lambda: live_events_page(connection=million, filters=LiveFilters(), limit=50)
    )
    assert newest.events[0].slot.event_name == "Checkout"
    assert elapsed < 1.0, elapsed
    assert plan_of(queries[1]).startswith("Limit"), queries[1]  # read newest first, no sort

    assert newest.newest is not None
    polled, elapsed, _ = timed(
        lambda: live_events_page(connection=million, filters=LiveFilters(), after=newest.newest)
    )
    assert (polled.events, elapsed < 1.0) == ([], True)

    scanned, elapsed, _ = timed(
        lambda: live_events_page(connection=million, filters=LiveFilters(event_name="nothing"))
    )
    assert scanned.events == []
    assert scanned.searched_back_to is not None
    assert scanned.next_cursor is not None
    assert elapsed < 1.0, elapsed
    assert InboundBatch.objects.filter(connection=million).count() == BATCHES + 1


def test_a_small_connection_beside_a_big_one_is_read_through_its_own_index(
    million: Connection,
) -> None:
    small = Connection.objects.create(name="Small", slug="small", inbound_key="small-key")
    receive(small, custom("Opened"), mapped=False)
    db.cursor().execute("ANALYZE connections_inboundbatch")

    page, elapsed, queries = timed(
        lambda: live_events_page(connection=small, filters=LiveFilters(event_name="Opened"))
    )

    assert [e.slot.event_name for e in page.events] == ["Opened"]
    [batches] = [q for q in queries if 'FROM "connections_inboundbatch"' in q]
    plan = plan_of(batches)
    assert "batch_connection_id" in plan, plan
    assert elapsed < 1.0, elapsed
