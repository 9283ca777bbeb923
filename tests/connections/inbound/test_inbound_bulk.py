"""Inbound API: bulk requests are stored whole or not at all; historical ones are flagged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from connections.delivery.models import InboundBatch
from connections.models import Connection
from tests.connections.inbound_helpers import Sender, custom_event, error_body, sdk_batch

BULK_PATHS = ["/v2/bulkevents", "/v2/bulkevents/", "/v2/bulkevents/historical"]
MISSING_TYPE = 'Required event field "event_type" is missing or empty.'


def batches(count: int) -> list[dict[str, Any]]:
    return [sdk_batch(source_request_id=f"req-{index}") for index in range(count)]


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/v2/bulkevents", "/v2/bulkevents/"])
def test_it_stores_every_batch_of_a_bulk_request(
    sender: Sender, path: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = sender.post(path, batches(3))

    assert response.status_code == 202
    assert response.content == b""
    stored = InboundBatch.objects.order_by("source_request_id")
    assert [batch.source_request_id for batch in stored] == ["req-0", "req-1", "req-2"]
    assert {batch.payload["user_identities"]["customer_id"] for batch in stored} == {"cust-42"}
    assert not any(batch.historical for batch in stored)
    assert len(callbacks) == 1  # one mapping message for the whole request, not one per batch


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/v2/bulkevents/historical", "/v2/bulkevents/historical/"])
def test_it_flags_batches_sent_to_the_historical_endpoint(sender: Sender, path: str) -> None:
    response = sender.post(path, batches(2))

    assert response.status_code == 202
    assert list(InboundBatch.objects.values_list("historical", flat=True)) == [True, True]


@pytest.mark.django_db
def test_it_accepts_exactly_100_batches(sender: Sender) -> None:
    response = sender.post("/v2/bulkevents", batches(100))

    assert response.status_code == 202
    assert InboundBatch.objects.count() == 100


@pytest.mark.django_db
@pytest.mark.parametrize("path", BULK_PATHS)
def test_it_refuses_more_than_100_batches(sender: Sender, path: str) -> None:
    response = sender.post(path, batches(101))

    assert response.status_code == 400
    assert response.json() == error_body(
        "BAD_REQUEST", "The body holds 101 batches; at most 100 are accepted per request."
    )
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [sdk_batch(), [], b'"text"'], ids=["object", "empty_list", "string"]
)
def test_it_refuses_a_bulk_body_that_is_not_a_list_of_batches(sender: Sender, body: Any) -> None:
    response = sender.post("/v2/bulkevents", body)

    assert response.status_code == 400
    assert response.json() == error_body(
        "BAD_REQUEST", "The body must be a JSON array of 1 to 100 batches."
    )


@pytest.mark.django_db
def test_it_stores_nothing_when_one_batch_of_a_bulk_request_is_bad(sender: Sender) -> None:
    body = batches(5)
    body[3]["events"] = [custom_event(), {"data": {}}]

    response = sender.post("/v2/bulkevents", body)

    assert response.status_code == 400
    assert response.json() == error_body(
        "BAD_REQUEST",
        f"[3].events[1].event_type: {MISSING_TYPE} "
        "None of the 5 batches in this request was stored.",
    )
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_names_each_bad_batch_of_a_bulk_request(sender: Sender) -> None:
    body: list[Any] = [sdk_batch(), "not a batch", {"events": "x"}, {"user_attributes": []}]

    response = sender.post("/v2/bulkevents/historical", body)

    outcome = " None of the 4 batches in this request was stored."
    assert response.json() == error_body(
        "BAD_REQUEST",
        f"[1]: A batch must be a JSON object.{outcome}",
        f'[2].events: "events" must be an array of events.{outcome}',
        f"[3].user_attributes: Must be an object.{outcome}",
    )


@pytest.mark.django_db
def test_it_stores_a_batch_repeated_within_one_bulk_request_once(sender: Sender) -> None:
    response = sender.post("/v2/bulkevents", [sdk_batch(), sdk_batch(), batches(1)[0]])

    assert response.status_code == 202
    assert InboundBatch.objects.count() == 2


@pytest.mark.django_db
def test_it_stores_only_the_new_batches_of_a_resent_bulk_request(sender: Sender) -> None:
    sender.post("/v2/bulkevents", batches(2))

    response = sender.post("/v2/bulkevents", batches(4))

    assert response.status_code == 202
    assert InboundBatch.objects.count() == 4
