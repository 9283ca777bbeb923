"""Braze type rules for event properties and custom attributes.

docs/mapping.md "Braze type rules and limits".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from tests.mapping.helpers import USER, custom, event, issue, map_events

PROPS = "events[*].data.custom_attributes"
LONG_KEY = "k" * 256

PROPERTY_CASES: list[Any] = [
    pytest.param(
        {"tags": ["a", "b"], "ok": "yes"},
        {},
        {"ok": "yes"},
        [issue(K.ARRAY_IN_EVENT_PROPERTY, f"{PROPS}.tags", '["a", "b"]', A.DROPPED_FIELD)],
        id="it_drops_an_array_from_event_properties_and_keeps_the_rest",
    ),
    pytest.param(
        {"address": {"city": "Paris"}, "ok": 1},
        {},
        {"ok": 1},
        [
            issue(
                K.OBJECT_IN_EVENT_PROPERTY, f"{PROPS}.address", '{"city": "Paris"}', A.DROPPED_FIELD
            )
        ],
        id="it_drops_a_nested_object_from_event_properties",
    ),
    pytest.param(
        {LONG_KEY: "v", "ok": True},
        {},
        {"ok": True},
        [issue(K.KEY_TOO_LONG, f"{PROPS}.{LONG_KEY}"[:199] + "…", "k" * 100, A.DROPPED_FIELD)],
        id="it_drops_a_property_whose_key_is_over_255_characters",
    ),
    pytest.param(
        {"time": "now", "event_name": "x", "ok": 1},
        {},
        {"ok": 1},
        [
            issue(K.RESERVED_PROPERTY_NAME, f"{PROPS}.time", "time", A.DROPPED_FIELD),
            issue(K.RESERVED_PROPERTY_NAME, f"{PROPS}.event_name", "event_name", A.DROPPED_FIELD),
        ],
        id="it_drops_the_reserved_property_names_time_and_event_name",
    ),
    pytest.param(
        {"$time": "now"},
        {},
        {},
        [issue(K.RESERVED_PROPERTY_NAME, f"{PROPS}.$time", "$time", A.DROPPED_FIELD)],
        id="it_drops_a_reserved_name_that_hides_behind_a_dollar",
    ),
    pytest.param(
        {"": "a", "$": "b", "  ": "c"},
        {},
        {},
        [
            issue(K.EMPTY_KEY, f"{PROPS}.", "", A.DROPPED_FIELD),
            issue(K.EMPTY_KEY, f"{PROPS}.$", "$", A.DROPPED_FIELD),
            issue(K.EMPTY_KEY, f"{PROPS}.  ", "  ", A.DROPPED_FIELD),
        ],
        id="it_drops_properties_with_empty_keys",
    ),
    pytest.param(
        {"note": "n" * 300},
        {},
        {"note": "n" * 255},
        [issue(K.STRING_TRUNCATED, f"{PROPS}.note", "n" * 100, A.TRUNCATED)],
        id="it_truncates_a_string_over_255_characters_and_records_it",
    ),
    pytest.param(
        {"a": float("nan"), "b": float("inf"), "c": float("-inf"), "ok": 1.5},
        {},
        {"ok": 1.5},
        [
            issue(K.NON_FINITE_NUMBER, f"{PROPS}.a", "NaN", A.DROPPED_FIELD),
            issue(K.NON_FINITE_NUMBER, f"{PROPS}.b", "Infinity", A.DROPPED_FIELD),
            issue(K.NON_FINITE_NUMBER, f"{PROPS}.c", "-Infinity", A.DROPPED_FIELD),
        ],
        id="it_never_sends_nan_or_infinity",
    ),
    pytest.param(
        {"big": 2**64, "ok": 2**63 - 1},
        {},
        {"ok": 2**63 - 1},
        [issue(K.INVALID_VALUE, f"{PROPS}.big", str(2**64), A.DROPPED_FIELD)],
        id="it_drops_an_integer_beyond_64_bits",
    ),
    pytest.param(
        {"nothing": None, "ok": "x"},
        {},
        {"ok": "x"},
        [],
        id="it_leaves_out_null_properties_quietly",
    ),
    pytest.param(
        {"count": "42", "flag": "true"},
        {},
        {"count": "42", "flag": "true"},
        [],
        id="it_keeps_strings_as_strings_without_type_detection",
    ),
    pytest.param(
        {"b": "TRUE", "l": "-42", "d": "4.5", "t": "2024-01-02T03:04:05Z", "z": "007", "s": "abc"},
        {"type_detection": "event_attributes"},
        {"b": True, "l": -42, "d": 4.5, "t": "2024-01-02T03:04:05+00:00", "z": "007", "s": "abc"},
        [],
        id="it_detects_boolean_long_double_date_then_string_in_event_attributes",
    ),
    pytest.param(
        {"n": "NaN", "i": "Infinity", "e": "1e999", "h": "99999999999999999999"},
        {"type_detection": "both"},
        {"n": "NaN", "i": "Infinity", "e": "1e999", "h": "99999999999999999999"},
        [],
        id="it_never_detects_nan_or_infinity_and_keeps_digits_too_long_for_a_long_as_text",
    ),
    pytest.param(
        {"count": "42"},
        {"type_detection": "user_attributes"},
        {"count": "42"},
        [],
        id="it_leaves_event_attributes_alone_when_detection_covers_user_attributes_only",
    ),
]


@pytest.mark.parametrize(("attributes", "settings", "expected", "issues"), PROPERTY_CASES)
def test_it_applies_the_event_property_rules(
    attributes: dict[str, Any],
    settings: dict[str, Any],
    expected: dict[str, Any],
    issues: list[Any],
) -> None:
    result = map_events(custom("E", attributes), **settings)

    assert result.bodies(ObjectKind.EVENTS)[0].get("properties", {}) == expected
    assert list(result.issues) == issues


ATTRS = "user_attributes"
ATTRIBUTE_CASES: list[Any] = [
    pytest.param(
        {"profile": {"a": 1}, "plan": "pro"},
        {},
        {"plan": "pro"},
        [
            issue(
                K.OBJECT_IN_CUSTOM_ATTRIBUTE, f"{ATTRS}.profile", '{"a": 1}', A.DROPPED_FIELD, None
            )
        ],
        id="it_drops_an_object_from_custom_attributes_and_keeps_the_rest",
    ),
    pytest.param(
        {"foods": ["indian", "thai"]},
        {},
        {"foods": "indian,thai"},
        [],
        id="it_joins_a_list_attribute_with_commas_by_default",
    ),
    pytest.param(
        {"foods": ["indian", "thai"]},
        {"send_user_attribute_lists_as_arrays": True},
        {"foods": ["indian", "thai"]},
        [],
        id="it_sends_a_list_attribute_as_an_array_when_enabled",
    ),
    pytest.param(
        {"ids": ["a", "b", "c"]},
        {"send_user_attribute_lists_as_arrays": True, "max_attribute_array_length": 2},
        {"ids": ["a", "b"]},
        [issue(K.ARRAY_TRUNCATED, f"{ATTRS}.ids", '["a", "b", "c"]', A.TRUNCATED, None)],
        id="it_truncates_an_array_over_the_configured_length_and_records_it",
    ),
    pytest.param(
        {"mixed": ["a", 2, {"x": 1}, None, True]},
        {"send_user_attribute_lists_as_arrays": True},
        {"mixed": ["a", "2", "true"]},
        [
            issue(K.INVALID_VALUE, f"{ATTRS}.mixed[*]", "2", A.COERCED, None),
            issue(
                K.OBJECT_IN_CUSTOM_ATTRIBUTE, f"{ATTRS}.mixed[*]", '{"x": 1}', A.DROPPED_FIELD, None
            ),
        ],
        id="it_keeps_arrays_to_strings_writing_numbers_as_text_and_dropping_objects",
    ),
    pytest.param(
        {"bio": "b" * 256},
        {},
        {"bio": "b" * 255},
        [issue(K.STRING_TRUNCATED, f"{ATTRS}.bio", "b" * 100, A.TRUNCATED, None)],
        id="it_truncates_a_custom_attribute_string_over_255_characters",
    ),
    pytest.param(
        {"$plan": "pro", "score": 9.5, "vip": False},
        {},
        {"plan": "pro", "score": "9.5", "vip": "false"},
        [],
        id="it_strips_the_dollar_from_custom_attribute_keys",
    ),
    pytest.param(
        {"vip": "true", "visits": "12", "ratio": "0.25", "since": "2024-01-01", "$Zip": "02134"},
        {"type_detection": "user_attributes"},
        {"vip": True, "visits": 12, "ratio": 0.25, "since": "2024-01-01", "Zip": "02134"},
        [],
        id="it_detects_user_attribute_types_but_never_for_zip",
    ),
    pytest.param(
        {"$Zip": "12345"},
        {"type_detection": "both"},
        {"Zip": "12345"},
        [],
        id="it_keeps_a_numeric_looking_zip_as_a_string_under_type_detection",
    ),
    pytest.param(
        {"visits": "12"},
        {"type_detection": "event_attributes"},
        {"visits": "12"},
        [],
        id="it_leaves_user_attributes_alone_when_detection_covers_event_attributes_only",
    ),
    pytest.param(
        {"external_id": "someone-else", "push_tokens": "x", "ok": 1},
        {},
        {"ok": "1"},  # text: an app batch's values, without type detection
        [
            issue(
                K.RESERVED_PROPERTY_NAME,
                f"{ATTRS}.external_id",
                "external_id",
                A.DROPPED_FIELD,
                None,
            ),
            issue(
                K.RESERVED_PROPERTY_NAME,
                f"{ATTRS}.push_tokens",
                "push_tokens",
                A.DROPPED_FIELD,
                None,
            ),
        ],
        id="it_refuses_attribute_keys_that_would_change_who_the_object_is_about",
    ),
    pytest.param(
        {"score": float("nan")},
        {},
        {},
        [issue(K.NON_FINITE_NUMBER, f"{ATTRS}.score", "NaN", A.DROPPED_FIELD, None)],
        id="it_never_sends_nan_as_a_custom_attribute",
    ),
]


@pytest.mark.parametrize(("attributes", "settings", "expected", "issues"), ATTRIBUTE_CASES)
def test_it_applies_the_custom_attribute_rules(
    attributes: dict[str, Any],
    settings: dict[str, Any],
    expected: dict[str, Any],
    issues: list[Any],
) -> None:
    result = map_events(top={"user_attributes": attributes}, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == ([{**USER, **expected}] if expected else [])
    assert list(result.issues) == issues


def test_it_parses_nan_from_json_and_still_never_sends_it() -> None:
    raw = json.loads(
        '{"event_type": "custom_event",'
        ' "data": {"event_name": "E", "custom_attributes": {"x": NaN, "y": Infinity}}}'
    )

    result = map_events(raw)

    assert json.dumps(result.bodies(ObjectKind.EVENTS), allow_nan=False)
    assert [i.kind for i in result.issues] == [
        K.NON_FINITE_NUMBER,
        K.NON_FINITE_NUMBER,
        K.MISSING_TIMESTAMP,
    ]


def test_it_applies_property_rules_to_screen_view_attributes() -> None:
    raw = event("screen_view", screen_name="Home", custom_attributes={"list": [1]})

    result = map_events(raw, forward_screen_views=True)

    assert result.bodies(ObjectKind.EVENTS)[0].get("properties") is None
    assert result.issues == (
        issue(K.ARRAY_IN_EVENT_PROPERTY, f"{PROPS}.list", "[1]", A.DROPPED_FIELD),
    )
