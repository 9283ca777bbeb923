"""The value checks' two walks agree: the quick one that builds no paths (every accepted
batch) and the one that names each problem's path (only when the quick one found one)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connections.inbound.batch_checks import (
    MAX_DEPTH,
    _value_problems,
    _values_storable,
    batch_problems,
)

TEXT = st.text(st.one_of(st.characters(), st.sampled_from("\x00\ud800\udfffa$")), max_size=6)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=25,
)


def nested(depth: int, leaf: Any, *, as_list: bool) -> Any:
    value = leaf
    for level in range(depth - 1):
        value = [value] if as_list or level % 2 else {"k": value}
    return value


def path_walk_finds_nothing(value: Any) -> bool:
    return next(_value_problems(value, ""), None) is None


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_quick_walk_accepts_exactly_what_the_path_walk_finds_nothing_in(value: Any) -> None:
    assert _values_storable(value) is path_walk_finds_nothing(value)


@settings(max_examples=100, deadline=None)
@given(st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2), SCALARS, st.booleans())
def test_both_walks_draw_the_depth_limit_at_the_same_level(
    depth: int, leaf: Any, as_list: bool
) -> None:
    value = nested(depth, leaf, as_list=as_list)
    assert _values_storable(value) is path_walk_finds_nothing(value)


def test_a_problem_found_by_the_quick_walk_is_still_named_with_its_path() -> None:
    batch = {"events": [{"data": {"custom_attributes": {"ok": "fine", "bad": "a\x00b"}}}]}

    assert _values_storable(batch) is False
    assert [str(p) for p in batch_problems(batch, "[3]")] == [
        "[3].events[0].data.custom_attributes.bad: Text contains a NUL character (\\u0000),"
        " which cannot be stored."
    ]


def test_a_key_with_a_lone_surrogate_and_a_non_finite_number_are_both_refused() -> None:
    assert _values_storable({"a\ud800": 1}) is False
    assert _values_storable({"n": [1.0, float("inf")]}) is False
    assert _values_storable({"n": [1.0, 2.5, "text", None, True]}) is True
