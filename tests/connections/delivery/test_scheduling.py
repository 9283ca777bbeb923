"""Work is published once: one pending forward per output, one mapping message per request,
re-published by the sweeper only when its message is truly lost; poison batches end failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connections.delivery import mapping_service, schedule, sweeper
from connections.delivery.intake import batch_receive
from connections.delivery.tasks import batches_map
from connections.models import BrazeOutput, Connection, Delivery, ForwardSchedule, InboundBatch
from tests.conftest import add_output
from tests.connections.delivery_helpers import braze_connection, event, queue_rows
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db
Capture = Callable[..., Any]
BATCH = {
    "user_identities": {"customer_id": "c-1"},
    "events": [{"event_type": "custom_event", "data": {"event_name": "Play"}}],
}


@pytest.fixture
def output(connection: Connection) -> BrazeOutput:
    return braze_connection(connection, "http://127.0.0.1:9")


def publishes(capture: Capture, call: Callable[[], object]) -> int:
    with capture() as callbacks:
        call()
    return len(callbacks)


def test_an_output_has_at_most_one_pending_forward_message(
    output: BrazeOutput, django_capture_on_commit_callbacks: Capture
) -> None:
    def ask(**kwargs: Any) -> int:
        call = lambda: schedule.forward_schedule(output_id=output.pk, **kwargs)  # noqa: E731
        return publishes(django_capture_on_commit_callbacks, call)

    assert ask() == 1
    assert ask() == 0  # already pending
    assert ask(at=timezone.now() + timedelta(seconds=0.5)) == 0  # later than the pending one
    schedule.forward_started(output_id=output.pk)
    assert ask(at=timezone.now() + timedelta(seconds=30)) == 1  # none pending any more
    assert ask() == 1  # clearly sooner than the pending one
    assert ForwardSchedule.objects.count() == 1


def test_a_pending_forward_that_never_started_is_published_again(
    output: BrazeOutput, django_capture_on_commit_callbacks: Capture
) -> None:
    schedule.forward_schedule(output_id=output.pk)
    lost_long_ago = timezone.now() - timedelta(hours=1)
    ForwardSchedule.objects.update(due_at=lost_long_ago)
    call = lambda: schedule.forward_schedule(output_id=output.pk)  # noqa: E731
    assert publishes(django_capture_on_commit_callbacks, call) == 1


def test_a_wait_longer_than_the_brokers_safe_countdown_is_left_to_the_sweeper(
    output: BrazeOutput, settings: Any
) -> None:
    far = timezone.now() + timedelta(seconds=settings.MPBRAZE_MAX_COUNTDOWN_SECONDS + 60)
    assert schedule.forward_schedule(output_id=output.pk, at=far) is False
    assert not ForwardSchedule.objects.filter(due_at__isnull=False).exists()


def test_the_sweeper_schedules_an_output_once_however_many_rows_are_due(
    output: BrazeOutput, django_capture_on_commit_callbacks: Capture
) -> None:
    queue_rows(output, [event(f"u{n}") for n in range(50)])
    with django_capture_on_commit_callbacks() as callbacks:
        first = sweeper.deliveries_sweep()
        second = sweeper.deliveries_sweep()
    assert (first.outputs_enqueued, second.outputs_enqueued, len(callbacks)) == (1, 0, 1)


def test_the_sweeper_does_not_copy_a_mapping_message_that_is_still_waiting(
    connection: Connection, output: BrazeOutput
) -> None:
    old = timezone.now() - timedelta(minutes=10)
    waiting = batch_receive(connection=connection, payload=BATCH)[0]
    InboundBatch.objects.filter(pk=waiting.pk).update(enqueued_at=old)
    # The newest mapped batch was enqueued before it: the queue has not reached it yet.
    mapped = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "m"})[0]
    InboundBatch.objects.filter(pk=mapped.pk).update(
        enqueued_at=old - timedelta(minutes=1), status="mapped", mapped_at=timezone.now()
    )
    batches_map.apply_async(([],))  # the broker holds messages: it is not an empty restart
    assert sweeper.deliveries_sweep().batches_enqueued == 0


def test_the_sweeper_shares_re_enqueues_fairly_between_connections(
    connection: Connection, output: BrazeOutput
) -> None:
    other = add_output_pair(Connection.objects.create(name="Other", slug="other", inbound_key="k2"))
    old = timezone.now() - timedelta(minutes=10)
    for n in range(8):
        batch_receive(connection=connection, payload={**BATCH, "source_request_id": f"a{n}"})
    batch_receive(connection=other, payload={**BATCH, "source_request_id": "b0"})
    InboundBatch.objects.update(enqueued_at=old)
    frontier = batch_receive(connection=other, payload={**BATCH, "source_request_id": "new"})[0]
    InboundBatch.objects.filter(pk=frontier.pk).update(status="mapped", mapped_at=timezone.now())

    report = sweeper.deliveries_sweep(batch_limit=4)

    requeued = InboundBatch.objects.filter(enqueue_count=2)
    assert report.batches_enqueued == 3  # a share of 2 each, not the 4 lowest ids
    assert requeued.filter(connection=other).count() == 1


def add_output_pair(connection: Connection) -> Connection:
    add_output(connection, "ios", f"ios-key-{connection.pk:04d}")
    return connection


def test_a_batch_whose_mapping_keeps_failing_ends_failed_with_its_reason(
    connection: Connection, output: BrazeOutput, settings: Any
) -> None:
    settings.MPBRAZE_MAPPING_MAX_ATTEMPTS = 3
    batch = batch_receive(connection=connection, payload=BATCH)[0]

    def rows_cannot_be_written(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if "connections_delivery" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("disk full")
        return execute(sql, *args)

    with db.execute_wrapper(rows_cannot_be_written):
        for _ in range(5):  # the sweeper's re-enqueues, and a redelivery beyond the cap
            mapping_service.batch_map(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.map_attempts) == ("failed", 3)
    assert batch.error == "Mapping failed 3 times; last error: OperationalError: disk full"


def test_one_mapping_message_carries_every_batch_of_a_request(
    connection: Connection, output: BrazeOutput, django_capture_on_commit_callbacks: Capture
) -> None:
    from connections.delivery.intake import batches_receive

    payloads = [{**BATCH, "source_request_id": f"r{n}"} for n in range(100)]
    with django_capture_on_commit_callbacks() as callbacks:
        batches_receive(connection=connection, payloads=payloads)
    assert len(callbacks) == 1
    assert set(InboundBatch.objects.values_list("enqueue_count", flat=True)) == {1}


def refuse_rows_named(name: str) -> None:
    """A trigger (dropped with the test's transaction) that makes the database refuse outbox
    rows of events called ``name``, whichever way they are inserted (INSERT or COPY)."""
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION mpbraze_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN RAISE EXCEPTION 'value refused'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER mpbraze_test_refuse BEFORE INSERT ON connections_delivery "
                f"FOR EACH ROW WHEN (NEW.event_name = '{name}') "
                "EXECUTE FUNCTION mpbraze_test_refuse()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER mpbraze_test_refuse BEFORE INSERT ON connections_delivery "
                f"WHEN NEW.event_name = '{name}' BEGIN SELECT RAISE(ABORT, 'value refused'); END"
            )


def test_a_group_of_batches_is_mapped_in_one_transaction_and_a_poison_one_fails_alone(
    connection: Connection, output: BrazeOutput, settings: Any
) -> None:
    settings.MPBRAZE_MAPPING_MAX_ATTEMPTS = 2
    good = [
        batch_receive(connection=connection, payload={**BATCH, "source_request_id": f"g{n}"})[0]
        for n in range(3)
    ]
    poison_payload = {**BATCH, "source_request_id": "poison"}
    poison_payload["events"] = [{"event_type": "custom_event", "data": {"event_name": "Boom"}}]
    poison = batch_receive(connection=connection, payload=poison_payload)[0]

    refuse_rows_named("Boom")  # the database refuses the poison batch's rows
    ids = [batch.pk for batch in [*good, poison]]
    assert mapping_service.batches_map(batch_ids=ids) == 3
    assert mapping_service.batches_map(batch_ids=ids) == 0
    status = dict(InboundBatch.objects.values_list("pk", "status"))
    assert [status[pk] for pk in ids] == ["mapped", "mapped", "mapped", "failed"]
    assert InboundBatch.objects.get(pk=poison.pk).map_attempts == 2


def test_a_batch_whose_rows_exist_already_is_mapped_alone_without_a_second_copy(
    connection: Connection, output: BrazeOutput
) -> None:
    """The group insert (COPY on PostgreSQL) refuses rows that exist; the batch is then
    mapped alone, where existing rows are skipped, and nothing is written twice."""
    batches = [
        batch_receive(connection=connection, payload={**BATCH, "source_request_id": f"c{n}"})[0]
        for n in range(3)
    ]
    mapping_service.batch_map(batch_id=batches[1].pk)
    InboundBatch.objects.filter(pk=batches[1].pk).update(status="received", map_attempts=0)
    assert mapping_service.batches_map(batch_ids=[b.pk for b in batches]) == 3
    assert set(InboundBatch.objects.values_list("status", flat=True)) == {"mapped"}
    rows = Delivery.objects.values_list("batch_id", "sequence")
    assert sorted(rows) == [(b.pk, 0) for b in batches]  # one object a batch, once


def test_a_mapped_group_that_fills_a_request_is_sent_at_once_a_smaller_one_after_the_linger(
    connection: Connection, output: BrazeOutput, settings: Any
) -> None:
    settings.MPBRAZE_FORWARD_LINGER_SECONDS = 30.0

    def map_events(count: int, name: str) -> float:
        events = [{"event_type": "custom_event", "data": {"event_name": name}}] * count
        payload = {**BATCH, "events": events, "source_request_id": name}
        batch = batch_receive(connection=connection, payload=payload)[0]
        ForwardSchedule.objects.all().delete()
        before = timezone.now()
        assert mapping_service.batches_map(batch_ids=[batch.pk]) == 1
        due = ForwardSchedule.objects.get(output=output).due_at
        assert due is not None
        return (due - before).total_seconds()

    assert map_events(74, "Few") >= 29  # an object an event: not yet a full request
    assert map_events(75, "Enough") < 5  # 75 objects: a full request


def test_a_message_whose_batches_were_all_mapped_pulls_the_waiting_ones_and_nothing_more(
    connection: Connection, output: BrazeOutput
) -> None:
    """A backlog's later messages find their batches mapped by the tasks before (which pulled
    them): such a message looks for no exhausted batch, and pulls what still waits."""
    mapped = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "m"})[0]
    assert mapping_service.batches_map(batch_ids=[mapped.pk]) == 1

    with CaptureQueriesContext(db) as queries:
        assert mapping_service.batches_map(batch_ids=[mapped.pk], pull_seconds=60) == 0
    if db.vendor == "postgresql":  # elsewhere the take and the exhausted check are apart
        assert len(queries.captured_queries) == 2  # its take, and a pull that found nothing

    waiting = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "w"})[0]
    assert mapping_service.batches_map(batch_ids=[mapped.pk], pull_seconds=60) == 1
    assert InboundBatch.objects.get(pk=waiting.pk).status == "mapped"


def test_a_named_batch_past_its_last_attempt_ends_failed_when_a_message_names_it_again(
    connection: Connection, output: BrazeOutput, settings: Any
) -> None:
    settings.MPBRAZE_MAPPING_MAX_ATTEMPTS = 2
    lost = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "l"})[0]
    fine = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "f"})[0]
    InboundBatch.objects.filter(pk=lost.pk).update(map_attempts=2)  # its worker died twice

    assert mapping_service.batches_map(batch_ids=[lost.pk, fine.pk]) == 1
    lost.refresh_from_db()
    assert (lost.status, lost.error) == (
        "failed",
        "Mapping failed 2 times; last error: the worker was lost",
    )


def table_writes(table: str) -> tuple[int, int]:
    """Rows this transaction updated in ``table``, and how many of those updates were HOT (no
    new index entry), from PostgreSQL's own counters."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s",
            [table],
        )
        updated, hot = cursor.fetchone()
    return int(updated), int(hot)


def test_taking_a_backlog_to_map_writes_no_index_entry(
    connection: Connection, output: BrazeOutput
) -> None:
    """The take counts an attempt and sets the lease on each batch: columns no index names,
    on pages the table's fill factor leaves room on, so each update is a HOT one."""
    from connections.delivery.intake import batches_receive

    require_postgresql()  # HOT updates are PostgreSQL's

    for request in range(10):
        payloads = [{**BATCH, "source_request_id": f"r{request}-{n}"} for n in range(10)]
        batches_receive(connection=connection, payloads=payloads)
    table = InboundBatch._meta.db_table
    updated, hot = table_writes(table)

    taken = mapping_service._take_untried(100, max_attempts=5)
    assert len(taken) == 100
    assert table_writes(table) == (updated + 100, hot + 100)


def test_a_group_is_read_and_marked_mapped_in_one_statement(
    connection: Connection, output: BrazeOutput
) -> None:
    from connections.delivery.intake import batches_receive

    payloads = [{**BATCH, "source_request_id": f"r{n}"} for n in range(5)]
    batches_receive(connection=connection, payloads=payloads)
    ids = list(InboundBatch.objects.order_by("pk").values_list("pk", flat=True))
    taken = mapping_service._take(ids, max_attempts=5)
    InboundBatch.objects.filter(pk=ids[1]).update(status="failed")  # changed since taken

    with CaptureQueriesContext(db) as queries:
        batches = mapping_service._mark_mapped(taken, max_attempts=5, now=timezone.now())
    assert [batch.pk for batch in batches] == [ids[0], *ids[2:]]
    assert batches[0].payload["user_identities"] == {"customer_id": "c-1"}
    if db.vendor == "postgresql":
        assert len(queries.captured_queries) == 1
    status = dict(InboundBatch.objects.values_list("pk", "status"))
    assert [status[pk] for pk in ids] == ["mapped", "failed", "mapped", "mapped", "mapped"]


def synchronous_commit() -> str:
    with db.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def setting_after(call: Callable[[], object]) -> str:
    """``synchronous_commit`` right after ``call``, in a transaction then rolled back (the
    setting ends with it)."""
    from django.db import transaction

    with transaction.atomic():
        call()
        found = synchronous_commit()
        transaction.set_rollback(True)
    return found


def test_mappings_commits_do_not_wait_for_the_disk_and_nothing_else_changes(
    connection: Connection, output: BrazeOutput
) -> None:
    """The take and the mapping transaction commit with ``synchronous_commit`` off, for their
    own transaction only (what they write is redone from the stored batch after a crash);
    receiving a batch still waits for the disk."""
    require_postgresql()
    batch = batch_receive(connection=connection, payload={**BATCH, "source_request_id": "q"})[0]
    assert synchronous_commit() == "on"
    assert setting_after(lambda: mapping_service._take_untried(10, max_attempts=5)) == "off"
    assert synchronous_commit() == "on"
    mark = lambda: mapping_service._mark_mapped([batch.pk], 5, timezone.now())  # noqa: E731
    assert setting_after(mark) == "off"
    assert setting_after(lambda: batch_receive(connection=connection, payload=BATCH)) == "on"


def test_a_batchs_payload_and_its_users_objects_are_stored_lz4_compressed(
    connection: Connection, output: BrazeOutput
) -> None:
    """Past about 2 KB PostgreSQL compresses a value: with lz4 (migration 0035), faster than
    its default pglz both ways, for what the delivery path writes and reads back."""
    require_postgresql()
    events = [
        {
            "event_type": "custom_event",
            "data": {
                "event_name": f"Viewed {n}",
                "custom_attributes": {
                    "page": f"/catalogue/item/{n}",
                    "referrer": "/catalogue",
                    "position": n,
                },
            },
        }
        for n in range(20)
    ]
    batch = batch_receive(connection=connection, payload={**BATCH, "events": events})[0]
    batches_map([batch.pk])
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(payload) FROM connections_inboundbatch WHERE id = %s",
            [batch.pk],
        )
        assert cursor.fetchone() == ("lz4",)
        cursor.execute(
            "SELECT pg_column_compression(more) FROM connections_delivery WHERE batch_id = %s",
            [batch.pk],
        )
        assert cursor.fetchall() == [("lz4",)]
