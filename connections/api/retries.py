"""Retry now over the API: a connection's objects waiting in backoff are made due at once,
as the connection page's button does (recorded in the connection's history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from connections.api.auth import token, user_of
from connections.api.common import ERRORS, connection_get
from connections.delivery import retry
from connections.rules.ids import DatabaseId

router = Router(tags=["delivery"])
RETRY = token("write", "connections.retry_connection")


class RetryNowOut(Schema):
    objects: int = Field(description="Objects that waited for a later attempt and are due now.")
    at: datetime
    by: str = Field(description="Who asked (recorded in the connection's history).")


@router.post("/connections/{pk}/retry-now", response={200: RetryNowOut, **ERRORS}, auth=RETRY)
def connections_retry_now(request: HttpRequest, pk: DatabaseId) -> dict[str, Any]:
    """Send every object of the connection that waits for a retry now, not at its scheduled
    time (after a fix). A paused connection sends them once it resumes."""
    done = retry.connection_retry_now(connection=connection_get(pk), user=user_of(request))
    return {"objects": done.objects, "at": done.at, "by": done.by}
