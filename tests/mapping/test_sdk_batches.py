"""Batches built with the real mParticle Python SDK (0.16.1), serialised as the SDK sends them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import mparticle
from mparticle.models.user_attribute_change_event import UserAttributeChangeEvent

from mapping.engine import map_batch, validate_batch_shape
from mapping.objects import MappingResult, ObjectKind
from mapping.output_settings import ExternalIdentityType
from tests.mapping.helpers import IOS_APP, context

T0 = 1_700_000_000_000


def as_sent(batch: mparticle.Batch) -> Any:
    """What the SDK puts on the wire: its own sanitiser, then json.dumps (rest.py)."""
    return json.loads(json.dumps(mparticle.ApiClient.sanitize_for_serialization(batch)))


def sdk_batch() -> mparticle.Batch:
    batch = mparticle.Batch()
    batch.environment = "development"
    batch.mpid = "600868121729048600"  # a string, as in the SDK's example_usage.py
    batch.device_info = mparticle.DeviceInformation(platform="iOS")
    batch.user_identities = mparticle.UserIdentities(customerid="cust-42", email="jane@example.com")
    batch.user_attributes = {
        "$FirstName": "Jane",
        "plan": "trial",
        "favorite_foods": ["indian", "thai"],
    }
    batch.events = sdk_events()
    return batch


def sdk_events() -> list[Any]:
    clicked = mparticle.AppEvent(event_name="Button Clicked", custom_event_type="navigation")
    clicked.timestamp_unixtime_ms = T0
    clicked.source_message_id = "msg-1"
    clicked.custom_attributes = {
        "button": "buy",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "nothing": None,
    }
    screen = mparticle.ScreenViewEvent(timestamp_unixtime_ms=T0 + 1000, screen_name="Checkout")
    change = UserAttributeChangeEvent(
        timestamp_unixtime_ms=T0 + 2000,
        user_attribute_name="plan",
        new="premium",
        is_new_attribute=False,
    )
    crash = mparticle.CrashReportEvent(
        timestamp_unixtime_ms=T0 + 4000, class_name="NPE", message="boom"
    )
    push = mparticle.PushRegistrationEvent(
        timestamp_unixtime_ms=T0 + 5000, register=True, registration_token="tok"
    )
    return [clicked, screen, sdk_purchase(), change, crash, push]


def sdk_purchase() -> mparticle.CommerceEvent:
    product = mparticle.Product()
    product.id, product.name, product.price, product.quantity = "sku-1", "Widget", 19.99, 2
    product.custom_attributes = {"color": "red"}
    action = mparticle.ProductAction("purchase")
    action.products = [product]
    action.transaction_id = "T-1001"
    action.total_amount = 41.48
    action.shipping_amount = Decimal("0.00")  # serialised by the SDK as the string "0.00"
    event = mparticle.CommerceEvent(action)
    event.timestamp_unixtime_ms = T0 + 3000
    event.currency_code = "USD"
    event.custom_attributes = {"channel": "app"}
    return event


def mapped(**settings: Any) -> MappingResult:
    return map_batch(as_sent(sdk_batch()), context(**settings))


def test_it_reads_what_the_sdk_actually_sends() -> None:
    payload = as_sent(sdk_batch())

    assert payload["user_identities"] == {"customerid": "cust-42", "email": "jane@example.com"}
    assert payload["events"][2]["data"]["product_action"]["shipping_amount"] == "0.00"
    assert payload["events"][4]["event_type"] == "commerce_event"  # the SDK's crash-report label
    assert validate_batch_shape(payload) == []


def test_it_maps_an_sdk_batch_to_the_exact_braze_objects() -> None:
    result = mapped(forward_screen_views=True)

    user = {"external_id": "cust-42"}
    assert [(o.kind, o.event_index, o.event_id) for o in result.objects] == [
        (ObjectKind.ATTRIBUTES, None, None),
        (ObjectKind.EVENTS, 0, "msg-1"),
        (ObjectKind.EVENTS, 1, None),
        (ObjectKind.PURCHASES, 2, None),
        (ObjectKind.ATTRIBUTES, 3, None),
        (ObjectKind.ATTRIBUTES, 5, None),
    ]
    assert [o.body for o in result.objects] == [
        {
            **user,
            "email": "jane@example.com",
            "first_name": "Jane",
            "plan": "trial",
            "favorite_foods": "indian,thai",
        },
        {
            **user,
            "app_id": IOS_APP,
            "name": "Button Clicked",
            "time": "2023-11-14T22:13:20.000Z",
            "properties": {"button": "buy", "count": 3, "ratio": 0.5, "flag": True},
        },
        {**user, "app_id": IOS_APP, "name": "Checkout", "time": "2023-11-14T22:13:21.000Z"},
        {
            **user,
            "app_id": IOS_APP,
            "product_id": "sku-1",
            "currency": "USD",
            "price": 19.99,
            "quantity": 2,
            "time": "2023-11-14T22:13:23.000Z",
            "properties": {
                "channel": "app",
                "Transaction Id": "T-1001",
                "Total Amount": 41.48,
                "Shipping Amount": 0.0,
                "Name": "Widget",
                "color": "red",
            },
        },
        {**user, "plan": "premium"},
        {**user, "push_tokens": [{"app_id": IOS_APP, "token": "tok"}]},
    ]
    assert result.issues == ()
    assert result.filtered_count == 1  # the crash report


def test_it_uses_the_sdk_string_mpid_as_external_id() -> None:
    result = mapped(external=ExternalIdentityType.MPID)

    assert {o.body["external_id"] for o in result.objects} == {"600868121729048600"}


def test_it_reports_the_sdk_constructor_quirk_that_drops_event_type() -> None:
    batch = mparticle.Batch(events=[mparticle.AppEvent(event_name="ctor-event")])

    problems = validate_batch_shape(as_sent(batch))

    assert problems == [("$.events[0].event_type", "event_type is required")]
