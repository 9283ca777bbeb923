"""A sender for the inbound API tests: posts raw bodies with a connection's Basic credentials."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.test import Client

from connections import services
from connections.models import Connection
from tests.responses import TestResponse


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return (
        body.encode("utf-8", "surrogatepass")
        if isinstance(body, str)
        else json.dumps(body).encode()
    )


def error_body(code: str, *messages: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message} for message in messages]}


def custom_event(name: str = "Button Clicked", **data: Any) -> dict[str, Any]:
    return {"event_type": "custom_event", "data": {"event_name": name, **data}}


def sdk_batch(**fields: Any) -> dict[str, Any]:
    """A batch as the Python SDK serialises it (``customerid``, no ``environment``)."""
    return {
        "events": [custom_event(custom_event_type="navigation")],
        "user_identities": {"customerid": "cust-42", "email": "jane@example.com"},
        "mpid": "600868121729048600",
        **fields,
    }


class Sender:
    """One connection's client of the inbound API (its secret rotated so the test knows it)."""

    def __init__(self, client: Client, connection: Connection) -> None:
        self.client = client
        self.connection = connection
        self.key = connection.inbound_key
        self.secret = services.connection_rotate_inbound_secret(connection=connection)

    def post(self, path: str, body: Any, **extra: Any) -> TestResponse:
        extra.setdefault("HTTP_AUTHORIZATION", basic(self.key, self.secret))
        data = body_bytes(body)
        return self.client.generic(
            "POST", path, data=data, content_type="application/json", **extra
        )
