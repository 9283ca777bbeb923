"""The fake Braze checks ``subscription_groups`` as Braze documents them, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.fakebraze import FakeBraze
from tests.connections.fakebraze_helpers import KEY, VALID_DATA, attribute, track

GROUP = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"
BAD_ARRAY = "BAD_SUBSCRIPTION_GROUP_ARRAY: 'subscription_groups' must be an array"
BAD_HASH = (
    "BAD_SUBSCRIPTION_GROUP_HASH: each item of 'subscription_groups' must be an object with "
    "'subscription_group_id' and 'subscription_state'"
)
BAD_ID = "BAD_SUBSCRIPTION_GROUP_ID: 'subscription_group_id' must be a valid UUID"
BAD_STATE = (
    "BAD_SUBSCRIPTION_GROUP_STATE: 'subscription_state' must be 'subscribed' or 'unsubscribed'"
)


@pytest.fixture
def braze() -> Iterator[FakeBraze]:
    with FakeBraze(keys={KEY: {"users.track"}}, rate_limit="1000/1") as server:
        yield server


def groups(*entries: Any) -> dict[str, Any]:
    return attribute(subscription_groups=list(entries))


def entry(group_id: object = GROUP, state: object = "subscribed", **extra: Any) -> dict[str, Any]:
    return {"subscription_group_id": group_id, "subscription_state": state, **extra}


VALID: list[Any] = [
    pytest.param(groups(entry()), id="a_subscribed_group"),
    pytest.param(groups(entry(state="unsubscribed")), id="an_unsubscribed_group"),
    pytest.param(groups(entry(GROUP.upper())), id="a_group_id_in_upper_case"),
    pytest.param(groups(entry(), entry("0b7c3c52-5d8e-4b8f-9e1a-3c2d1e0f9a88")), id="two_groups"),
    pytest.param(groups(entry(use_double_opt_in_logic=True)), id="sms_double_opt_in_logic"),
    pytest.param(groups(), id="an_empty_array"),
]


@pytest.mark.parametrize("item", VALID)
def test_it_accepts_subscription_groups_as_braze_documents_them(
    braze: FakeBraze, item: dict[str, Any]
) -> None:
    response = track(braze.url, {"attributes": [item]})

    assert (response.status_code, response.json()) == (
        201,
        {"message": "success", "attributes_processed": 1},
    )
    assert [row["body"] for row in braze.accepted_objects()] == [item]


INVALID: list[Any] = [
    pytest.param(attribute(subscription_groups=entry()), BAD_ARRAY, id="an_object_not_an_array"),
    pytest.param(attribute(subscription_groups=None), BAD_ARRAY, id="null"),
    pytest.param(groups("subscribed"), BAD_HASH, id="a_string_item"),
    pytest.param(groups({"subscription_group_id": GROUP}), BAD_HASH, id="no_state"),
    pytest.param(groups({"subscription_state": "subscribed"}), BAD_HASH, id="no_group_id"),
    pytest.param(groups(entry(use_double_opt_in_logic="yes")), BAD_HASH, id="a_text_opt_in_flag"),
    pytest.param(groups(entry("newsletter")), BAD_ID, id="a_group_id_that_is_not_a_uuid"),
    pytest.param(groups(entry(GROUP[:-1])), BAD_ID, id="a_uuid_one_digit_short"),
    pytest.param(groups(entry(42)), BAD_ID, id="a_numeric_group_id"),
    pytest.param(groups(entry(state="opted_in")), BAD_STATE, id="opted_in_which_is_for_email"),
    pytest.param(groups(entry(state="Subscribed")), BAD_STATE, id="a_capitalised_state"),
    pytest.param(groups(entry(state=True)), BAD_STATE, id="a_boolean_state"),
    pytest.param(groups(entry(), entry(state="maybe")), BAD_STATE, id="a_bad_second_entry"),
]


@pytest.mark.parametrize(("item", "error"), INVALID)
def test_it_rejects_the_attributes_object_with_bad_subscription_groups(
    braze: FakeBraze, item: dict[str, Any], error: str
) -> None:
    valid = attribute("ok")

    response = track(braze.url, {"attributes": [valid, item]})

    assert response.status_code == 201
    assert response.json() == {
        "message": "success",
        "attributes_processed": 1,
        "errors": [{"type": error, "input_array": "attributes", "index": 1}],
    }
    assert [row["body"] for row in braze.accepted_objects()] == [valid]


def test_a_request_whose_only_object_has_bad_groups_is_refused_whole(braze: FakeBraze) -> None:
    response = track(braze.url, {"attributes": [groups(entry(state="on"))]})

    assert (response.status_code, response.json()) == (
        400,
        {
            "message": VALID_DATA,
            "errors": [{"type": BAD_STATE, "input_array": "attributes", "index": 0}],
        },
    )
    assert braze.accepted_objects() == []
