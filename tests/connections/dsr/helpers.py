"""Shared pieces of the erasure tests: request bodies and a client with a ``dsr`` token."""

from __future__ import annotations

import uuid
from typing import Any

REQUEST_ID = "a7551968-d5d6-44b2-9831-815ac9017798"
PATH = "/opendsr/v3/requests"


def erasure(**fields: Any) -> dict[str, Any]:
    """An erasure as mParticle's v3 documentation writes one (identities as a dictionary)."""
    body: dict[str, Any] = {
        "regulation": "gdpr",
        "subject_request_id": str(uuid.uuid4()),
        "subject_request_type": "erasure",
        "submitted_time": "2026-12-01T15:00:00Z",
        "subject_identities": {"controller_customer_id": {"value": "cust-1", "encoding": "raw"}},
        "api_version": "3.0",
    }
    body.update(fields)
    return body
