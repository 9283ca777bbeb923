"""Mapping into the outbox (all or nothing) and the sweeper that recovers lost work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db import connection as db
from django.db.models import Sum
from django.utils import timezone

from connections.delivery import mapping_service, sweeper
from connections.delivery.intake import batch_receive
from connections.models import BrazeOutput, Connection, Delivery, InboundBatch
from mapping.models import MappingIssue
from tests.conftest import add_output
from tests.connections.delivery_helpers import event, queue_rows

pytestmark = pytest.mark.django_db
BATCH = {
    "user_identities": {"customer_id": "c-1"},
    "user_attributes": {"plan": "pro", "address": {"city": "Oslo"}},
    "events": [
        {"event_type": "custom_event", "data": {"event_name": "Play", "timestamp_unixtime_ms": 1}},
        {"event_type": "custom_event", "data": {"event_name": "Stop", "timestamp_unixtime_ms": 2}},
    ],
}


@pytest.fixture
def server(connection: Connection) -> Any:
    add_output(connection, "ios", "ios-key-0001")
    return add_output(connection, "server", "rest-key-0002")


def objects_queued() -> int:
    return int(Delivery.objects.aggregate(n=Sum("size"))["n"] or 0)


def receive(connection: Connection, payload: dict[str, Any] | None = None) -> InboundBatch:
    return batch_receive(connection=connection, payload=payload or BATCH)[0]


def test_mapping_a_batch_queues_its_objects_and_records_its_issues(
    connection: Connection, server: Any
) -> None:
    batch = receive(connection)
    assert mapping_service.batch_map(batch_id=batch.pk) == server.pk
    batch.refresh_from_db()
    assert batch.status == "mapped"
    row = Delivery.objects.get()  # the user's objects of the batch, in one row
    assert (row.status, row.size) == ("queued", 3)
    assert [(held.sequence, held.kind, held.event_name) for held in row.held_objects()] == [
        (0, "attributes", ""),
        (1, "events", "Play"),
        (2, "events", "Stop"),
    ]
    issue = MappingIssue.objects.get()
    assert (issue.kind, issue.field_path, issue.count) == (
        "object_in_custom_attribute",
        "user_attributes.address",
        1,
    )


def test_mapping_the_same_batch_again_does_nothing(connection: Connection, server: Any) -> None:
    batch = receive(connection)
    mapping_service.batch_map(batch_id=batch.pk)
    assert mapping_service.batch_map(batch_id=batch.pk) is None
    assert objects_queued() == 3
    assert MappingIssue.objects.get().count == 1


def test_a_failure_mid_mapping_leaves_the_batch_to_be_mapped_again_with_nothing_half_written(
    connection: Connection, server: Any
) -> None:
    batch = receive(connection)

    def database_fails_on_issue_insert(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if "mapping_mappingissue" in sql and sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("the database went away")
        return execute(sql, *args)

    with db.execute_wrapper(database_fails_on_issue_insert):
        assert mapping_service.batch_map(batch_id=batch.pk) is None
    batch.refresh_from_db()
    assert (batch.status, objects_queued(), MappingIssue.objects.count()) == (
        "received",
        0,
        0,
    )
    assert (batch.map_attempts, batch.error) == (1, "OperationalError: the database went away")
    mapping_service.batch_map(batch_id=batch.pk)  # the sweeper's retry maps it whole
    assert objects_queued() == 3


def test_a_batch_waits_for_a_server_output_and_maps_once_there_is_one(
    connection: Connection,
) -> None:
    add_output(connection, "ios", "ios-key-0001")
    batch = receive(connection)
    assert mapping_service.batch_map(batch_id=batch.pk) is None
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("waiting", mapping_service.NO_SERVER_OUTPUT)
    assert batch.map_attempts == 0  # waiting is not a failed attempt
    add_output(connection, "server", "rest-key-0002")
    batch.refresh_from_db()
    assert (batch.status, batch.error) == ("received", "")
    mapping_service.batch_map(batch_id=batch.pk)
    assert objects_queued() == 3


def test_the_sweeper_recovers_rows_of_a_crashed_worker_and_lost_mapping_tasks(
    connection: Connection, server: Any
) -> None:
    rows = queue_rows(server, [event("u1"), event("u2")])
    Delivery.objects.filter(pk=rows[0].pk).update(
        status="sending", lease_until=timezone.now() - timedelta(seconds=1)
    )
    Delivery.objects.filter(pk=rows[1].pk).update(
        status="sending", lease_until=timezone.now() + timedelta(minutes=5)
    )
    lost = receive(connection)
    InboundBatch.objects.filter(pk=lost.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=5)
    )
    later = receive(connection, {**BATCH, "source_request_id": "later"})
    InboundBatch.objects.filter(pk=later.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=2),
        status="mapped",
        mapped_at=timezone.now(),
    )  # the queue has moved past the lost batch's message
    receive(connection, {**BATCH, "source_request_id": "fresh"})  # its task is still on its way

    report = sweeper.deliveries_sweep()
    assert (report.leases.released, report.batches_enqueued) == (1, 1)
    assert report.outputs_enqueued == 1
    assert Delivery.objects.get(pk=rows[0].pk).status == "queued"
    assert Delivery.objects.get(pk=rows[1].pk).status == "sending"


def test_the_sweeper_skips_paused_connections(connection: Connection, server: Any) -> None:
    queue_rows(server, [event("u1")])
    Connection.objects.update(paused_reason="Braze answered 401")
    assert sweeper.deliveries_sweep().outputs_enqueued == 0


def test_a_refused_key_that_was_replaced_meanwhile_does_not_pause_again(
    connection: Connection, server: Any
) -> None:
    from connections import lifecycle

    stale = BrazeOutput.objects.get(pk=server.pk)
    server.set_api_key("the-fixed-key-dddd")
    server.save()
    assert not lifecycle.connection_pause(connection=connection, reason="401", refused_output=stale)
    assert lifecycle.connection_pause(connection=connection, reason="401", refused_output=server)
    assert Connection.objects.get().paused_reason == "401"
