"""Enriched user attributes end to end (issue 24 §1): the real mParticle SDK posts, a Celery
worker maps and forwards, and the fake Braze shows which attributes each batch carried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mparticle
import pytest

from connections import services
from connections.models import BrazeOutput, Connection
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.reliability.conftest import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
Start = Callable[..., WorkerProcess]
MPID = 8_127_364_501_238


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def pipeline(
    braze: FakeBraze, sdk_client: Callable[[str, str], Any], *, enriched: bool
) -> tuple[Connection, Any]:
    connection, secret = services.connection_create(name="Profiles")
    output = braze_connection(connection, braze.url)
    forwarding = output.forwarding.model_copy(update={"include_enriched_user_attributes": enriched})
    BrazeOutput.objects.filter(pk=output.pk).update(settings=forwarding.model_dump(mode="json"))
    return connection, sdk_client(connection.inbound_key, secret)


def sdk_batch(attributes: dict[str, Any], event_name: str) -> Any:
    batch = mparticle.Batch(environment="production")
    batch.mpid = MPID
    batch.user_identities = mparticle.UserIdentities(customerid="customer-7")
    batch.user_attributes = attributes
    played = mparticle.AppEvent(event_name, "other")
    played.timestamp_unixtime_ms = 1_764_300_000_000
    batch.events = [played]
    return batch


def attribute_bodies(braze: FakeBraze, count: int) -> list[dict[str, Any]]:
    """The attributes objects Braze accepted, once ``count`` objects of any kind arrived."""
    wait_until(lambda: len(braze.accepted_objects()) >= count, timeout=30, what=f"{count} objects")
    return [o["body"] for o in braze.accepted_objects() if o["kind"] == "attributes"]


def test_with_enrichment_off_the_batch_s_own_attributes_still_reach_braze(
    start_worker: Start, braze: FakeBraze, sdk_client: Callable[[str, str], Any]
) -> None:
    _connection, api = pipeline(braze, sdk_client, enriched=False)
    start_worker()

    api.upload_events(sdk_batch({"plan": "pro", "$City": "Oslo"}, "Played"))

    bodies = attribute_bodies(braze, 2)
    assert bodies == [{"external_id": "customer-7", "plan": "pro", "home_city": "Oslo"}]


@pytest.mark.parametrize(
    ("enriched", "second"),
    [
        (True, {"external_id": "customer-7", "plan": "pro", "home_city": "Oslo", "seen": "yes"}),
        (False, {"external_id": "customer-7", "seen": "yes"}),
    ],
    ids=["enriched_the_profile_travels_again", "not_enriched_only_the_batch_s_own"],
)
def test_an_attribute_of_batch_1_reaches_braze_with_batch_2_that_omits_it_only_when_enriched(
    start_worker: Start,
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
    enriched: bool,
    second: dict[str, Any],
) -> None:
    connection, api = pipeline(braze, sdk_client, enriched=enriched)
    start_worker()

    api.upload_events(sdk_batch({"plan": "pro", "$City": "Oslo"}, "Played"))
    first = attribute_bodies(braze, 2)
    api.upload_events(sdk_batch({"seen": "yes"}, "Paused"))

    assert first == [{"external_id": "customer-7", "plan": "pro", "home_city": "Oslo"}]
    assert attribute_bodies(braze, 4) == [first[0], second]
    stored = connection.user_profiles.get()
    assert (stored.mpid, stored.external_id) == (MPID, "customer-7")
    assert stored.attributes == {"plan": "pro", "home_city": "Oslo", "seen": "yes"}
