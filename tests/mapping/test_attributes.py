"""User attributes, reserved attributes, changes, deletions, tags, push tokens (docs/mapping.md)."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from tests.mapping.helpers import IOS_APP, USER, event, issue, map_events

ATTRS = "user_attributes"

RESERVED_CASES: list[Any] = [
    pytest.param({"$FirstName": "Jane"}, {"first_name": "Jane"}, id="first_name_from_$FirstName"),
    pytest.param({"$firstname": "Jane"}, {"first_name": "Jane"}, id="reserved_keys_in_any_case"),
    pytest.param({"$LastName": "Doe"}, {"last_name": "Doe"}, id="last_name_from_$LastName"),
    pytest.param({"$Age": 30}, {"dob": "1995-01-01"}, id="dob_as_1_january_of_now_minus_$Age"),
    pytest.param({"$Age": "30"}, {"dob": "1995-01-01"}, id="dob_from_an_age_sent_as_text"),
    pytest.param({"dob": "1990-05-17"}, {"dob": "1990-05-17"}, id="dob_as_given"),
    pytest.param({"dob": "1990-05-17T00:00:00"}, {"dob": "1990-05-17"}, id="dob_from_a_datetime"),
    pytest.param({"$Country": "FR"}, {"country": "FR"}, id="country_from_$Country"),
    pytest.param({"$City": "Lyon"}, {"home_city": "Lyon"}, id="home_city_from_$City"),
    pytest.param({"$Mobile": "+331234"}, {"phone": "+331234"}, id="phone_from_$Mobile"),
    pytest.param({"$Zip": 2134}, {"Zip": "2134"}, id="zip_as_a_string_from_a_number"),
    pytest.param({"$Zip": "02134"}, {"Zip": "02134"}, id="zip_keeping_its_leading_zero"),
    pytest.param({"$State": "MA"}, {"State": "MA"}, id="state_as_custom_State"),
    pytest.param(
        {"$Address": "1 Main St"}, {"Address": "1 Main St"}, id="address_as_custom_Address"
    ),
    pytest.param(
        {"email_subscribe": "opted_in", "push_subscribe": "unsubscribed"},
        {"email_subscribe": "opted_in", "push_subscribe": "unsubscribed"},
        id="subscription_states_as_given",
    ),
]


@pytest.mark.parametrize(("attributes", "expected"), RESERVED_CASES)
def test_it_maps_the_reserved_attribute_to(
    attributes: dict[str, Any], expected: dict[str, Any]
) -> None:
    result = map_events(top={"user_attributes": attributes})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, **expected}]
    assert result.issues == ()


GENDER_CASES = [
    ("F", "F"),
    ("Female", "F"),
    ("female", "F"),
    ("f", "F"),
    ("M", "M"),
    ("male", "M"),
    ("Male", "M"),
    ("other", "O"),
    ("non-binary", "O"),
    ("NA", "N"),
    ("not applicable", "N"),
    ("P", "P"),
    ("prefer not to say", "P"),
    ("unknown", None),
    ("", None),
]


@pytest.mark.parametrize(
    ("given", "expected"), GENDER_CASES, ids=[f"{g!r}_is_{e}" for g, e in GENDER_CASES]
)
def test_it_maps_gender_to_braze_codes_with_female_as_f(given: str, expected: str | None) -> None:
    result = map_events(top={"user_attributes": {"$Gender": given}})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "gender": expected}]


RESERVED_ISSUE_CASES: list[Any] = [
    pytest.param(
        {"$Age": "old"},
        {},
        [issue(K.INVALID_VALUE, f"{ATTRS}.$Age", "old", A.DROPPED_FIELD, None)],
        id="it_drops_an_age_that_is_not_a_number",
    ),
    pytest.param(
        {"$Age": -3},
        {},
        [issue(K.INVALID_VALUE, f"{ATTRS}.$Age", "-3", A.DROPPED_FIELD, None)],
        id="it_drops_a_negative_age",
    ),
    pytest.param(
        {"dob": "17/05/1990"},
        {},
        [issue(K.INVALID_VALUE, f"{ATTRS}.dob", "17/05/1990", A.DROPPED_FIELD, None)],
        id="it_drops_a_dob_not_in_yyyy_mm_dd",
    ),
    pytest.param(
        {"email_subscribe": "Opted_In "},
        {"email_subscribe": "opted_in"},
        [
            issue(
                K.INVALID_SUBSCRIPTION_STATE,
                f"{ATTRS}.email_subscribe",
                "Opted_In ",
                A.COERCED,
                None,
            )
        ],
        id="it_lower_cases_a_subscription_state_and_records_it",
    ),
    pytest.param(
        {"push_subscribe": "yes"},
        {},
        [
            issue(
                K.INVALID_SUBSCRIPTION_STATE,
                f"{ATTRS}.push_subscribe",
                "yes",
                A.DROPPED_FIELD,
                None,
            )
        ],
        id="it_drops_an_unknown_subscription_state",
    ),
    pytest.param(
        {"$FirstName": 42},
        {"first_name": "42"},
        [issue(K.INVALID_VALUE, f"{ATTRS}.$FirstName", "42", A.COERCED, None)],
        id="it_writes_a_numeric_first_name_as_text_and_records_it",
    ),
    pytest.param(
        {"$Gender": 1},
        {},
        [issue(K.INVALID_VALUE, f"{ATTRS}.$Gender", "1", A.DROPPED_FIELD, None)],
        id="it_drops_a_gender_that_is_not_text",
    ),
]


@pytest.mark.parametrize(("attributes", "expected", "issues"), RESERVED_ISSUE_CASES)
def test_it_records_reserved_attribute_problems(
    attributes: dict[str, Any], expected: dict[str, Any], issues: list[Any]
) -> None:
    result = map_events(top={"user_attributes": attributes})

    assert result.bodies(ObjectKind.ATTRIBUTES) == ([{**USER, **expected}] if expected else [])
    assert list(result.issues) == issues


PROFILE_CASES: list[Any] = [
    pytest.param(
        {"user_attributes": {"vip": None}},
        {},
        [{**USER, "vip": "true"}],
        id="it_sends_a_user_tag_as_the_string_true_by_default",
    ),
    pytest.param(
        {"user_attributes": {"vip": None}},
        {"user_tags_value": "null"},
        [{**USER, "vip": None}],
        id="it_sends_a_user_tag_as_null_when_configured",
    ),
    pytest.param(
        {"deleted_user_attributes": ["plan", "$FirstName", "$Zip"]},
        {},
        [{**USER, "plan": None, "first_name": None, "Zip": None}],
        id="it_unsets_deleted_attributes_under_their_braze_names",
    ),
    pytest.param(
        {"user_attributes": {"plan": "pro"}},
        {"include_enriched_user_attributes": False},
        [{**USER, "plan": "pro"}],
        id="it_still_sends_the_batch_s_own_attributes_when_enrichment_is_off",
    ),
    pytest.param(
        {"user_identities": {"customer_id": "cust-42", "email": "jane@example.com"}},
        {},
        [{**USER, "email": "jane@example.com"}],
        id="it_sets_email_from_the_email_identity",
    ),
]


@pytest.mark.parametrize(("top", "settings", "expected"), PROFILE_CASES)
def test_it_maps_profile_attributes(
    top: dict[str, Any], settings: dict[str, Any], expected: list[Any]
) -> None:
    result = map_events(top=top, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == expected
    assert result.issues == ()


CHANGE_CASES: list[Any] = [
    pytest.param(
        {"user_attribute_name": "plan", "new": "premium", "is_new_attribute": False},
        [{**USER, "plan": "premium"}],
        id="it_sends_an_attribute_change_as_an_attributes_object",
    ),
    pytest.param(
        {"user_attribute_name": "$LastName", "new": "Doe"},
        [{**USER, "last_name": "Doe"}],
        id="it_applies_the_reserved_mapping_to_attribute_changes",
    ),
    pytest.param(
        {"user_attribute_name": "plan", "deleted": True, "old": "trial"},
        [{**USER, "plan": None}],
        id="it_unsets_a_deleted_attribute_change",
    ),
    pytest.param(
        {"user_attribute_name": "foods", "new": ["a", "b"]},
        [{**USER, "foods": "a,b"}],
        id="it_joins_a_list_in_an_attribute_change",
    ),
]


@pytest.mark.parametrize(("data", "expected"), CHANGE_CASES)
def test_it_maps_attribute_changes(data: dict[str, Any], expected: list[Any]) -> None:
    result = map_events(
        event("user_attribute_change", **data), include_enriched_user_attributes=False
    )

    assert result.bodies(ObjectKind.ATTRIBUTES) == expected
    assert [o.event_index for o in result.objects] == [0]
    assert result.issues == ()


def test_it_skips_an_attribute_change_without_a_name() -> None:
    result = map_events(event("user_attribute_change", new="x"))

    path = "events[*].data.user_attribute_name"
    assert result.objects == ()
    assert result.issues == (issue(K.INVALID_VALUE, path, "", A.SKIPPED_EVENT),)


def test_it_sends_a_push_registration_as_a_token_for_the_platform_app() -> None:
    raw = event("push_registration", register=True, registration_token="tok-1")

    result = map_events(raw, top={"device_info": {"platform": "iOS"}})

    tokens = [{"app_id": IOS_APP, "token": "tok-1"}]
    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "push_tokens": tokens}]


def test_it_skips_a_push_registration_for_a_platform_without_an_app_id() -> None:
    raw = event("push_registration", register=True, registration_token="tok-1")

    result = map_events(raw, top={"device_info": {"platform": "web"}})

    assert result.objects == ()
    assert result.issues == (
        issue(K.MISSING_APP_ID, "device_info.platform", "web", A.SKIPPED_EVENT),
    )


def test_it_never_shows_a_push_token_in_an_issue() -> None:
    raw = event("push_registration", register=True, registration_token=["secret-token"])

    result = map_events(raw, top={"device_info": {"platform": "iOS"}})

    path = "events[*].data.registration_token"
    assert result.issues == (issue(K.INVALID_VALUE, path, "list", A.SKIPPED_EVENT),)


def test_it_unsubscribes_from_email_on_opt_out() -> None:
    result = map_events(event("opt_out", is_opted_out=True))

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "email_subscribe": "unsubscribed"}]
