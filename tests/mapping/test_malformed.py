"""Malformed batches never raise: each bad part is recorded and the rest still maps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mapping.engine import map_batch
from mapping.issues import EXAMPLE_LENGTH, FIELD_PATH_LENGTH
from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from mapping.output_settings import ExternalIdentityType
from tests.mapping.helpers import T0, context, custom, event_body, issue

GOOD = custom("Good")


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


BAD_EVENT_CASES: list[Any] = [
    pytest.param(
        "oops",
        issue(K.MALFORMED_EVENT, "events[*]", "oops", A.SKIPPED_EVENT),
        id="it_skips_an_event_that_is_not_an_object",
    ),
    pytest.param(
        {"data": {"event_name": "ctor-event"}},
        issue(
            K.MALFORMED_EVENT,
            "events[*].event_type",
            '{"data": {"event_name": "ctor-event"}}',
            A.SKIPPED_EVENT,
        ),
        id="it_skips_an_event_missing_its_event_type",
    ),
    pytest.param(
        {"event_type": "custom_event", "data": [1]},
        issue(
            K.MALFORMED_EVENT,
            "events[*].data",
            '{"event_type": "custom_event", "data": [1]}',
            A.SKIPPED_EVENT,
        ),
        id="it_skips_an_event_whose_data_is_not_an_object",
    ),
    pytest.param(
        {"event_type": "teleport", "data": {}},
        issue(K.UNSUPPORTED_EVENT_TYPE, "events[*].event_type", "teleport", A.SKIPPED_EVENT),
        id="it_records_an_unknown_event_type",
    ),
    pytest.param(
        custom("Deep", {"a": nested(5000)}),
        issue(
            K.OBJECT_IN_EVENT_PROPERTY,
            "events[*].data.custom_attributes.a",
            '{"d": {"d": {…}}}',
            A.DROPPED_FIELD,
        ),
        id="it_survives_an_attribute_nested_five_thousand_levels_deep",
    ),
    pytest.param(
        {
            "event_type": "commerce_event",
            "data": {"timestamp_unixtime_ms": T0, "product_action": "x"},
        },
        issue(K.INVALID_VALUE, "events[*].data.product_action", "x", A.SKIPPED_EVENT),
        id="it_skips_a_product_action_that_is_not_an_object",
    ),
    pytest.param(
        {
            "event_type": "commerce_event",
            "data": {
                "timestamp_unixtime_ms": T0,
                "product_action": {"action": "purchase", "products": "all"},
            },
        },
        issue(K.INVALID_VALUE, "events[*].data.product_action.products", "all", A.DROPPED_FIELD),
        id="it_records_products_that_are_not_a_list",
    ),
]


@pytest.mark.parametrize(("bad", "expected_issue"), BAD_EVENT_CASES)
def test_it_maps_the_next_event_after_a_bad_one(bad: Any, expected_issue: Any) -> None:
    result = map_batch(
        {"user_identities": {"customer_id": "cust-42"}, "events": [bad, GOOD]}, context()
    )

    assert result.bodies(ObjectKind.EVENTS)[-1] == event_body("Good")
    assert [o.event_index for o in result.objects][-1] == 1
    assert result.issues[0] == expected_issue


BAD_BATCH_CASES: list[Any] = [
    pytest.param(
        None, [issue(K.MALFORMED_EVENT, "$", "", A.DROPPED_OBJECT, None)], id="a_null_batch"
    ),
    pytest.param(
        [1, 2], [issue(K.MALFORMED_EVENT, "$", "[1, 2]", A.DROPPED_OBJECT, None)], id="a_list_batch"
    ),
    pytest.param(
        {"user_identities": {"customer_id": "c"}, "events": "all"},
        [issue(K.MALFORMED_EVENT, "events", "all", A.SKIPPED_EVENT, None)],
        id="events_that_are_not_a_list",
    ),
    pytest.param(
        {"user_identities": "c"},
        [issue(K.NO_EXTERNAL_ID, "mpid", "", A.DROPPED_OBJECT, None)],
        id="identities_that_are_not_an_object",
    ),
    pytest.param(
        {
            "user_identities": {"customer_id": "c"},
            "user_attributes": ["a"],
            "deleted_user_attributes": {"a": 1},
        },
        [
            issue(K.INVALID_VALUE, "user_attributes", '["a"]', A.DROPPED_FIELD, None),
            issue(K.INVALID_VALUE, "deleted_user_attributes", '{"a": 1}', A.DROPPED_FIELD, None),
        ],
        id="attributes_of_the_wrong_types",
    ),
    pytest.param(
        {"mpid": "12abc", "user_identities": {}},
        [
            issue(K.INVALID_VALUE, "mpid", "12abc", A.DROPPED_FIELD, None),
            issue(K.NO_EXTERNAL_ID, "mpid", "", A.DROPPED_OBJECT, None),
        ],
        id="an_mpid_that_is_not_a_number",
    ),
]


@pytest.mark.parametrize(("raw", "issues"), BAD_BATCH_CASES)
def test_it_records_instead_of_raising_for(raw: Any, issues: list[Any]) -> None:
    result = map_batch(raw, context(anonymous_users="user_alias"))

    assert result.objects == ()
    assert list(result.issues) == issues


def test_it_bounds_examples_and_field_paths_for_huge_keys_and_values() -> None:
    huge = "x" * 1_000_000
    result = map_batch(
        {"user_identities": {"customer_id": "c"}, "events": [custom("E", {huge: huge, "v": huge})]},
        context(),
    )

    assert all(
        len(i.example) <= EXAMPLE_LENGTH and len(i.field_path) <= FIELD_PATH_LENGTH
        for i in result.issues
    )
    assert [i.kind for i in result.issues] == [K.KEY_TOO_LONG, K.STRING_TRUNCATED]
    assert result.bodies(ObjectKind.EVENTS)[0]["properties"] == {"v": "x" * 255}


def test_it_maps_numbers_sent_as_strings_everywhere_the_sdk_sends_them() -> None:
    raw = json.loads(
        '{"mpid": "600868121729048600", "events": [{"event_type": "commerce_event", "data": {'
        '"timestamp_unixtime_ms": "1700000000000", "product_action": {"action": "purchase",'
        ' "total_amount": "41.48", "shipping_amount": "0.00", "products": [{"id": "s",'
        ' "price": "19.99", "quantity": "2"}]}}}]}'
    )

    result = map_batch(raw, context(external=ExternalIdentityType.MPID))

    (body,) = result.bodies(ObjectKind.PURCHASES)
    assert (body["external_id"], body["price"], body["quantity"], body["time"]) == (
        "600868121729048600",
        19.99,
        2,
        "2023-11-14T22:13:20.000Z",
    )
    assert body["properties"] == {"Total Amount": 41.48, "Shipping Amount": 0.0}
    assert result.issues == ()
