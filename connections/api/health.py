"""``GET /api/v1/health``: the readiness checks of ``/readyz``, for ops tools holding a token."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from connections.api.auth import token
from connections.api.common import ERRORS
from connections.probes.readiness import readiness_checks

router = Router(tags=["health"])


class ReadinessCheckOut(Schema):
    name: str
    ok: bool
    detail: str


class ReadinessOut(Schema):
    status: str
    failing: list[str]
    checks: list[ReadinessCheckOut]


@router.get(
    "/health",
    response={200: ReadinessOut, 503: ReadinessOut, **ERRORS},
    auth=token("read", "connections.view_connection"),
)
def health(request: HttpRequest) -> Status[Any]:
    """Database, broker, worker heartbeat and the oldest due row; 503 names what fails."""
    checks = readiness_checks()
    failing = [c.name for c in checks if not c.ok]
    body = {
        "status": "unavailable" if failing else "ok",
        "failing": failing,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
    }
    return Status(503 if failing else 200, body)
