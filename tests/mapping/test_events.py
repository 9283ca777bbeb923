"""Custom events, screen views, session events and event times (docs/mapping.md)."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.engine import map_batch
from mapping.issues import IssueAction as A
from mapping.issues import IssueKind as K
from mapping.objects import ObjectKind
from tests.mapping.helpers import (
    IOS_APP,
    T0,
    USER,
    batch,
    context,
    custom,
    event,
    event_body,
    issue,
    map_events,
)

TS_PATH = "events[*].data.timestamp_unixtime_ms"

EVENT_CASES: list[Any] = [
    pytest.param(
        [custom("Button Clicked", {"button": "buy", "count": 3, "ratio": 0.5, "flag": True})],
        {},
        [event_body("Button Clicked", {"button": "buy", "count": 3, "ratio": 0.5, "flag": True})],
        id="it_sends_a_custom_event_with_its_name_time_and_properties",
    ),
    pytest.param(
        [custom("Opened", {})],
        {},
        [event_body("Opened")],
        id="it_leaves_out_properties_when_the_event_has_no_attributes",
    ),
    pytest.param(
        [custom("$Opened", {"$source": "push"})],
        {},
        [event_body("Opened", {"source": "push"})],
        id="it_strips_a_leading_dollar_from_the_event_name_and_property_keys",
    ),
    pytest.param(
        [event("screen_view", screen_name="Checkout", custom_attributes={"tab": "cart"})],
        {"forward_screen_views": True},
        [event_body("Checkout", {"tab": "cart"})],
        id="it_sends_a_screen_view_named_after_the_screen_when_enabled",
    ),
    pytest.param(
        [event("session_start", session_id=12345678)],
        {"forward_session_events": True},
        [event_body("Session Start", {"session_id": 12345678})],
        id="it_sends_session_start_with_its_session_id_when_enabled",
    ),
    pytest.param(
        [event("session_end", session_uuid="91b8-edee", session_duration_ms=10)],
        {"forward_session_events": True},
        [event_body("Session End", {"session_id": "91b8-edee"})],
        id="it_sends_session_end_with_the_session_uuid_when_there_is_no_session_id",
    ),
    pytest.param(
        [custom("Tapped", {"x": "1"}, session_id=7)],
        {"forward_session_events": True},
        [event_body("Tapped", {"x": "1", "session_id": 7})],
        id="it_adds_the_session_id_to_custom_events_when_sessions_are_forwarded",
    ),
    pytest.param(
        [custom("Tapped", {"x": "1"}, session_id=7)],
        {},
        [event_body("Tapped", {"x": "1"})],
        id="it_adds_no_session_id_when_sessions_are_not_forwarded",
    ),
]


@pytest.mark.parametrize(("events", "settings", "expected"), EVENT_CASES)
def test_it_maps_events_to_braze_events(
    events: list[dict[str, Any]], settings: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    result = map_events(*events, **settings)

    assert result.bodies(ObjectKind.EVENTS) == expected
    assert result.issues == ()


@pytest.mark.parametrize(
    ("events", "settings"),
    [
        pytest.param([event("screen_view", screen_name="Home")], {}, id="screen_views_by_default"),
        pytest.param([event("session_start", session_id=1)], {}, id="session_start_by_default"),
        pytest.param([event("session_end", session_id=1)], {}, id="session_end_by_default"),
        pytest.param([event("application_state_transition")], {}, id="app_state_transitions"),
        pytest.param([event("push_registration", register=False)], {}, id="push_unregistration"),
    ],
)
def test_it_counts_events_it_does_not_forward_as_filtered(
    events: list[dict[str, Any]], settings: dict[str, Any]
) -> None:
    result = map_events(*events, **settings)

    assert result.objects == ()
    assert result.issues == ()
    assert result.filtered_count == 1


TIME_CASES: list[Any] = [
    pytest.param(
        {"timestamp_unixtime_ms": T0 + 1234},
        {},
        "2023-11-14T22:13:21.234Z",
        [],
        id="it_writes_the_event_timestamp_as_iso_8601_utc_with_milliseconds",
    ),
    pytest.param(
        {"timestamp_unixtime_ms": str(T0)},
        {},
        "2023-11-14T22:13:20.000Z",
        [],
        id="it_reads_a_timestamp_sent_as_a_string",
    ),
    pytest.param(
        {},
        {"timestamp_unixtime_ms": T0 + 60_000},
        "2023-11-14T22:14:20.000Z",
        [],
        id="it_falls_back_to_the_batch_timestamp_when_the_event_has_none",
    ),
    pytest.param(
        {},
        {},
        "2025-06-01T12:00:00.000Z",
        [issue(K.MISSING_TIMESTAMP, TS_PATH, "", A.COERCED)],
        id="it_dates_an_undated_event_at_mapping_time_and_records_it",
    ),
    pytest.param(
        {"timestamp_unixtime_ms": "yesterday"},
        {},
        "2025-06-01T12:00:00.000Z",
        [
            issue(K.INVALID_VALUE, TS_PATH, "yesterday", A.COERCED),
            issue(K.MISSING_TIMESTAMP, TS_PATH, "", A.COERCED),
        ],
        id="it_records_an_unreadable_timestamp_and_uses_the_next_best_time",
    ),
    pytest.param(
        {"timestamp_unixtime_ms": -5},
        {"timestamp_unixtime_ms": T0},
        "2023-11-14T22:13:20.000Z",
        [issue(K.INVALID_VALUE, TS_PATH, "-5", A.COERCED)],
        id="it_rejects_a_negative_timestamp_in_favour_of_the_batch_timestamp",
    ),
]


@pytest.mark.parametrize(("data", "top", "expected_time", "issues"), TIME_CASES)
def test_it_dates_events(
    data: dict[str, Any], top: dict[str, Any], expected_time: str, issues: list[Any]
) -> None:
    raw = {"event_type": "custom_event", "data": {"event_name": "E", **data}}

    result = map_batch(batch(raw, **top), context())

    assert result.bodies(ObjectKind.EVENTS)[0]["time"] == expected_time
    assert list(result.issues) == issues


NAME_PATH = "events[*].data.event_name"
NAME_ISSUE_CASES: list[Any] = [
    pytest.param(
        custom("x" * 256),
        issue(K.EVENT_NAME_TOO_LONG, NAME_PATH, "x" * 100, A.DROPPED_OBJECT),
        id="it_drops_an_event_whose_name_is_over_255_characters",
    ),
    pytest.param(
        {"event_type": "custom_event", "data": {"timestamp_unixtime_ms": T0}},
        issue(K.INVALID_VALUE, NAME_PATH, "", A.SKIPPED_EVENT),
        id="it_skips_a_custom_event_without_a_name",
    ),
    pytest.param(
        custom("$$$"),
        issue(K.INVALID_VALUE, NAME_PATH, "$$$", A.SKIPPED_EVENT),
        id="it_skips_an_event_whose_name_is_only_dollars",
    ),
    pytest.param(
        custom(["a"]),  # type: ignore[arg-type]  # a name no sender should send: the point
        issue(K.INVALID_VALUE, NAME_PATH, '["a"]', A.SKIPPED_EVENT),
        id="it_skips_an_event_whose_name_is_not_a_string",
    ),
]


@pytest.mark.parametrize(("raw", "expected_issue"), NAME_ISSUE_CASES)
def test_it_refuses_unsendable_event_names(raw: dict[str, Any], expected_issue: Any) -> None:
    result = map_events(raw)

    assert result.objects == ()
    assert result.issues == (expected_issue,)


def test_it_writes_a_numeric_event_name_as_text_and_records_it() -> None:
    result = map_events(custom(404))  # type: ignore[arg-type]  # a number where a name belongs

    assert result.bodies(ObjectKind.EVENTS) == [event_body("404")]
    assert result.issues == (issue(K.INVALID_VALUE, NAME_PATH, "404", A.COERCED),)


def test_it_adds_the_app_id_of_the_batch_platform_to_events() -> None:
    result = map_events(custom("E"), top={"device_info": {"platform": "iOS"}})

    assert result.bodies(ObjectKind.EVENTS) == [
        {**USER, "app_id": IOS_APP, "name": "E", "time": "2023-11-14T22:13:20.000Z"}
    ]


def test_it_sends_no_app_id_for_a_platform_without_an_app_output() -> None:
    result = map_events(custom("E"), top={"device_info": {"platform": "Android"}})

    assert "app_id" not in result.bodies(ObjectKind.EVENTS)[0]


def test_it_tags_each_object_with_its_source_event_index_and_message_id() -> None:
    raw = batch(custom("A"), custom("B", source_message_id="m-2"))

    result = map_batch(raw, context())

    assert [(o.event_index, o.event_id, o.user_key) for o in result.objects] == [
        (0, None, "cust-42"),
        (1, "m-2", "cust-42"),
    ]
