"""An issue's example value: the string as it came, anything else as short JSON text."""

from __future__ import annotations

from typing import Any

import pytest

from mapping.issues import EXAMPLE_LENGTH, example_of


@pytest.mark.parametrize(
    ("value", "example"),
    [
        pytest.param("Paris", "Paris", id="it_keeps_a_string_unquoted"),
        pytest.param(None, "", id="it_leaves_a_missing_value_empty"),
        pytest.param({"a": 1}, '{"a": 1}', id="it_writes_an_object_as_json"),
        pytest.param(["a", "b"], '["a", "b"]', id="it_writes_an_array_as_json"),
        pytest.param(True, "true", id="it_writes_a_boolean_as_json"),
        pytest.param(float("nan"), "NaN", id="it_writes_nan_as_the_source_json_spells_it"),
        pytest.param({"z": 1, "a": 2}, '{"z": 1, "a": 2}', id="it_keeps_the_keys_in_order"),
        pytest.param({"é": "ü"}, '{"é": "ü"}', id="it_keeps_accents_readable"),
        pytest.param(
            {"a": {"b": {"c": 1}}, "l": [[[1]]]},
            '{"a": {"b": {…}}, "l": [[…]]}',
            id="it_stops_two_levels_down",
        ),
        pytest.param(list(range(10)), "[0, 1, 2, 3, 4, 5, …]", id="it_shows_the_first_six_items"),
        pytest.param(10**5000, "<int>", id="it_names_the_type_of_a_number_it_cannot_write"),
    ],
)
def test_an_example_reads_as_the_value_was_sent(value: Any, example: str) -> None:
    assert example_of(value) == example


def test_a_long_example_is_cut_at_the_column_width() -> None:
    assert example_of({"text": "x" * 500}) == '{"text": "' + "x" * (EXAMPLE_LENGTH - 10)
