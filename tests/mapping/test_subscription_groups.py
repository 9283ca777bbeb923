"""Issue 24 §4: a mapped user attribute becomes ``subscription_groups`` (kit reference §4.9)."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from mapping.preview import preview_batch
from mapping.subscription_settings import subscription_group_mapping_validate
from tests.mapping.helpers import USER, batch, context, event, issue, map_events

NEWS = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"
SMS = "0b7c3c52-5d8e-4b8f-9e1a-3c2d1e0f9a88"
MAPPING = (
    {"attribute": "newsletter", "subscription_group_id": NEWS},
    {"attribute": "sms_offers", "subscription_group_id": SMS},
)


def group(group_id: str, state: str) -> dict[str, str]:
    return {"subscription_group_id": group_id, "subscription_state": state}


VALUE_CASES: list[Any] = [
    pytest.param(True, group(NEWS, "subscribed"), id="true_subscribes"),
    pytest.param(False, group(NEWS, "unsubscribed"), id="false_unsubscribes"),
    pytest.param("true", group(NEWS, "subscribed"), id="the_string_true_subscribes"),
    pytest.param("FALSE", group(NEWS, "unsubscribed"), id="the_string_false_in_any_case"),
    pytest.param("True", group(NEWS, "subscribed"), id="the_string_True_as_android_sends_it"),
]


@pytest.mark.parametrize(("value", "expected"), VALUE_CASES)
def test_a_mapped_attribute_becomes_a_subscription_group(
    value: object, expected: dict[str, str]
) -> None:
    attributes = {"newsletter": value, "plan": "pro"}

    result = map_events(top={"user_attributes": attributes}, subscription_group_mapping=MAPPING)

    body = {**USER, "subscription_groups": [expected], "plan": "pro"}
    assert result.bodies(ObjectKind.ATTRIBUTES) == [body]
    assert result.issues == ()


NOT_BOOLEAN_CASES: list[Any] = [
    pytest.param("yes", "yes", id="yes"),
    pytest.param(1, "1", id="the_number_1"),
    pytest.param("1", "1", id="the_string_1"),
    pytest.param(" true", " true", id="true_with_a_space"),
    pytest.param(["true"], '["true"]', id="a_list"),
    pytest.param({"state": True}, '{"state": true}', id="an_object"),
]


@pytest.mark.parametrize(("value", "example"), NOT_BOOLEAN_CASES)
def test_a_mapped_attribute_neither_true_nor_false_is_a_mapping_issue(
    value: object, example: str
) -> None:
    result = map_events(
        top={"user_attributes": {"newsletter": value, "plan": "pro"}},
        subscription_group_mapping=MAPPING,
    )

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "plan": "pro"}]
    path = "user_attributes.newsletter"
    assert list(result.issues) == [
        issue(K.SUBSCRIPTION_GROUP_NOT_BOOLEAN, path, example, A.DROPPED_FIELD, None)
    ]


def test_two_mapped_attributes_send_two_groups_in_one_attributes_object() -> None:
    attributes = {"newsletter": True, "sms_offers": "false"}

    result = map_events(top={"user_attributes": attributes}, subscription_group_mapping=MAPPING)

    groups = [group(NEWS, "subscribed"), group(SMS, "unsubscribed")]
    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "subscription_groups": groups}]


def test_keys_match_exactly_as_in_the_kits() -> None:
    attributes = {"Newsletter": True, "$newsletter": True}

    result = map_events(top={"user_attributes": attributes}, subscription_group_mapping=MAPPING)

    expected = {**USER, "Newsletter": "true", "newsletter": "true"}
    assert result.bodies(ObjectKind.ATTRIBUTES) == [expected]


def test_an_unmapped_output_sends_the_attribute_as_a_custom_attribute() -> None:
    result = map_events(top={"user_attributes": {"newsletter": True}})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "newsletter": "true"}]


def test_an_attribute_change_of_a_mapped_attribute_is_a_subscription_change() -> None:
    change = event("user_attribute_change", user_attribute_name="sms_offers", new=True)

    result = map_events(
        change, include_enriched_user_attributes=False, subscription_group_mapping=MAPPING
    )

    body = {**USER, "subscription_groups": [group(SMS, "subscribed")]}
    assert result.bodies(ObjectKind.ATTRIBUTES) == [body]
    assert [o.event_index for o in result.objects] == [0]


def test_a_mapped_attribute_that_is_removed_changes_no_subscription() -> None:
    top = {"deleted_user_attributes": ["newsletter", "plan"]}

    result = map_events(top=top, subscription_group_mapping=MAPPING)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "plan": None}]
    assert [(s.item, s.why) for s in result.skipped] == [
        (
            "attribute “newsletter” removed",
            "a subscription group has no unset state at Braze: send false to unsubscribe",
        )
    ]
    assert result.issues == ()


TAG_CASES: list[Any] = [
    pytest.param({}, [group(NEWS, "subscribed")], 0, id="a_tag_is_true_and_subscribes"),
    pytest.param({"user_tags_value": "null"}, None, 1, id="a_null_tag_changes_nothing"),
]


@pytest.mark.parametrize(("settings", "groups", "skipped"), TAG_CASES)
def test_a_mapped_user_tag_follows_the_user_tags_value(
    settings: dict[str, Any], groups: list[Any] | None, skipped: int
) -> None:
    result = map_events(
        top={"user_attributes": {"newsletter": None, "plan": "pro"}},
        subscription_group_mapping=MAPPING,
        **settings,
    )

    body: dict[str, Any] = {**USER, "plan": "pro"}
    if groups is not None:
        body["subscription_groups"] = groups
    assert result.bodies(ObjectKind.ATTRIBUTES) == [body]
    assert result.filtered_count == skipped


def test_the_attribute_denylist_also_stops_a_mapped_attribute() -> None:
    result = map_events(
        top={"user_attributes": {"newsletter": True, "plan": "pro"}},
        subscription_group_mapping=MAPPING,
        attribute_denylist=("newsletter",),
    )

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "plan": "pro"}]
    assert result.filtered_count == 1


def test_a_reserved_attribute_keeps_its_braze_field_even_if_mapped() -> None:
    mapping = ({"attribute": "email_subscribe", "subscription_group_id": NEWS},)

    result = map_events(
        top={"user_attributes": {"email_subscribe": "opted_in"}},
        subscription_group_mapping=mapping,
    )

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "email_subscribe": "opted_in"}]


def test_the_preview_shows_the_subscription_groups_as_sent() -> None:
    payload = batch()
    payload["user_attributes"] = {"newsletter": "true", "sms_offers": "maybe"}

    preview = preview_batch(payload, context(subscription_group_mapping=MAPPING))

    attributes = preview.requests[0]["attributes"]
    assert attributes == [{**USER, "subscription_groups": [group(NEWS, "subscribed")]}]
    assert [(i.kind, i.field_path, i.example) for i in preview.issues] == [
        (K.SUBSCRIPTION_GROUP_NOT_BOOLEAN, "user_attributes.sms_offers", "maybe")
    ]


# The setting's validation: the form and the API meet these same rules.

NOT_A_UUID = (
    "“{value}” is not a subscription group id: Braze shows it as a UUID such as "
    "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77 (Audience → Subscriptions)."
)

VALIDATION_CASES: list[Any] = [
    pytest.param(
        [{"attribute": "newsletter", "subscription_group_id": "not-a-uuid"}],
        [(1, NOT_A_UUID.format(value="not-a-uuid"))],
        id="it_refuses_a_group_id_that_is_not_a_uuid",
    ),
    pytest.param(
        [{"attribute": "newsletter", "subscription_group_id": "{" + NEWS + "}"}],
        [(1, NOT_A_UUID.format(value="{" + NEWS + "}"))],
        id="it_refuses_a_uuid_in_braces",
    ),
    pytest.param(
        [{"attribute": "  ", "subscription_group_id": NEWS}],
        [(1, "Name the user attribute.")],
        id="it_refuses_a_blank_attribute_key",
    ),
    pytest.param(
        [{"attribute": "k" * 256, "subscription_group_id": NEWS}],
        [(1, "A user attribute key is at most 255 characters.")],
        id="it_refuses_an_attribute_key_over_255_characters",
    ),
    pytest.param(
        [
            {"attribute": "newsletter", "subscription_group_id": NEWS},
            {"attribute": "newsletter", "subscription_group_id": SMS},
        ],
        [
            (
                None,
                "“newsletter” is mapped twice (rows 1 and 2): a user attribute drives one "
                "subscription group.",
            )
        ],
        id="it_refuses_an_attribute_key_mapped_twice",
    ),
    pytest.param(
        [{"attribute": "newsletter"}],
        [(1, "Field required")],
        id="it_refuses_a_row_without_a_group_id",
    ),
]


@pytest.mark.parametrize(("rows", "problems"), VALIDATION_CASES)
def test_the_mapping_setting(rows: list[dict[str, Any]], problems: list[Any]) -> None:
    links, found = subscription_group_mapping_validate(rows)

    assert (links, found) == ((), problems)


def test_the_mapping_setting_keeps_group_ids_in_lower_case() -> None:
    rows = [{"attribute": "newsletter", "subscription_group_id": f" {NEWS.upper()} "}]

    links, problems = subscription_group_mapping_validate(rows)

    assert problems == []
    assert [(link.attribute, link.subscription_group_id) for link in links] == [
        ("newsletter", NEWS)
    ]
