"""Delivery at a glance: hourly figures from seeded rows, a fixed number of indexed queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from connections import services
from connections.delivery.intake import batch_content_hash
from connections.models import BrazeOutput, Delivery, InboundBatch
from connections.pages import glance
from mapping.issues import IssueKind
from mapping.models import MappingIssue
from tests.conftest import add_output
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 14, 37, tzinfo=UTC)
S = Delivery.Status
STRING_TRUNCATED = IssueKind.STRING_TRUNCATED.label


def at(hours_ago: float, minute: int = 0) -> datetime:
    """A moment ``hours_ago`` whole hours before NOW's hour, at ``minute`` past."""
    return NOW.replace(minute=minute) - timedelta(hours=hours_ago)


def hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def server_output(name: str) -> BrazeOutput:
    connection = services.connection_create(name=name)[0]
    add_output(connection, "ios", f"{name}-ios-key")
    return add_output(connection, "server", f"{name}-rest-key")


_batches = iter(range(1_000_000))


def seed(
    output: BrazeOutput, status: str, n: int = 1, *, created: datetime = NOW, **times: Any
) -> None:
    """``n`` outbox rows of ``output`` in ``status``, queued at ``created``, with ``times``."""
    payload = {"seed": next(_batches)}
    batch = InboundBatch.objects.create(
        connection=output.connection,
        content_hash=batch_content_hash(payload),
        payload=payload,
        status=InboundBatch.Status.MAPPED,
    )
    rows = Delivery.objects.bulk_create(
        Delivery(
            connection=output.connection,
            output=output,
            batch=batch,
            sequence=i,
            kind=Delivery.Kind.EVENTS,
            body={},
            user_key="u",
            status=status,
            next_attempt_at=created,
            **times,
        )
        for i in range(n)
    )
    # created_at is auto_now_add: set the moment the row was queued afterwards.
    Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(created_at=created)


def figures(series: glance.HourlySeries) -> dict[datetime, tuple[int, int, int]]:
    """The hours with anything in them: hour → (sent, failed, waiting)."""
    return {
        b.hour: (b.sent, b.failed, b.waiting)
        for b in series.buckets
        if b.sent or b.failed or b.waiting
    }


@pytest.fixture
def ours() -> BrazeOutput:
    return server_output("ours")


@pytest.fixture
def theirs() -> BrazeOutput:
    return server_output("theirs")


def test_the_sparkline_counts_each_hour_of_the_last_day_and_leaves_other_hours_at_zero(
    ours: BrazeOutput, theirs: BrazeOutput
) -> None:
    seed(ours, S.SENT, 3, created=at(0, 1), sent_at=at(0, 5))
    seed(ours, S.SENT, 2, created=at(3), sent_at=at(2, 59))
    seed(ours, S.SENT, 1, created=at(30), sent_at=at(24, 10))  # before the window
    seed(ours, S.DEAD, created=at(5), failed_at=at(1, 10))
    seed(ours, S.REJECTED, created=at(1), failed_at=at(1, 20))
    # Failed once, replayed and queued again: waiting now, not failed.
    seed(ours, S.QUEUED, created=at(4, 30), failed_at=at(2, 30))
    seed(ours, S.QUEUED, 2, created=at(4, 45))
    seed(ours, S.SENDING, created=at(0))
    seed(ours, S.DISCARDED, created=at(0), failed_at=at(0, 2), discarded_at=at(0, 3))
    seed(theirs, S.SENT, 5, created=at(0), sent_at=at(0, 5))

    sparklines = glance.connections_sparklines([ours.connection_id, theirs.connection_id], now=NOW)

    series = sparklines[ours.connection_id]
    assert series.hours == 24
    assert series.buckets[0].hour == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert series.buckets[-1].hour == datetime(2026, 12, 2, 14, tzinfo=UTC)
    assert figures(series) == {
        hour(at(0)): (3, 0, 1),
        hour(at(1)): (0, 2, 0),
        hour(at(2)): (2, 0, 0),
        hour(at(4)): (0, 0, 3),
    }
    assert (series.sent, series.failed, series.waiting) == (5, 2, 4)
    assert figures(sparklines[theirs.connection_id]) == {hour(at(0)): (5, 0, 0)}


def test_a_connection_without_rows_has_a_day_of_zeros(ours: BrazeOutput) -> None:
    series = glance.connections_sparklines([ours.connection_id], now=NOW)[ours.connection_id]

    assert [(b.sent, b.failed, b.waiting) for b in series.buckets] == [(0, 0, 0)] * 24


@pytest.mark.parametrize("connections", [1, 8])
def test_the_dashboard_figures_take_three_queries_however_many_connections_and_rows(
    connections: int, django_assert_max_num_queries: Any
) -> None:
    outputs = [server_output(f"c{n}") for n in range(connections)]
    for n, output in enumerate(outputs):
        seed(output, S.SENT, n + 1, sent_at=at(n))
        seed(output, S.DEAD, failed_at=at(n + 1))
        seed(output, S.QUEUED, created=at(n + 2))

    with django_assert_max_num_queries(3):
        sparklines = glance.connections_sparklines([o.connection_id for o in outputs], now=NOW)

    assert [s.sent for s in sparklines.values()] == list(range(1, connections + 1))


def test_the_connection_page_shows_seven_whole_days_by_hour_with_todays_later_hours_empty(
    ours: BrazeOutput, theirs: BrazeOutput
) -> None:
    seed(ours, S.SENT, 4, created=at(0), sent_at=at(0, 30))
    seed(ours, S.SENT, 6, created=at(100), sent_at=at(100, 1))
    seed(ours, S.SENT, 1, created=at(160), sent_at=at(160))  # 6 Dec 00:00 minus 2 h: too old
    seed(ours, S.DEAD, 2, created=at(100), failed_at=at(99, 59))
    seed(ours, S.QUEUED, 3, created=at(0, 10))
    seed(ours, S.QUEUED, 7, created=at(400))  # a month-old backlog still waits
    seed(theirs, S.SENT, 9, created=at(0), sent_at=at(0, 30))
    seed(theirs, S.QUEUED, 9, created=at(0))

    result = glance.server_output_glance(ours, now=NOW)

    series = result.series
    assert series.hours == 7 * 24
    assert series.buckets[0].hour == datetime(2026, 11, 26, 0, tzinfo=UTC)
    assert series.buckets[-1].hour == datetime(2026, 12, 2, 23, tzinfo=UTC)
    assert series.days == [datetime(2026, 11, 26 + n, tzinfo=UTC) for n in range(5)] + [
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    ]
    assert figures(series) == {
        hour(at(0)): (4, 0, 3),
        hour(at(99)): (0, 2, 0),
        hour(at(100)): (6, 0, 0),
    }
    assert result.queue_depth == 10
    assert result.last_sent_at == at(0, 30)
    assert result.failure_rate == pytest.approx(2 / 12)


def test_the_last_successful_send_is_found_before_the_window_and_none_without_any(
    ours: BrazeOutput, theirs: BrazeOutput
) -> None:
    seed(ours, S.SENT, created=at(500), sent_at=at(499))
    seed(theirs, S.QUEUED)

    assert glance.server_output_glance(ours, now=NOW).last_sent_at == at(499)
    nothing = glance.server_output_glance(theirs, now=NOW)
    assert nothing.last_sent_at is None
    assert nothing.failure_rate is None
    assert nothing.queue_depth == 1


def test_mapping_issues_are_summed_by_kind_for_this_output_only(
    ours: BrazeOutput, theirs: BrazeOutput
) -> None:
    issue(ours, "array_in_event_property", "events[].properties.tags", 40)
    issue(ours, "array_in_event_property", "events[].properties.sizes", 2)
    issue(ours, "string_truncated", "attributes.bio", 7)
    issue(theirs, "string_truncated", "attributes.bio", 1000)

    totals = glance.server_output_glance(ours, now=NOW).issues_by_kind

    assert [(t.kind, t.label, t.fields, t.count) for t in totals] == [
        ("array_in_event_property", "Array in an event property", 2, 42),
        ("string_truncated", STRING_TRUNCATED, 1, 7),
    ]


def issue(output: BrazeOutput, kind: str, path: str, count: int) -> None:
    MappingIssue.objects.create(
        connection=output.connection,
        output=output,
        kind=kind,
        field_path=path,
        action="dropped_field",
        count=count,
        first_seen=NOW,
        last_seen=NOW,
    )


def test_the_connection_page_figures_take_six_queries_however_many_rows(
    ours: BrazeOutput, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        seed(ours, S.SENT, 3, created=at(n * 5), sent_at=at(n * 5))
        seed(ours, S.REJECTED, created=at(n * 5), failed_at=at(n * 5))
    issue(ours, "string_truncated", "attributes.bio", 7)

    with django_assert_max_num_queries(6):
        result = glance.server_output_glance(ours, now=NOW)
        assert result.issues_by_kind  # evaluated inside the block

    assert (result.series.sent, result.series.failed) == (90, 30)


def test_objects_waiting_for_a_retry_count_as_not_delivered_in_the_failure_rate(
    ours: BrazeOutput,
) -> None:
    seed(ours, S.SENT, 22, created=at(2), sent_at=at(2))
    seed(ours, S.REJECTED, 6, created=at(2), failed_at=at(2))
    seed(ours, S.QUEUED, 3, created=at(1))  # never tried: waiting, not failed
    seed(ours, S.QUEUED, 4, created=at(1), attempts=2)

    result = glance.server_output_glance(ours, now=NOW)

    assert (result.series.failed, result.retrying, result.attempted) == (6, 4, 32)
    assert result.failure_percent == pytest.approx(10 / 32 * 100)


def test_every_send_in_backoff_is_a_failure_rate_of_100_percent_not_0(ours: BrazeOutput) -> None:
    seed(ours, S.QUEUED, 6, created=at(0), attempts=1)
    assert glance.server_output_glance(ours, now=NOW).failure_percent == 100


def test_every_glance_query_reads_the_outbox_through_an_index(
    ours: BrazeOutput, theirs: BrazeOutput
) -> None:
    require_postgresql()  # EXPLAIN of PostgreSQL plans
    seed(ours, S.SENT, 3, sent_at=at(1))
    with CaptureQueriesContext(db) as captured:
        glance.connections_sparklines([ours.connection_id, theirs.connection_id], now=NOW)
        glance.server_output_glance(ours, now=NOW)

    outbox_queries = [
        q["sql"] for q in captured.captured_queries if "connections_delivery" in q["sql"]
    ]
    assert len(outbox_queries) == 8
    with db.cursor() as cursor:
        # A planner that may not scan the table must show the index it can use instead.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in outbox_queries:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan on connections_delivery" not in plan, plan
            # One of the outbox's own partial or composite indexes, never a foreign key's.
            assert re.search(r"(using|on) delivery_\w+", plan), plan
