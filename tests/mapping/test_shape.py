"""validate_batch_shape: the structural problems the inbound API answers with 400."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.shape import MAX_PROBLEMS, validate_batch_shape

SHAPE_CASES: list[Any] = [
    pytest.param(
        [], [("$", "a batch must be a JSON object")], id="it_rejects_a_batch_that_is_not_an_object"
    ),
    pytest.param(
        {"events": {}},
        [("$.events", "must be an array")],
        id="it_rejects_events_that_are_not_an_array",
    ),
    pytest.param(
        {"events": ["x"]},
        [("$.events[0]", "an event must be a JSON object")],
        id="it_rejects_an_event_that_is_not_an_object",
    ),
    pytest.param(
        {
            "events": [
                {"event_type": "custom_event", "data": {}},
                {"data": {"event_name": "ctor-event"}},
            ]
        },
        [("$.events[1].event_type", "event_type is required")],
        id="it_names_the_event_missing_its_event_type",
    ),
    pytest.param(
        {"events": [{"event_type": 3}]},
        [("$.events[0].event_type", "event_type must be a string")],
        id="it_rejects_an_event_type_that_is_not_a_string",
    ),
    pytest.param(
        {"events": [{"event_type": "custom_event", "data": "x"}]},
        [("$.events[0].data", "data must be a JSON object")],
        id="it_rejects_event_data_that_is_not_an_object",
    ),
    pytest.param(
        {"user_identities": ["c"], "deleted_user_attributes": "a"},
        [
            ("$.user_identities", "must be an object"),
            ("$.deleted_user_attributes", "must be an array"),
        ],
        id="it_rejects_misshapen_top_level_fields",
    ),
    pytest.param(
        {"events": [{"event_type": "made_up_type"}], "mpid": "abc", "user_attributes": {"x": [{}]}},
        [],
        id="it_leaves_bad_values_and_unknown_event_types_to_the_mapping",
    ),
    pytest.param({}, [], id="it_accepts_an_empty_batch_object"),
]


@pytest.mark.parametrize(("batch", "problems"), SHAPE_CASES)
def test_it_checks_the_batch_shape(batch: Any, problems: list[tuple[str, str]]) -> None:
    assert validate_batch_shape(batch) == problems


def test_it_reports_at_most_a_bounded_number_of_problems() -> None:
    problems = validate_batch_shape({"events": [{}] * 1000})

    assert len(problems) == MAX_PROBLEMS
    assert problems[0] == ("$.events[0].event_type", "event_type is required")
