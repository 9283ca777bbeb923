"""Issue 24 §5: the two documented defaults for user attribute values.

Without type detection every platform but the web sends user attributes as strings, reserved
attributes aside (mParticle's Braze page, https://docs.mparticle.com/integrations/braze/event/);
a user tag is the string "true", type-detected like any other value (reference
mparticle_braze_kit.md §1b "User Tags Value")."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from tests.mapping.helpers import USER, event, issue, map_events

VALUES = {"visits": 12, "ratio": 0.25, "vip": True, "churned": False, "plan": "pro"}
AS_TEXT = {"visits": "12", "ratio": "0.25", "vip": "true", "churned": "false", "plan": "pro"}


def device(platform: str | None) -> dict[str, Any]:
    return {} if platform is None else {"device_info": {"platform": platform}}


PLATFORM_CASES: list[Any] = [
    pytest.param("iOS", {}, AS_TEXT, id="an_ios_batch_sends_numbers_and_booleans_as_text"),
    pytest.param("Android", {}, AS_TEXT, id="an_android_batch_sends_them_as_text"),
    pytest.param("tvOS", {}, AS_TEXT, id="a_tvos_batch_sends_them_as_text"),
    pytest.param(None, {}, AS_TEXT, id="a_batch_naming_no_platform_sends_them_as_text"),
    pytest.param("web", {}, VALUES, id="a_web_batch_keeps_its_json_types"),
    pytest.param("Web", {}, VALUES, id="a_web_batch_is_known_in_any_case"),
    pytest.param(
        "iOS",
        {"type_detection": "user_attributes"},
        VALUES,
        id="an_ios_batch_keeps_numbers_and_booleans_under_user_type_detection",
    ),
    pytest.param(
        "Android",
        {"type_detection": "both"},
        VALUES,
        id="an_android_batch_keeps_them_when_detection_covers_both",
    ),
    pytest.param(
        "iOS",
        {"type_detection": "event_attributes"},
        AS_TEXT,
        id="an_ios_batch_sends_text_when_detection_covers_event_attributes_only",
    ),
]


@pytest.mark.parametrize(("platform", "settings", "expected"), PLATFORM_CASES)
def test_user_attribute_values_follow_the_platform_rule(
    platform: str | None, settings: dict[str, Any], expected: dict[str, Any]
) -> None:
    result = map_events(top={"user_attributes": VALUES, **device(platform)}, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, **expected}]
    assert result.issues == ()


TEXT_CASES: list[Any] = [
    pytest.param({"n": 10**20}, {"n": "100000000000000000000"}, [], id="a_huge_integer_as_text"),
    pytest.param({"n": 1e21}, {"n": "1e+21"}, [], id="a_large_float_in_its_shortest_form"),
    pytest.param({"n": -3}, {"n": "-3"}, [], id="a_negative_integer_as_text"),
    pytest.param({"$Age": 30}, {"dob": "1995-01-01"}, [], id="a_reserved_age_still_becomes_dob"),
    pytest.param({"$Zip": 2134}, {"Zip": "2134"}, [], id="a_zip_stays_a_string"),
    pytest.param(
        {"tags": ["a", 2]},
        {"tags": "a,2"},
        [issue(K.INVALID_VALUE, "user_attributes.tags[*]", "2", A.COERCED, None)],
        id="a_list_keeps_the_list_rule",
    ),
    pytest.param(
        {"n": float("inf"), "ok": 1},
        {"ok": "1"},
        [issue(K.NON_FINITE_NUMBER, "user_attributes.n", "Infinity", A.DROPPED_FIELD, None)],
        id="an_infinite_number_is_still_dropped",
    ),
]


@pytest.mark.parametrize(("attributes", "expected", "issues"), TEXT_CASES)
def test_an_ios_batch_without_detection_writes(
    attributes: dict[str, Any], expected: dict[str, Any], issues: list[Any]
) -> None:
    result = map_events(top={"user_attributes": attributes, **device("iOS")})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, **expected}]
    assert list(result.issues) == issues


def test_an_attribute_change_of_an_ios_batch_is_sent_as_text() -> None:
    change = event("user_attribute_change", user_attribute_name="visits", new=13)

    result = map_events(change, top=device("iOS"), include_enriched_user_attributes=False)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "visits": "13"}]


def test_an_attribute_change_of_a_web_batch_keeps_its_number() -> None:
    change = event("user_attribute_change", user_attribute_name="visits", new=13)

    result = map_events(change, top=device("web"), include_enriched_user_attributes=False)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "visits": 13}]


def test_event_properties_of_an_ios_batch_keep_their_json_types() -> None:
    raw = event("custom_event", event_name="E", custom_attributes={"n": 2, "b": True})

    result = map_events(raw, top=device("iOS"))

    assert result.bodies(ObjectKind.EVENTS)[0]["properties"] == {"n": 2, "b": True}


TAG_CASES: list[Any] = [
    pytest.param("iOS", {}, "true", id="a_tag_is_the_string_true"),
    pytest.param("web", {}, "true", id="a_tag_of_a_web_batch_is_the_string_true_too"),
    pytest.param(
        "iOS", {"type_detection": "user_attributes"}, True, id="a_tag_is_true_under_type_detection"
    ),
    pytest.param(
        "web", {"type_detection": "both"}, True, id="a_web_tag_is_true_under_type_detection"
    ),
    pytest.param("iOS", {"user_tags_value": "null"}, None, id="a_tag_is_null_when_configured"),
    pytest.param(
        "iOS",
        {"user_tags_value": "null", "type_detection": "user_attributes"},
        None,
        id="a_null_tag_stays_null_under_type_detection",
    ),
]


@pytest.mark.parametrize(("platform", "settings", "expected"), TAG_CASES)
def test_user_tags_follow_the_user_tags_value(
    platform: str, settings: dict[str, Any], expected: object
) -> None:
    result = map_events(top={"user_attributes": {"vip": None}, **device(platform)}, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "vip": expected}]


def test_a_deleted_attribute_is_null_whatever_the_tag_value() -> None:
    result = map_events(top={"deleted_user_attributes": ["vip"], **device("iOS")})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "vip": None}]
