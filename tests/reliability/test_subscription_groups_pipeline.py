"""Issue 24 §4 and §5 end to end: the mParticle SDK posts an iOS batch, a Celery worker maps it
with the Server output's subscription group mapping and forwards it, and the fake Braze, which
checks ``subscription_groups`` as Braze documents it, accepts the subscription change and the
attributes as text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import mparticle
import pytest

from connections import services
from connections.models import BrazeOutput, Delivery
from devtools.fakebraze import FakeBraze
from mapping.output_settings import OutputSettings
from tests.connections.delivery_helpers import REST_KEY, braze_connection
from tests.reliability.conftest import WorkerProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NEWS = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"
SMS = "0b7c3c52-5d8e-4b8f-9e1a-3c2d1e0f9a88"


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={REST_KEY: {"users.track"}}) as fake:
        yield fake


def ios_batch(customer_id: str, attributes: dict[str, Any]) -> Any:
    batch = mparticle.Batch(environment="production")
    batch.user_identities = mparticle.UserIdentities(customerid=customer_id)
    batch.device_info = mparticle.DeviceInformation()
    batch.device_info.platform = "iOS"
    batch.user_attributes = attributes
    return batch


def test_a_mapped_attribute_reaches_braze_as_a_subscription_group(
    start_worker: Callable[..., WorkerProcess],
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
) -> None:
    connection, secret = services.connection_create(name="Subscriptions")
    server = braze_connection(connection, braze.url)
    mapping = [
        {"attribute": "newsletter", "subscription_group_id": NEWS},
        {"attribute": "sms_offers", "subscription_group_id": SMS},
    ]
    settings = OutputSettings.model_validate({"subscription_group_mapping": mapping})
    BrazeOutput.objects.filter(pk=server.pk).update(settings=settings.model_dump(mode="json"))
    start_worker()

    attributes = {"newsletter": True, "sms_offers": "False", "visits": 12, "plan": "pro"}
    sdk_client(connection.inbound_key, secret).upload_events(ios_batch("customer-1", attributes))

    wait_until(lambda: len(braze.accepted_objects()) == 1, timeout=30, what="1 object at Braze")
    assert [(o["kind"], o["body"]) for o in braze.accepted_objects()] == [
        (
            "attributes",
            {
                "external_id": "customer-1",
                "subscription_groups": [
                    {"subscription_group_id": NEWS, "subscription_state": "subscribed"},
                    {"subscription_group_id": SMS, "subscription_state": "unsubscribed"},
                ],
                "visits": "12",  # an iOS batch without type detection: text
                "plan": "pro",
            },
        )
    ]
    sent = Delivery.objects.filter(status="sent")
    wait_until(lambda: sent.count() == 1, timeout=30, what="the row marked sent")


def test_a_mapped_attribute_neither_true_nor_false_is_an_issue_and_the_rest_still_goes(
    start_worker: Callable[..., WorkerProcess],
    braze: FakeBraze,
    sdk_client: Callable[[str, str], Any],
) -> None:
    connection, secret = services.connection_create(name="Subscriptions")
    server = braze_connection(connection, braze.url)
    settings = OutputSettings.model_validate(
        {"subscription_group_mapping": [{"attribute": "newsletter", "subscription_group_id": NEWS}]}
    )
    BrazeOutput.objects.filter(pk=server.pk).update(settings=settings.model_dump(mode="json"))
    start_worker()

    attributes = {"newsletter": "maybe", "plan": "pro"}
    sdk_client(connection.inbound_key, secret).upload_events(ios_batch("customer-2", attributes))

    wait_until(lambda: len(braze.accepted_objects()) == 1, timeout=30, what="1 object at Braze")
    body = braze.accepted_objects()[0]["body"]
    assert body == {"external_id": "customer-2", "plan": "pro"}
    issue = connection.mapping_issues.get()
    assert (issue.kind, issue.field_path, issue.example_value, issue.count) == (
        "subscription_group_not_boolean",
        "user_attributes.newsletter",
        "maybe",
        1,
    )
    assert issue.get_kind_display() == "Subscription group attribute neither true nor false"
