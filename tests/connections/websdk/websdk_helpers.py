"""What the Web SDK sends to mpbraze's endpoints, for the tests of those endpoints."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from tests.responses import TestResponse

SITE = "http://shop.example"


def identity_body(stamp: str = "stamp-1", **identities: str | None) -> dict[str, Any]:
    """An identify/login/logout body as ``@mparticle/web-sdk`` builds it."""
    return {
        "client_sdk": {"platform": "web", "sdk_vendor": "mparticle", "sdk_version": "2.68.0"},
        "context": None,
        "environment": "production",
        "request_id": "5d1b9d8e-0000-4000-8000-000000000001",
        "request_timestamp_ms": 1_760_000_000_000,
        "previous_mpid": None,
        "known_identities": {**identities, "device_application_stamp": stamp},
    }


def post_identity(
    client: Client, path: str, body: Any, *, key: str, **headers: str
) -> TestResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic(
        "POST",
        path,
        data=data,
        content_type="application/json",
        headers={"x-mp-key": key, **headers},
    )


def sdk_upload(mpid: str = "4242", **fields: Any) -> dict[str, Any]:
    """A batch as ``@mparticle/web-sdk``'s batchUploader posts it (snake_case Events API)."""
    return {
        "source_request_id": "0b9a7f5e-6a64-4c1c-9d1e-000000000001",
        "mpid": mpid,
        "timestamp_unixtime_ms": 1_760_000_000_000,
        "environment": "development",
        "events": [
            {
                "event_type": "custom_event",
                "data": {
                    "event_name": "Viewed Shoes",
                    "custom_event_type": "navigation",
                    "timestamp_unixtime_ms": 1_760_000_000_000,
                    "custom_attributes": {"size": "42"},
                },
            }
        ],
        "device_info": {"platform": "web"},
        "application_info": {"application_version": "1.0"},
        "user_attributes": {"plan": "gold"},
        "user_identities": {"customer_id": "cust-1"},
        **fields,
    }


def post_upload(client: Client, key: str, body: Any, **headers: str) -> TestResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic(
        "POST",
        f"/v3/JS/{key}/events",
        data=data,
        content_type="text/plain;charset=UTF-8",
        headers=headers,
    )


def post_alias(client: Client, key: str, body: Any, **headers: str) -> TestResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic(
        "POST",
        f"/v1/identity/{key}/Alias",
        data=data,
        content_type="application/json",
        headers=headers,
    )
