"""The Web SDK's endpoints: no body whatsoever earns a 5xx (bytes, and JSON shaped like each
request with anything in its fields)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from connections.models import Connection
from tests.connections.inbound.test_inbound_fuzz import FUZZ, JSON_VALUES, TEXT
from tests.connections.websdk.websdk_helpers import post_alias, post_identity, post_upload

pytestmark = pytest.mark.django_db

IDENTITY_PATHS = ["/identity/v1/identify", "/identity/v1/login", "/identity/v1/42/modify"]
IDENTITIES = st.dictionaries(
    st.sampled_from(["customerid", "email", "other", "device_application_stamp"]) | TEXT,
    JSON_VALUES,
    max_size=4,
)
IDENTITY_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "known_identities": IDENTITIES | JSON_VALUES,
        "identity_changes": st.lists(
            st.fixed_dictionaries(
                {}, optional={"identity_type": TEXT | JSON_VALUES, "new_value": JSON_VALUES}
            ),
            max_size=3,
        )
        | JSON_VALUES,
    },
)
ALIAS_BODIES = st.fixed_dictionaries(
    {"request_type": st.just("alias") | JSON_VALUES, "request_id": TEXT | JSON_VALUES},
    optional={
        "data": st.dictionaries(
            st.sampled_from(
                ["source_mpid", "destination_mpid", "start_unixtime_ms", "end_unixtime_ms"]
            ),
            JSON_VALUES,
        )
        | JSON_VALUES
    },
)


@pytest.fixture
def open_limits(settings: Any) -> None:
    settings.MPBRAZE_IDENTITY_REQUESTS_PER_MINUTE = 1_000_000


@FUZZ
@given(body=st.binary(max_size=300), path=st.sampled_from(IDENTITY_PATHS))
def test_identity_requests_never_answer_5xx_to_random_bytes(
    client: Client, connection: Connection, open_limits: None, body: bytes, path: str
) -> None:
    response = post_identity(client, path, body, key=connection.web_key)
    assert response.status_code in (200, 400), response.content


@FUZZ
@given(body=IDENTITY_BODIES, path=st.sampled_from(IDENTITY_PATHS))
def test_identity_requests_never_answer_5xx_to_random_json(
    client: Client, connection: Connection, open_limits: None, body: Any, path: str
) -> None:
    response = post_identity(client, path, json.dumps(body).encode(), key=connection.web_key)
    assert response.status_code in (200, 400), response.content


@FUZZ
@given(body=ALIAS_BODIES | st.binary(max_size=200))
def test_alias_requests_never_answer_5xx(
    client: Client, connection: Connection, open_limits: None, body: Any
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = post_alias(client, connection.web_key, data)
    assert response.status_code in (202, 400), response.content


@FUZZ
@given(body=st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_uploads_never_answer_5xx(client: Client, connection: Connection, body: bytes) -> None:
    response = post_upload(client, connection.web_key, body)
    assert response.status_code in (202, 400, 413), response.content


@FUZZ
@given(body=st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_forwarding_statistics_never_answer_5xx(
    client: Client, connection: Connection, body: bytes
) -> None:
    response = client.generic(
        "POST",
        f"/v1/JS/{connection.web_key}/Forwarding",
        data=body,
        content_type="application/json",
    )
    assert response.status_code in (202, 400, 413), response.content
