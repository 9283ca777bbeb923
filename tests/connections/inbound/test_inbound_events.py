"""Inbound API: accepted batches are stored once, normalised, and their mapping enqueued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from connections.delivery.models import InboundBatch
from connections.models import Connection
from tests.connections.inbound_helpers import Sender, custom_event, sdk_batch

CaptureCallbacks = Callable[..., Any]


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


@pytest.mark.django_db
def test_it_answers_202_with_an_empty_body_and_stores_the_normalised_batch(
    sender: Sender, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = sender.post("/v2/events", sdk_batch(source_request_id="req-1"))

    assert response.status_code == 202
    assert response.content == b""
    batch = InboundBatch.objects.get(connection=sender.connection)
    assert batch.payload == {
        "events": [custom_event(custom_event_type="navigation")],
        "user_identities": {"customer_id": "cust-42", "email": "jane@example.com"},
        "mpid": "600868121729048600",
        "source_request_id": "req-1",
        "environment": "production",
    }
    assert (batch.source_request_id, batch.historical, batch.status) == ("req-1", False, "received")
    assert len(callbacks) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/v2/events", "/v2/events/"])
def test_it_accepts_events_with_or_without_a_trailing_slash(sender: Sender, path: str) -> None:
    response = sender.post(path, sdk_batch())

    assert response.status_code == 202
    assert InboundBatch.objects.count() == 1


@pytest.mark.django_db
def test_it_keeps_customer_id_when_the_batch_has_both_spellings(sender: Sender) -> None:
    identities = {"customer_id": "kept", "customerid": "dropped"}

    sender.post("/v2/events", sdk_batch(user_identities=identities))

    assert InboundBatch.objects.get().payload["user_identities"] == {"customer_id": "kept"}


@pytest.mark.django_db
def test_it_keeps_the_environment_and_a_numeric_mpid_as_sent(sender: Sender) -> None:
    sender.post("/v2/events", sdk_batch(environment="development", mpid=7346244611012968789))

    payload = InboundBatch.objects.get().payload
    assert (payload["environment"], payload["mpid"]) == ("development", 7346244611012968789)


@pytest.mark.django_db
def test_it_accepts_a_batch_without_events(sender: Sender) -> None:
    response = sender.post("/v2/events", {"user_attributes": {"plan": "trial"}, "mpid": 1})

    assert response.status_code == 202
    assert InboundBatch.objects.get().payload["user_attributes"] == {"plan": "trial"}


@pytest.mark.django_db
def test_it_accepts_a_repeated_source_request_id_without_storing_it_twice(
    sender: Sender, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    sender.post("/v2/events", sdk_batch(source_request_id="req-1"))

    with django_capture_on_commit_callbacks() as callbacks:
        response = sender.post("/v2/events", sdk_batch(source_request_id="req-1", ip="1.2.3.4"))

    assert response.status_code == 202
    assert response.content == b""
    assert InboundBatch.objects.count() == 1
    assert "ip" not in InboundBatch.objects.get().payload
    assert callbacks == []


@pytest.mark.django_db
def test_it_accepts_the_same_content_twice_without_storing_it_twice(sender: Sender) -> None:
    first = sender.post("/v2/events", sdk_batch())
    second = sender.post("/v2/events", sdk_batch())

    assert (first.status_code, second.status_code) == (202, 202)
    assert InboundBatch.objects.count() == 1


@pytest.mark.django_db
def test_it_treats_customerid_and_customer_id_spellings_of_one_batch_as_the_same_content(
    sender: Sender,
) -> None:
    sender.post("/v2/events", sdk_batch())
    sender.post("/v2/events", sdk_batch(user_identities=_spelled_customer_id()))

    assert InboundBatch.objects.count() == 1


@pytest.mark.django_db
def test_it_stores_a_crash_report_labelled_commerce_event_by_the_sdk(sender: Sender) -> None:
    crash = {"event_type": "commerce_event", "data": {"class_name": "Boom", "severity": "fatal"}}

    response = sender.post("/v2/events", sdk_batch(events=[crash]))

    assert response.status_code == 202
    assert InboundBatch.objects.get().payload["events"] == [crash]


def _spelled_customer_id() -> dict[str, str]:
    return {"customer_id": "cust-42", "email": "jane@example.com"}
