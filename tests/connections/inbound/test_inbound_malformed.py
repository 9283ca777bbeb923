"""Inbound API: every malformed body gets 400 naming the problem's JSON path; nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from connections.delivery.models import InboundBatch
from connections.models import Connection
from tests.connections.inbound_helpers import Sender, custom_event, error_body

EMPTY = (
    "The request body is empty (the mParticle SDK sends no body for an empty Batch "
    "or an empty list of batches)."
)
MISSING_TYPE = 'Required event field "event_type" is missing or empty.'
NUL = "Text contains a NUL character (\\u0000), which cannot be stored."
SURROGATE = "Text contains an unpaired UTF-16 surrogate escape, which is not valid Unicode."


def deep(levels: int) -> str:
    return '{"user_attributes":' + '{"a":' * (levels - 1) + "1" + "}" * levels


MALFORMED: list[Any] = [
    pytest.param(b"", EMPTY, id="it_refuses_an_empty_body"),
    pytest.param(b"  \n", EMPTY, id="it_refuses_a_blank_body"),
    pytest.param(
        b'{"events": [',
        "The body is not valid JSON: Expecting value: line 1 column 13 (char 12).",
        id="it_refuses_truncated_json",
    ),
    pytest.param(
        b'{"mpid": NaN}',
        "The body is not valid JSON: NaN is not a JSON number.",
        id="it_refuses_nan",
    ),
    pytest.param(
        b'{"mpid": Infinity}',
        "The body is not valid JSON: Infinity is not a JSON number.",
        id="it_refuses_infinity",
    ),
    pytest.param(
        b'{"mpid": -Infinity}',
        "The body is not valid JSON: -Infinity is not a JSON number.",
        id="it_refuses_negative_infinity",
    ),
    pytest.param(
        b'{"mpid": 1e400}',
        "mpid: Number is out of range for a double-precision float.",
        id="it_refuses_a_number_that_overflows_a_double",
    ),
    pytest.param(
        b'{"mpid": ' + b"9" * 5000 + b"}",
        "The body is not valid JSON: a number has too many digits.",
        id="it_refuses_an_integer_of_thousands_of_digits",
    ),
    pytest.param(
        b'{"ip": "caf\xe9"}',
        "The body is not valid UTF-8 (byte 11).",
        id="it_refuses_bytes_that_are_not_utf8",
    ),
    pytest.param(
        b'{"ip": "\xed\xa0\x80"}',
        "The body is not valid UTF-8 (byte 8).",
        id="it_refuses_a_raw_utf8_encoded_surrogate",
    ),
    pytest.param(
        b'{"user_attributes": {"name": "a\\u0000b"}}',
        f"user_attributes.name: {NUL}",
        id="it_refuses_a_nul_escape_in_a_value",
    ),
    pytest.param(
        b'{"user_attributes": {"a\\u0000": "b"}}',
        "user_attributes: A key contains a NUL character (\\u0000), which cannot be stored.",
        id="it_refuses_a_nul_escape_in_a_key",
    ),
    pytest.param(
        b'{"events": [{"event_type": "custom_event", "data": {"event_name": "\\ud800"}}]}',
        f"events[0].data.event_name: {SURROGATE}",
        id="it_refuses_a_lone_surrogate_escape",
    ),
    pytest.param(
        b'{"user_attributes": {"odd key": "\\udc00"}}',
        f'user_attributes["odd key"]: {SURROGATE}',
        id="it_quotes_a_key_that_is_not_a_plain_name_in_the_path",
    ),
    pytest.param(
        deep(33).encode(),
        "user_attributes.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: "
        "Nested deeper than 32 levels; flatten this data.",
        id="it_refuses_nesting_deeper_than_32_levels",
    ),
    pytest.param(
        b"[" * 100_000 + b"]" * 100_000,
        "The body is nested deeper than 32 levels.",
        id="it_refuses_nesting_too_deep_for_the_json_parser",
    ),
    pytest.param(
        [{"events": []}],
        "The body must be a JSON object holding one batch; "
        "send arrays of batches to /v2/bulkevents.",
        id="it_refuses_an_array_sent_to_events",
    ),
    pytest.param(
        b'"just text"',
        "The body must be a JSON object holding one batch; "
        "send arrays of batches to /v2/bulkevents.",
        id="it_refuses_a_string_sent_to_events",
    ),
    pytest.param(
        {"events": {"event_type": "custom_event"}},
        'events: "events" must be an array of events.',
        id="it_refuses_events_that_are_not_an_array",
    ),
    pytest.param(
        {"events": [custom_event(), "x"]},
        "events[1]: An event must be a JSON object.",
        id="it_refuses_an_event_that_is_not_an_object",
    ),
    pytest.param(
        {"events": [custom_event(), custom_event(), {"data": {"event_name": "ctor-event"}}]},
        f"events[2].event_type: {MISSING_TYPE}",
        id="it_refuses_an_event_without_event_type_as_the_sdk_constructor_sends_it",
    ),
    pytest.param(
        {"events": [{"event_type": " ", "data": {}}]},
        f"events[0].event_type: {MISSING_TYPE}",
        id="it_refuses_an_empty_event_type",
    ),
    pytest.param(
        {"events": [{"event_type": 7, "data": {}}]},
        'events[0].event_type: "event_type" must be a string.',
        id="it_refuses_an_event_type_that_is_not_a_string",
    ),
    pytest.param(
        {"events": [{"event_type": "custom_event", "data": ["x"]}]},
        'events[0].data: "data" must be a JSON object.',
        id="it_refuses_event_data_that_is_not_an_object",
    ),
    pytest.param(
        {"user_identities": ["cust-42"]},
        "user_identities: Must be an object.",
        id="it_refuses_user_identities_that_are_not_an_object",
    ),
]


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_events(sender: Sender, body: Any, message: str) -> None:
    response = sender.post("/v2/events", body)

    assert response.status_code == 400
    assert response.json() == error_body("BAD_REQUEST", message)
    assert not InboundBatch.objects.exists()


@pytest.mark.django_db
def test_it_lists_several_problems_of_one_batch(sender: Sender) -> None:
    body = {"events": [{"data": {}}, {"event_type": "custom_event", "data": 1}]}

    response = sender.post("/v2/events", body)

    assert response.json() == error_body(
        "BAD_REQUEST",
        f"events[0].event_type: {MISSING_TYPE}",
        'events[1].data: "data" must be a JSON object.',
    )


@pytest.mark.django_db
def test_it_lists_at_most_ten_problems(sender: Sender) -> None:
    response = sender.post("/v2/events", {"events": [{}] * 50})

    messages = [error["message"] for error in response.json()["errors"]]
    assert messages == [f"events[{index}].event_type: {MISSING_TYPE}" for index in range(10)]
