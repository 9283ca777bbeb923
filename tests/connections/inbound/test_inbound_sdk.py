"""Inbound API: the real mParticle Python SDK (0.16.1) posts to a live server, unchanged.

Transactional tests: the live server thread must see committed rows, and the 202 must
follow a real commit (whose on_commit hook publishes the mapping task to the broker).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import mparticle
import pytest
from mparticle.rest import ApiException

from connections import services
from connections.delivery.models import InboundBatch
from connections.models import Connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def events_api(sdk_client: Callable[[str, str], Any], connection: Connection) -> Any:
    secret = services.connection_rotate_inbound_secret(connection=connection)
    return sdk_client(connection.inbound_key, secret)


def sdk_batch(customer_id: str, **fields: Any) -> Any:
    batch = mparticle.Batch(environment="development", mpid="600868121729048600", **fields)
    batch.user_identities = mparticle.UserIdentities(customerid=customer_id, email="j@example.com")
    event = mparticle.AppEvent("Button Clicked", "navigation")
    event.custom_attributes = {"button": "buy", "count": 3, "nothing": None}
    batch.events = [mparticle.SessionStartEvent(), event]
    return batch


def test_it_accepts_upload_events_from_the_sdk_and_stores_customer_id(
    events_api: Any, connection: Connection
) -> None:
    result = events_api.upload_events(sdk_batch("cust-42", source_request_id="sdk-1"))

    assert result[:2] == (None, 202)
    stored = InboundBatch.objects.get(connection=connection)
    assert stored.source_request_id == "sdk-1"
    assert stored.payload["user_identities"] == {
        "customer_id": "cust-42",
        "email": "j@example.com",
    }
    assert (stored.payload["mpid"], stored.payload["environment"]) == (
        "600868121729048600",
        "development",
    )
    assert [event["event_type"] for event in stored.payload["events"]] == [
        "session_start",
        "custom_event",
    ]


def test_it_accepts_bulk_upload_events_from_the_sdk(
    events_api: Any, connection: Connection
) -> None:
    result = events_api.bulk_upload_events([sdk_batch("cust-1"), sdk_batch("cust-2")])

    assert result[:2] == (None, 202)
    identities = InboundBatch.objects.values_list("payload__user_identities__customer_id")
    assert sorted(value for (value,) in identities) == ["cust-1", "cust-2"]


def test_the_sdk_raises_403_with_our_error_body_for_a_wrong_secret(
    sdk_client: Callable[[str, str], Any], connection: Connection
) -> None:
    api = sdk_client(connection.inbound_key, "wrong")

    with pytest.raises(ApiException) as raised:
        api.upload_events(sdk_batch("cust-42"))

    assert raised.value.status == 403
    assert json.loads(raised.value.body)["errors"][0]["code"] == "FORBIDDEN"
    assert not InboundBatch.objects.exists()


def test_the_sdk_gets_400_for_an_empty_batch_and_for_constructor_built_events(
    events_api: Any,
) -> None:
    statuses = []
    for batch in (mparticle.Batch(), mparticle.Batch(events=[mparticle.AppEvent("ctor")])):
        with pytest.raises(ApiException) as raised:
            events_api.upload_events(batch)
        statuses.append(raised.value.status)

    assert statuses == [400, 400]
    assert not InboundBatch.objects.exists()
