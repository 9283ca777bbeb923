"""Builders for ``/users/track`` bodies and a sender, shared by the fake Braze tests."""

from __future__ import annotations

from typing import Any

import httpx

KEY = "track-key"
PARSE_ERROR = {"error": "Error while parsing request body. Please check your syntax."}
VALID_DATA = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."

# One pooled client for the whole module: building an httpx.Client costs ~50 ms (TLS setup).
SHARED_CLIENT = httpx.Client(timeout=10)


def attribute(external_id: Any = "u1", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, **fields}


def event(external_id: str = "u1", **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": "played", "time": "2024-11-10T18:00:00Z", **fields}


def purchase(external_id: str = "u1", **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "product_id": "sku-1",
        "currency": "USD",
        "price": 9.99,
        "time": "2024-11-10T18:00:00Z",
        **fields,
    }


def many(count: int, builder: Any = attribute) -> list[dict[str, Any]]:
    return [builder(f"u{number}") for number in range(count)]


def track(
    url: str, body: object, key: str | None = KEY, client: httpx.Client | None = None, **kw: Any
) -> httpx.Response:
    """POST ``body`` as JSON to ``/users/track`` with a bearer key (``None``: no header)."""
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else httpx.Request("POST", url, json=body).content
    sender = client or SHARED_CLIENT
    return sender.post(f"{url}/users/track", content=content, headers=headers, **kw)
