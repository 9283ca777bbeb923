"""Connectivity tests over the API: start one for a connection (every output) or one output,
then read it until its outcome is no longer ``pending``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from connections.api.auth import token, user_of
from connections.api.common import ERRORS, connection_get, output_get
from connections.api.errors import not_found
from connections.api.pagination import MAX_LIMIT, page
from connections.api.schemas import Page, Strict
from connections.connectivity import services
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.rules.ids import DatabaseId

router = Router(tags=["connectivity tests"])
VIEW = token("read", "connections.view_connectivitycheck")
RUN = token("write", "connections.test_connection")


class StepOut(Schema):
    name: str
    outcome: str
    latency_ms: int
    message: str


class CheckOut(Schema):
    id: int
    connection_id: int
    platform: str
    outcome: str = Field(description="pending, passed or failed.")
    verdict: str = Field(
        description="The outcome as the pages show it: pending, passed, failed, or not_probed "
        "(passed with every step skipped, e.g. an app output without an SDK endpoint)."
    )
    summary: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    steps: list[StepOut]


class CheckPage(Page):
    items: list[CheckOut]


class TestIn(Strict):
    platform: str | None = Field(None, description="One output; omit to test every output.")


def check_out(check: ConnectivityCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "connection_id": check.connection_id,
        "platform": check.output.platform,
        "outcome": check.outcome,
        "verdict": check.verdict,
        "summary": check.summary,
        "started_at": check.started_at,
        "finished_at": check.finished_at,
        "duration_ms": check.duration_ms,
        "steps": [
            {"name": s.name, "outcome": s.outcome, "latency_ms": s.latency_ms, "message": s.message}
            for s in check.steps.all()
        ],
    }


def _checks() -> QuerySet[ConnectivityCheck]:
    steps = Prefetch("steps", ConnectivityStep.objects.order_by("position"))
    return ConnectivityCheck.objects.select_related("output").prefetch_related(steps)


@router.post("/connections/{pk}/tests", response={202: list[CheckOut], **ERRORS}, auth=RUN)
def connectivity_tests_start(
    request: HttpRequest, pk: DatabaseId, payload: TestIn | None = None
) -> Status[Any]:
    """Start a test on a worker; the answer lists the checks, pending until they finish."""
    connection = connection_get(pk)
    user = user_of(request)
    if payload is not None and payload.platform:
        output = output_get(pk, payload.platform)
        started = [services.output_test_connectivity(output=output, started_by=user)]
    else:
        started = services.connection_test_connectivity(connection=connection, started_by=user)
    ids = [check.pk for check in started]
    return Status(202, [check_out(c) for c in _checks().filter(pk__in=ids).order_by("pk")])


@router.get("/connections/{pk}/tests", response={200: CheckPage, **ERRORS}, auth=VIEW)
def connectivity_tests_list(
    request: HttpRequest,
    pk: DatabaseId,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    connection = connection_get(pk)
    rows = _checks().filter(connection=connection)
    return page(rows, cursor=cursor, limit=limit, render=check_out)


@router.get("/tests/{check_id}", response={200: CheckOut, **ERRORS}, auth=VIEW)
def connectivity_tests_read(request: HttpRequest, check_id: DatabaseId) -> dict[str, Any]:
    check = _checks().filter(pk=check_id).first()
    if check is None:
        raise not_found("connectivity test")
    return check_out(check)
