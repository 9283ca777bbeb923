"""build_track_requests: how Braze objects are packed into /users/track requests.

docs/mapping.md "Requests".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapping.objects import BrazeObject, ObjectKind
from mapping.output_settings import BatchSizeMode
from mapping.requests import MAX_OBJECT_BYTES, MAX_REQUEST_BYTES, build_track_requests
from tests.json_values import values

EVENTS, PURCHASES, ATTRIBUTES = ObjectKind.EVENTS, ObjectKind.PURCHASES, ObjectKind.ATTRIBUTES


def obj(
    kind: ObjectKind, user: str, event_index: int | None, n: int = 0, pad: int = 0
) -> BrazeObject:
    body: dict[str, Any] = {"external_id": user, "n": n}
    if pad:
        body["pad"] = "x" * pad
    return BrazeObject(kind, body, event_index, None, user)


def events(
    user: str, count: int, per_event: int = 1, kind: ObjectKind = EVENTS
) -> list[BrazeObject]:
    return [obj(kind, user, i, n=i * per_event + j) for i in range(count) for j in range(per_event)]


def sizes(objects: list[BrazeObject], mode: BatchSizeMode = BatchSizeMode.COMBINED_75) -> list[int]:
    return [len(request.index_map) for request in build_track_requests(objects, mode).requests]


COUNT_CASES: list[Any] = [
    pytest.param(
        events("u", 80),
        BatchSizeMode.COMBINED_75,
        [75, 5],
        id="it_puts_at_most_75_objects_in_a_request",
    ),
    pytest.param(
        events("u", 80),
        BatchSizeMode.COMBINED_50,
        [50, 30],
        id="it_puts_at_most_50_in_the_50_combined_mode",
    ),
    pytest.param(
        events("u", 75) + events("v", 75, kind=ATTRIBUTES),
        BatchSizeMode.PER_ARRAY_75,
        [150],
        id="it_allows_75_per_array_in_the_per_array_mode",
    ),
    pytest.param(
        events("u", 76, kind=ATTRIBUTES),
        BatchSizeMode.PER_ARRAY_75,
        [75, 1],
        id="it_still_caps_each_array_at_75",
    ),
    pytest.param(
        events("u", 19, per_event=4, kind=PURCHASES),
        BatchSizeMode.COMBINED_75,
        [72, 4],
        id="it_never_splits_one_source_events_objects_across_requests",
    ),
    pytest.param(
        events("a", 10) + events("b", 70),
        BatchSizeMode.COMBINED_75,
        [10, 70],
        id="it_starts_a_new_request_rather_than_split_a_user_who_fits_in_one",
    ),
    pytest.param(
        [obj(PURCHASES, "u", 0, n) for n in range(100)],
        BatchSizeMode.COMBINED_75,
        [75, 25],
        id="it_splits_an_event_with_more_objects_than_a_request_can_hold",
    ),
    pytest.param([], BatchSizeMode.COMBINED_75, [], id="it_makes_no_request_for_no_objects"),
]


@pytest.mark.parametrize(("objects", "mode", "expected"), COUNT_CASES)
def test_it_sizes_requests(
    objects: list[BrazeObject], mode: BatchSizeMode, expected: list[int]
) -> None:
    assert sizes(objects, mode) == expected


def test_it_keeps_each_users_objects_together_and_in_order() -> None:
    interleaved = [obj(EVENTS, user, i, n=i) for i in range(3) for user in ("a", "b")]

    (request,) = build_track_requests(interleaved, BatchSizeMode.COMBINED_75).requests

    assert [(body["external_id"], body["n"]) for body in request.body["events"]] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 0),
        ("b", 1),
        ("b", 2),
    ]


def test_it_maps_each_array_position_back_to_the_original_object() -> None:
    objects = [
        obj(EVENTS, "a", 0),
        obj(ATTRIBUTES, "a", None),
        obj(PURCHASES, "a", 1),
        obj(EVENTS, "a", 2),
    ]

    (request,) = build_track_requests(objects, BatchSizeMode.COMBINED_75).requests

    assert request.index_map == {
        ("events", 0): objects[0],
        ("attributes", 0): objects[1],
        ("purchases", 0): objects[2],
        ("events", 1): objects[3],
    }
    assert list(request.body) == ["attributes", "events", "purchases"]


def test_it_omits_empty_arrays_from_the_body() -> None:
    (request,) = build_track_requests([obj(EVENTS, "a", 0)], BatchSizeMode.COMBINED_75).requests

    assert request.body == {"events": [{"external_id": "a", "n": 0}]}


def test_it_refuses_an_object_over_100_kb_and_sends_the_rest() -> None:
    big = obj(EVENTS, "a", 0, pad=MAX_OBJECT_BYTES)
    small = obj(EVENTS, "a", 1)

    plan = build_track_requests([big, small], BatchSizeMode.COMBINED_75)

    assert plan.refused == (big,)
    assert [request.body for request in plan.requests] == [{"events": [small.body]}]


def test_it_keeps_every_request_well_under_4_mb() -> None:
    objects = [obj(EVENTS, "a", i, pad=90_000) for i in range(40)]

    plan = build_track_requests(objects, BatchSizeMode.COMBINED_75)

    measured = [len(json.dumps(request.body).encode()) for request in plan.requests]
    assert len(plan.requests) == 2
    assert max(measured) <= MAX_REQUEST_BYTES
    assert all(
        len(json.dumps(r.body, separators=(",", ":"))) <= r.size_bytes for r in plan.requests
    )


def test_what_is_sent_is_the_body_as_compact_json_from_each_objects_own_encoding() -> None:
    # Each object is encoded once, to be measured; the request is those encodings joined.
    unusual = {
        "external_id": 'ü\u2028"x\\\x7f',
        "n": 1.5,
        "small": 1e-7,
        "big": 2**70,  # past what orjson writes
        "nested": [None, True, {"k": "é"}],
    }
    objects = [
        obj(PURCHASES, "a", 1),
        obj(EVENTS, "a", 2),
        BrazeObject(ATTRIBUTES, unusual, None, None, "a"),
        *events("b", 80),
    ]

    plan = build_track_requests(objects, BatchSizeMode.PER_ARRAY_75)

    for request in plan.requests:
        assert request.content.isascii()  # so the measured length is the size in bytes
        assert json.loads(request.content) == request.body
        assert list(json.loads(request.content)) == list(request.body)  # arrays in order
        assert len(request.content) <= request.size_bytes
    assert len(plan.requests) == 2


BODIES = st.dictionaries(st.text(), values(max_leaves=20, max_size=4), max_size=6)


@given(st.lists(BODIES, min_size=1, max_size=8))
def test_any_objects_are_sent_as_ascii_json_of_their_exact_values(bodies: list[Any]) -> None:
    objects = [BrazeObject(EVENTS, body, n, None, "u") for n, body in enumerate(bodies)]
    plan = build_track_requests(objects, BatchSizeMode.COMBINED_75)
    sent = [item for request in plan.requests for item in json.loads(request.content)["events"]]
    assert sent == bodies
    assert all(request.content.isascii() for request in plan.requests)
