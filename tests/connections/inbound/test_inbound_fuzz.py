"""Inbound API: no input whatsoever earns a 5xx (docs/api.md "Inbound API": never a 500)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.models import Connection
from tests.connections.inbound_helpers import Sender

PATHS = ["/v2/events", "/v2/bulkevents", "/v2/bulkevents/historical"]
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Text with NUL, lone surrogates and astral characters: what PostgreSQL jsonb trips over.
TEXT = st.text(
    st.one_of(
        st.characters(), st.sampled_from("\x00\ud800\udfff😀"), st.characters(categories=["Cs"])
    )
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=30,
)
EVENTS = st.lists(
    st.fixed_dictionaries({"event_type": st.one_of(TEXT, JSON_VALUES), "data": JSON_VALUES}),
    max_size=3,
)
BATCHES = st.dictionaries(TEXT, JSON_VALUES, max_size=4).flatmap(
    lambda extra: st.fixed_dictionaries({"events": EVENTS}).map(lambda batch: {**extra, **batch})
)


@pytest.fixture
def sender(client: Client, connection: Connection) -> Sender:
    return Sender(client, connection)


@pytest.mark.django_db
@FUZZ
@given(path=st.sampled_from(PATHS), body=st.binary(max_size=300))
def test_it_never_answers_5xx_to_random_bytes(sender: Sender, path: str, body: bytes) -> None:
    response = sender.post(path, body)

    assert response.status_code in (202, 400, 413), response.content


@pytest.mark.django_db
@FUZZ
@given(batch=BATCHES)
def test_it_never_answers_5xx_to_random_json_batches(sender: Sender, batch: Any) -> None:
    body = json.dumps(batch).encode()

    single = sender.post("/v2/events", body)
    bulk = sender.post("/v2/bulkevents", b"[" + body + b"]")

    assert single.status_code in (202, 400), single.content
    assert bulk.status_code == single.status_code, bulk.content
