"""Event and attribute allow/deny lists: filtered items are counted, never reported."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.objects import ObjectKind
from tests.mapping.helpers import USER, custom, event, map_events

PURCHASE = event(
    "commerce_event", product_action={"action": "purchase", "products": [{"id": "s", "price": 1}]}
)

EVENT_FILTER_CASES: list[Any] = [
    pytest.param(
        {"event_allowlist": ("Signed Up",)}, ["Signed Up"], 2, id="it_sends_only_allowlisted_events"
    ),
    pytest.param(
        {"event_denylist": ("Signed Up",)}, ["Clicked"], 1, id="it_drops_denylisted_events"
    ),
    pytest.param(
        {"event_allowlist": ("Signed Up", "Clicked"), "event_denylist": ("Clicked",)},
        ["Signed Up"],
        2,
        id="it_lets_the_denylist_win_over_the_allowlist",
    ),
    pytest.param(
        {"event_denylist": ("eCommerce - purchase",)},
        ["Signed Up", "Clicked"],
        1,
        id="it_filters_purchases_by_their_mparticle_name",
    ),
]


@pytest.mark.parametrize(("settings", "names", "filtered"), EVENT_FILTER_CASES)
def test_it_applies_event_lists(settings: dict[str, Any], names: list[str], filtered: int) -> None:
    result = map_events(custom("Signed Up"), custom("Clicked"), PURCHASE, **settings)

    assert [body["name"] for body in result.bodies(ObjectKind.EVENTS)] == names
    assert result.filtered_count == filtered
    assert result.issues == ()


ATTRIBUTE_FILTER_CASES: list[Any] = [
    pytest.param(
        {"attribute_allowlist": ("plan",)},
        {"plan": "pro"},
        2,
        id="it_sends_only_allowlisted_attributes",
    ),
    pytest.param(
        {"attribute_denylist": ("$FirstName",)},
        {"plan": "pro", "score": "3"},  # text: an app batch's values, without type detection
        1,
        id="it_drops_denylisted_attributes",
    ),
    pytest.param(
        {"attribute_denylist": ("FIRSTNAME",)},
        {"plan": "pro", "score": "3"},
        1,
        id="it_matches_attribute_lists_without_dollar_and_in_any_case",
    ),
    pytest.param(
        {"attribute_allowlist": ("first_name",)},
        {"first_name": "Jane"},
        2,
        id="it_matches_attribute_lists_on_braze_names_too",
    ),
]


@pytest.mark.parametrize(("settings", "expected", "filtered"), ATTRIBUTE_FILTER_CASES)
def test_it_applies_attribute_lists(
    settings: dict[str, Any], expected: dict[str, Any], filtered: int
) -> None:
    attributes = {"$FirstName": "Jane", "plan": "pro", "score": 3}

    result = map_events(top={"user_attributes": attributes}, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, **expected}]
    assert result.filtered_count == filtered
    assert result.issues == ()


def test_it_applies_attribute_lists_to_attribute_changes() -> None:
    change = event("user_attribute_change", user_attribute_name="plan", new="pro")

    result = map_events(change, attribute_denylist=("plan",))

    assert (result.objects, result.filtered_count) == ((), 1)
