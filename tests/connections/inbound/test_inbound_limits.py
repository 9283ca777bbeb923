"""Inbound API: size limits (413), backpressure (429) and an unavailable database (503)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DataError, OperationalError
from django.db import connection as db
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings as SettingsWrapper

from connections.delivery.models import InboundBatch
from connections.inbound import limits
from connections.inbound.errors import Refusal
from connections.models import Connection
from tests.connections.inbound_helpers import Sender, error_body, sdk_batch


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


def padded_batch(size: int) -> dict[str, Any]:
    return sdk_batch(user_attributes={"pad": "x" * size})


@pytest.mark.django_db
def test_it_answers_413_from_content_length_before_reading_the_body(sender: Sender) -> None:
    response = sender.post("/v2/events", sdk_batch(), CONTENT_LENGTH="262145")

    assert response.status_code == 413
    assert response.json() == error_body(
        "PAYLOAD_TOO_LARGE",
        "The request body is 262145 bytes; at most 262144 bytes are accepted per request. "
        "Send fewer batches per request.",
    )


@pytest.mark.django_db
def test_it_answers_413_to_a_body_over_the_configured_request_limit(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_REQUEST_BYTES = 2000

    response = sender.post("/v2/bulkevents", [padded_batch(600), padded_batch(601)] * 2)

    assert response.status_code == 413
    assert response.json()["errors"][0]["message"].startswith(
        "The request body is 3442 bytes; at most 2000 bytes"
    )
    assert not InboundBatch.objects.exists()


def test_it_measures_the_body_it_read_when_no_content_length_was_sent(
    settings: SettingsWrapper,
) -> None:
    settings.MPBRAZE_INBOUND_MAX_REQUEST_BYTES = 10
    request = RequestFactory().post("/v2/events", data=b"x" * 11, content_type="text/plain")
    del request.META["CONTENT_LENGTH"]

    with pytest.raises(Refusal) as refused:
        limits.read_body(request)

    assert (refused.value.status, refused.value.messages) == (
        413,
        [
            "The request body is over the limit; at most 10 bytes are accepted per request. "
            "Send fewer batches per request."
        ],
    )


@pytest.mark.django_db
def test_it_answers_413_to_a_single_batch_over_128_kb(sender: Sender) -> None:
    response = sender.post("/v2/events", padded_batch(140_000))

    assert response.status_code == 413
    assert response.json() == error_body(
        "PAYLOAD_TOO_LARGE", "The batch is 140241 bytes; at most 131072 bytes are accepted."
    )


@pytest.mark.django_db
def test_it_names_the_oversized_batch_of_a_bulk_request_and_stores_none(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_BATCH_BYTES = 1000

    response = sender.post("/v2/bulkevents", [padded_batch(10), padded_batch(900)])

    assert response.status_code == 413
    assert response.json() == error_body(
        "PAYLOAD_TOO_LARGE",
        "[1]: The batch is 1141 bytes; at most 1000 bytes are accepted. "
        "None of the 2 batches in this request was stored.",
    )
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_answers_429_with_retry_after_when_too_many_batches_wait(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 2
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(3)])

    response = sender.post("/v2/events", sdk_batch(mpid=99))

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.json() == error_body(
        "TOO_MANY_REQUESTS",
        "More than 2 batches of this connection are waiting to be processed; retry later.",
    )
    assert InboundBatch.objects.count() == 3


@pytest.mark.django_db
def test_it_counts_the_batches_waiting_not_the_span_of_their_ids(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 3
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(6)])
    middle = list(InboundBatch.objects.order_by("pk"))[1:-1]  # the first and last wait
    InboundBatch.objects.filter(pk__in=[b.pk for b in middle]).update(status="mapped")

    assert sender.post("/v2/events", sdk_batch(mpid=98)).status_code == 202  # 2 waiting
    assert sender.post("/v2/events", sdk_batch(mpid=99)).status_code == 202  # 3 waiting
    assert sender.post("/v2/events", sdk_batch(mpid=100)).status_code == 429  # 4 waiting


@pytest.mark.django_db
def test_one_connection_behind_does_not_get_another_refused(
    sender: Sender, client: Client, settings: SettingsWrapper
) -> None:
    from connections import services

    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 2
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(3)])
    other = Sender(client, services.connection_create(name="Other app")[0])

    assert sender.post("/v2/events", sdk_batch(mpid=99)).status_code == 429
    assert other.post("/v2/events", sdk_batch(mpid=99)).status_code == 202


@pytest.mark.django_db
def test_it_accepts_again_once_the_backlog_is_mapped(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 2
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(3)])
    InboundBatch.objects.update(status=InboundBatch.Status.MAPPED)

    response = sender.post("/v2/events", sdk_batch(mpid=99))

    assert response.status_code == 202


def failing_batch_insert(error: Exception) -> Any:
    """A database execute wrapper (the driver's seam, not our code) that fails the insert of
    inbound batches with ``error``, as a dropped connection or a refused value would."""

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith('INSERT INTO "connections_inboundbatch"'):
            raise error
        return execute(sql, params, many, context)

    return db.execute_wrapper(wrapper)


@pytest.mark.django_db
def test_it_answers_503_with_retry_after_and_keeps_nothing_when_the_database_fails(
    sender: Sender,
) -> None:
    with failing_batch_insert(OperationalError("server closed the connection unexpectedly")):
        response = sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(4)])
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == error_body(
        "SERVICE_UNAVAILABLE", "The database is unavailable: nothing was stored; retry later."
    )
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_answers_400_when_the_database_refuses_a_value(sender: Sender) -> None:
    with failing_batch_insert(DataError("value out of range")):
        response = sender.post("/v2/events", sdk_batch())

    assert response.status_code == 400
    assert response.json() == error_body(
        "BAD_REQUEST", "The database refused a value in this request; nothing was stored."
    )


@pytest.mark.django_db
def test_the_connection_and_its_waiting_batches_span_are_read_in_one_statement(
    sender: Sender,
) -> None:
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(3)])

    with CaptureQueriesContext(db) as queries:
        assert sender.post("/v2/events", sdk_batch(mpid=99)).status_code == 202

    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    insert = next(n for n, sql in enumerate(statements) if sql.startswith("INSERT INTO"))
    (read,) = statements[:insert]  # nothing else is read before the batch is stored
    assert "connections_connection" in read
    assert "pending_low" in read
    assert "pending_high" in read


@pytest.mark.django_db
def test_batches_waiting_for_an_output_count_toward_the_limit_like_received_ones(
    sender: Sender, settings: SettingsWrapper
) -> None:
    settings.MPBRAZE_INBOUND_MAX_PENDING_BATCHES = 2
    sender.post("/v2/bulkevents", [sdk_batch(mpid=index) for index in range(3)])
    InboundBatch.objects.update(status=InboundBatch.Status.WAITING)

    assert sender.post("/v2/events", sdk_batch(mpid=99)).status_code == 429
    InboundBatch.objects.update(status=InboundBatch.Status.MAPPED)
    assert sender.post("/v2/events", sdk_batch(mpid=99)).status_code == 202
