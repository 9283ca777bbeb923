"""mpbraze/jsoncodec.py gives the standard library's values, orjson or not."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given

from mpbraze import jsoncodec
from tests.json_values import values

VALUES = values()


@given(VALUES)
def test_values_round_trip_as_with_the_standard_library(value: Any) -> None:
    assert jsoncodec.loads(jsoncodec.dumps(value)) == json.loads(json.dumps(value))


@given(VALUES)
def test_text_written_by_the_standard_library_reads_the_same(value: Any) -> None:
    text = json.dumps(value)
    assert jsoncodec.loads(text) == json.loads(text)
    assert jsoncodec.loads(text.encode()) == json.loads(text)


def test_what_orjson_refuses_goes_to_the_standard_library() -> None:
    big = 2**70
    assert jsoncodec.loads(f'{{"n": {big}}}') == {"n": big}
    assert jsoncodec.loads(jsoncodec.dumps({"n": [big, -big]})) == {"n": [big, -big]}
    assert jsoncodec.loads(jsoncodec.dumps({1: "a"})) == {"1": "a"}  # as json.dumps writes it


def test_non_ascii_text_round_trips() -> None:
    value = {"name": "Zoë ☕ 𝄞", "tags": ["é", "\u2028"]}
    assert jsoncodec.loads(jsoncodec.dumps(value)) == value


def test_integers_past_64_bits_keep_every_digit() -> None:
    for number in (2**63, -(2**63) - 1, 2**64, 10**30):
        assert jsoncodec.loads(f"[{number}]") == [number]
    assert jsoncodec.loads("[1e400]") == [float("inf")]  # as json reads it


def test_datetimes_are_written_as_isoformat_writes_them() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 7, 12, 30, 5, 123456, tzinfo=UTC)
    assert jsoncodec.loads(jsoncodec.dumps({"at": moment})) == {"at": moment.isoformat()}
    big = {"at": moment, "n": 2**70}  # through the standard library, with the same default
    written = jsoncodec.dumps(big, default=lambda value: value.isoformat())
    assert jsoncodec.loads(written) == {"at": moment.isoformat(), "n": 2**70}
