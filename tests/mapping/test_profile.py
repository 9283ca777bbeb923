"""The user profile's rules (issue 24 §1, docs/mapping.md "User profile"): what a batch sets,
changes and removes, in which order, within which bounds, and what of it travels to Braze."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.engine import map_batch
from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import MappingResult, ObjectKind, Profile, ProfileInput, ProfileLimits
from mapping.profile import profile_join
from tests.mapping.helpers import USER, batch, context, event, issue

WEB = {"device_info": {"platform": "web"}}
ORDER = 7  # this batch's arrival order; stamps below it are older batches, above it later ones


def mapped(
    *events: dict[str, Any],
    stored: Profile | None = None,
    limits: ProfileLimits | None = None,
    top: dict[str, Any] | None = None,
    **settings: Any,
) -> MappingResult:
    given = ProfileInput(stored or Profile(), ORDER, limits or ProfileLimits())
    # A web batch: user attribute values keep their JSON types (docs/mapping.md).
    return map_batch(batch(*events, **{**WEB, **(top or {})}), context(**settings), given)


def change(name: str, new: Any = None, **data: Any) -> dict[str, Any]:
    return event("user_attribute_change", user_attribute_name=name, new=new, **data)


def stored(**attributes: Any) -> Profile:
    return Profile(attributes, dict.fromkeys(attributes, 3))


# (stored profile, the batch: its events and top-level fields, settings) → the profile after it
MERGE_CASES: list[Any] = [
    pytest.param(
        None,
        ((), {"user_attributes": {"plan": "pro", "$FirstName": "Jane"}}),
        {},
        Profile({"plan": "pro", "first_name": "Jane"}, {"plan": ORDER, "first_name": ORDER}),
        id="it_keeps_what_a_batch_sets_under_the_braze_name_as_sent",
    ),
    pytest.param(
        stored(plan="trial", city="Oslo"),
        ((), {"user_attributes": {"plan": "pro"}}),
        {},
        Profile({"plan": "pro", "city": "Oslo"}, {"plan": ORDER, "city": 3}),
        id="it_overwrites_what_a_batch_sets_again_and_keeps_the_rest",
    ),
    pytest.param(
        stored(plan="trial"),
        ((change("plan", "premium"),), {}),
        {},
        Profile({"plan": "premium"}, {"plan": ORDER}),
        id="it_applies_an_attribute_change_event",
    ),
    pytest.param(
        stored(plan="trial", vip=True),
        ((), {"deleted_user_attributes": ["plan"]}),
        {},
        Profile({"vip": True}, {"plan": ORDER, "vip": 3}),
        id="it_removes_a_deleted_attribute_and_remembers_when",
    ),
    pytest.param(
        stored(plan="trial"),
        ((change("plan", deleted=True, old="trial"),), {}),
        {},
        Profile({}, {"plan": ORDER}),
        id="it_removes_an_attribute_a_change_event_deletes",
    ),
    pytest.param(
        None,
        ((), {"user_attributes": {"vip": None}}),
        {},
        Profile({"vip": "true"}, {"vip": ORDER}),
        id="it_keeps_a_user_tag_as_its_tag_value",
    ),
    pytest.param(
        stored(vip=True),
        ((), {"user_attributes": {"vip": None}}),
        {"user_tags_value": "null"},
        Profile({}, {"vip": ORDER}),
        id="it_removes_a_user_tag_sent_as_null_as_braze_does",
    ),
    pytest.param(
        None,
        ((change("plan", "premium"),), {"user_attributes": {"plan": "pro"}}),
        {},
        Profile({"plan": "premium"}, {"plan": ORDER}),
        id="it_applies_a_batch_s_attributes_then_its_change_events_as_braze_receives_them",
    ),
    pytest.param(
        None,
        ((), {"user_attributes": {"plan": "pro"}, "deleted_user_attributes": ["plan"]}),
        {},
        Profile({}, {"plan": ORDER}),
        id="it_applies_deletions_after_the_batch_s_attributes",
    ),
    pytest.param(
        Profile({"plan": "gold"}, {"plan": ORDER + 2}),
        ((change("plan", "premium"),), {"user_attributes": {"plan": "pro", "seen": "yes"}}),
        {},
        Profile({"plan": "gold", "seen": "yes"}, {"plan": ORDER + 2, "seen": ORDER}),
        id="it_never_overwrites_what_a_later_batch_already_set",
    ),
    pytest.param(
        Profile({}, {"plan": ORDER + 2}),
        ((), {"user_attributes": {"plan": "pro"}}),
        {},
        Profile({}, {"plan": ORDER + 2}),
        id="it_never_brings_back_what_a_later_batch_removed",
    ),
    pytest.param(
        Profile({"plan": "gold"}, {"plan": ORDER}),
        ((), {"user_attributes": {"plan": "pro"}}),
        {},
        Profile({"plan": "pro"}, {"plan": ORDER}),
        id="it_applies_a_batch_over_its_own_stamp_when_mapped_again",
    ),
    pytest.param(
        None,
        ((), {"user_attributes": {"address": {"city": "Oslo"}, "plan": "pro"}}),
        {},
        Profile({"plan": "pro"}, {"plan": ORDER}),
        id="it_keeps_nothing_of_a_value_braze_would_not_take",
    ),
    pytest.param(
        None,
        ((), {"user_attributes": {"plan": "pro", "secret": "s"}}),
        {"attribute_denylist": ("secret",)},
        Profile({"plan": "pro"}, {"plan": ORDER}),
        id="it_keeps_nothing_of_an_attribute_the_lists_leave_out",
    ),
    pytest.param(
        None,
        ((), {"user_identities": {"customer_id": "cust-42", "email": "jane@example.com"}}),
        {},
        Profile(),
        id="it_keeps_no_identity_the_email_comes_from_the_batch",
    ),
    pytest.param(
        None,
        ((event("push_registration", register=True, registration_token="t"),), {}),
        {},
        Profile(),
        id="it_keeps_no_push_token",
    ),
]


@pytest.mark.parametrize(("before", "given", "settings", "after"), MERGE_CASES)
def test_the_profile_after_a_batch(
    before: Profile | None,
    given: tuple[tuple[dict[str, Any], ...], dict[str, Any]],
    settings: dict[str, Any],
    after: Profile,
) -> None:
    events, top = given

    result = mapped(*events, stored=before, top=top, **settings)

    assert result.profile == after


# (stored profile, the batch, settings) → the attributes objects sent, in order
SENT_CASES: list[Any] = [
    pytest.param(
        stored(plan="pro", city="Oslo"),
        ((), {"user_attributes": {"seen": "yes"}}),
        {},
        [{**USER, "plan": "pro", "city": "Oslo", "seen": "yes"}],
        id="enriched_the_batch_carries_the_stored_attributes_it_omits",
    ),
    pytest.param(
        stored(plan="pro", city="Oslo"),
        ((), {"user_attributes": {"seen": "yes"}}),
        {"include_enriched_user_attributes": False},
        [{**USER, "seen": "yes"}],
        id="not_enriched_the_batch_carries_only_its_own_attributes",
    ),
    pytest.param(
        stored(plan="pro"),
        ((), {}),
        {},
        [{**USER, "plan": "pro"}],
        id="enriched_a_batch_of_events_only_carries_the_profile",
    ),
    pytest.param(
        stored(plan="pro"),
        ((), {}),
        {"include_enriched_user_attributes": False},
        [],
        id="not_enriched_a_batch_of_events_only_carries_no_attributes",
    ),
    pytest.param(
        stored(plan="trial", city="Oslo"),
        ((change("plan", "premium"),), {}),
        {},
        [{**USER, "city": "Oslo"}, {**USER, "plan": "premium"}],
        id="enriched_an_attribute_a_change_event_carries_is_not_sent_twice",
    ),
    pytest.param(
        stored(plan="trial", vip=True),
        ((), {"deleted_user_attributes": ["plan"]}),
        {},
        [{**USER, "vip": True, "plan": None}],
        id="enriched_a_deletion_is_sent_as_null_beside_the_profile",
    ),
    pytest.param(
        Profile({"plan": "gold"}, {"plan": ORDER + 2}),
        ((), {"user_attributes": {"plan": "pro"}}),
        {},
        [{**USER, "plan": "pro"}],
        id="a_batch_mapped_late_still_sends_its_own_value_braze_gets_the_later_one_after_it",
    ),
    pytest.param(
        stored(first_name="Jane", plan="pro"),
        ((), {}),
        {"attribute_denylist": ("$FirstName",)},
        [{**USER, "plan": "pro"}],
        id="enriched_a_stored_attribute_the_lists_now_refuse_stays_home",
    ),
    pytest.param(
        stored(first_name="Jane", plan="pro"),
        ((), {}),
        {"attribute_allowlist": ("first_name",)},
        [{**USER, "first_name": "Jane"}],
        id="enriched_the_allowlist_matches_a_stored_attribute_by_its_braze_name",
    ),
    pytest.param(
        stored(plan="pro"),
        ((), {"user_identities": {"customer_id": "cust-42", "email": "jane@example.com"}}),
        {},
        [{**USER, "email": "jane@example.com", "plan": "pro"}],
        id="enriched_the_email_identity_travels_beside_the_profile",
    ),
]


@pytest.mark.parametrize(("before", "given", "settings", "sent"), SENT_CASES)
def test_the_attributes_sent_with_a_batch(
    before: Profile,
    given: tuple[tuple[dict[str, Any], ...], dict[str, Any]],
    settings: Any,
    sent: Any,
) -> None:
    events, top = given

    result = mapped(*events, stored=before, top=top, **settings)

    assert result.bodies(ObjectKind.ATTRIBUTES) == sent
    assert result.issues == ()


def test_the_batch_s_attributes_object_comes_first_and_names_no_event() -> None:
    result = mapped(change("plan", "premium"), stored=stored(city="Oslo"))

    assert [(o.kind, o.event_index) for o in result.objects] == [
        (ObjectKind.ATTRIBUTES, None),
        (ObjectKind.ATTRIBUTES, 0),
    ]


def test_an_attribute_past_the_count_limit_is_sent_but_not_kept() -> None:
    limits = ProfileLimits(max_attributes=2)

    result = mapped(
        stored=stored(a=1, b=2),
        limits=limits,
        top={"user_attributes": {"a": 10, "c": 3, "d": 4}},
    )

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "a": 10, "b": 2, "c": 3, "d": 4}]
    assert result.profile == Profile(
        {"a": 10, "b": 2}, {"a": ORDER, "b": 3, "c": ORDER, "d": ORDER}
    )
    assert list(result.issues) == [
        issue(K.PROFILE_FULL, "profile.d", "4", A.NOT_KEPT, None),
        issue(K.PROFILE_FULL, "profile.c", "3", A.NOT_KEPT, None),
    ]


def test_an_attribute_past_the_byte_limit_is_sent_but_not_kept() -> None:
    limits = ProfileLimits(max_bytes=40)
    long = "x" * 30

    result = mapped(stored=stored(a="1"), limits=limits, top={"user_attributes": {"b": long}})

    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "a": "1", "b": long}]
    assert result.profile is not None
    assert result.profile.attributes == {"a": "1"}
    assert list(result.issues) == [issue(K.PROFILE_FULL, "profile.b", long, A.NOT_KEPT, None)]


def test_a_profile_over_a_lowered_limit_keeps_what_it_had_and_takes_no_new_attribute() -> None:
    result = mapped(
        stored=stored(a=1, b=2, c=3),
        limits=ProfileLimits(max_attributes=2),
        top={"user_attributes": {"a": 5, "d": 4}},
    )

    assert result.profile is not None
    assert result.profile.attributes == {"a": 5, "b": 2, "c": 3}
    assert [i.field_path for i in result.issues] == ["profile.d"]


def test_removals_are_remembered_for_as_many_names_as_attributes_the_oldest_forgotten() -> None:
    before = Profile({}, {"old": 1, "older": 0, "recent": 5})

    result = mapped(stored=before, limits=ProfileLimits(max_attributes=2))

    assert result.profile == Profile({}, {"old": 1, "recent": 5})


def test_without_a_stored_profile_the_result_carries_none_and_enrichment_sends_the_batch() -> None:
    result = map_batch(batch(user_attributes={"a": 1}, **WEB), context())

    assert result.profile is None
    assert result.bodies(ObjectKind.ATTRIBUTES) == [{**USER, "a": 1}]


def test_a_batch_dropped_for_want_of_a_user_changes_no_profile() -> None:
    raw = {"user_attributes": {"plan": "pro"}, "events": []}

    result = map_batch(raw, context(), ProfileInput(stored(a=1), ORDER))

    assert (result.objects, result.profile) == ((), None)


JOIN_CASES: list[Any] = [
    pytest.param(
        Profile({"a": 1, "b": 5}, {"a": 3, "b": 5}),
        Profile({"a": 1, "c": 7}, {"a": 3, "c": 7}),
        Profile({"a": 1, "b": 5, "c": 7}, {"a": 3, "b": 5, "c": 7}),
        id="each_keeps_what_the_other_did_not_touch",
    ),
    pytest.param(
        Profile({"a": "later"}, {"a": 9}),
        Profile({"a": "earlier"}, {"a": 7}),
        Profile({"a": "later"}, {"a": 9}),
        id="the_later_batch_wins_though_the_earlier_was_stored_last",
    ),
    pytest.param(
        Profile({"a": "earlier"}, {"a": 7}),
        Profile({"a": "later"}, {"a": 9}),
        Profile({"a": "later"}, {"a": 9}),
        id="the_later_batch_wins_when_stored_last",
    ),
    pytest.param(
        Profile({}, {"a": 9}),
        Profile({"a": "earlier"}, {"a": 7}),
        Profile({}, {"a": 9}),
        id="a_later_removal_wins_over_an_earlier_set",
    ),
    pytest.param(
        Profile({"a": "earlier"}, {"a": 7}),
        Profile({}, {"a": 9}),
        Profile({}, {"a": 9}),
        id="a_later_removal_wins_over_a_stored_set",
    ),
]


@pytest.mark.parametrize(("stored_first", "ours", "joined"), JOIN_CASES)
def test_two_workers_outcomes_join_by_arrival_order(
    stored_first: Profile, ours: Profile, joined: Profile
) -> None:
    assert profile_join(stored_first, ours, ProfileLimits()) == joined


def test_a_join_over_the_limit_drops_what_the_joining_side_gained() -> None:
    joined = profile_join(
        Profile({"a": 1, "b": 2}, {"a": 3, "b": 8}),
        Profile({"a": 1, "c": 3}, {"a": 3, "c": 7}),
        ProfileLimits(max_attributes=2),
    )

    assert joined == Profile({"a": 1, "b": 2}, {"a": 3, "b": 8, "c": 7})
