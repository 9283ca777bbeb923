"""Deliveries, failed sends (the admin's filters, shared through ``audit.selectors``) and
failure groups, read over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from connections.api.auth import token
from connections.api.common import ERRORS
from connections.api.errors import not_found
from connections.api.pagination import MAX_LIMIT, page
from connections.api.schemas import Page
from connections.audit import selectors as audit
from connections.audit.display import masked
from connections.audit.models import FailureGroup
from connections.delivery.models import Delivery
from connections.rules.ids import DatabaseId

router = Router(tags=["deliveries"])
VIEW = token("read", "connections.view_delivery")
VIEW_FAILED = token("read", "connections.view_failedsend")
VIEW_GROUPS = token("read", "connections.view_failuregroup")


class DeliveryOut(Schema):
    id: int
    connection_id: int
    platform: str
    kind: str
    user_key: str
    event_name: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    last_status_code: int | None
    error_class: str
    last_error: str
    failure_group_id: int | None
    replay_count: int
    objects: int = Field(description="The Braze objects the row holds: a user's of one batch.")


class AttemptOut(Schema):
    started_at: datetime
    duration_ms: int | None
    object_count: int
    outcome: str
    status_code: int | None
    error_class: str
    braze_message: str


class DeliveryDetail(DeliveryOut):
    body: Any = Field(description="The row's first object.")
    more: list[Any] = Field(description="Its further objects, each with its sequence and body.")
    http_attempts: list[AttemptOut]


class FailedSendFilters(Schema):
    """The failed-sends filters of the audit (``connections.audit.selectors.FILTERS``), each
    a query parameter of the same name; a test keeps the two lists equal."""

    connection: str | None = None
    group: str | None = None
    kind: str | None = None
    error_class: str | None = None
    status_code: str | None = None
    braze_error: str | None = None
    platform: str | None = None
    state: str | None = None
    status: str | None = None
    failed_since: str | None = None
    failed_before: str | None = None
    q: str | None = None


class DeliveryPage(Page):
    items: list[DeliveryOut]


class FailureGroupOut(Schema):
    id: int
    connection_id: int
    platform: str
    kind: str
    status_class: str
    braze_error: str
    title: str
    status: str
    count: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    sample_user: str
    sample_message: str


class FailureGroupPage(Page):
    items: list[FailureGroupOut]


DELIVERY_FIELDS = tuple(n for n in DeliveryOut.model_fields if n not in ("platform", "objects"))


def delivery_out(row: Delivery) -> dict[str, Any]:
    return {
        **{name: getattr(row, name) for name in DELIVERY_FIELDS},
        "platform": row.output.platform,
        "objects": row.size,
    }


def _deliveries() -> QuerySet[Delivery]:
    return Delivery.objects.select_related("output").defer("body", "more")


def _moment(field: str, value: str | None) -> datetime | None:
    return audit.parse_moment(field, value) if value else None


@router.get("/deliveries", response={200: DeliveryPage, **ERRORS}, auth=VIEW)
def deliveries_list(
    request: HttpRequest,
    connection: DatabaseId | None = None,
    status: Delivery.Status | None = None,
    since: str | None = None,
    before: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Every delivery row, newest first; ``since``/``before`` bound when it was queued."""
    rows = _deliveries()
    if connection is not None:
        rows = rows.filter(connection_id=connection)
    if status is not None:
        rows = rows.filter(status=status)
    if (start := _moment("since", since)) is not None:
        rows = rows.filter(created_at__gte=start)
    if (end := _moment("before", before)) is not None:
        rows = rows.filter(created_at__lt=end)
    return page(rows, cursor=cursor, limit=limit, render=delivery_out)


@router.get("/deliveries/{delivery_id}", response={200: DeliveryDetail, **ERRORS}, auth=VIEW)
def deliveries_read(request: HttpRequest, delivery_id: DatabaseId) -> dict[str, Any]:
    row = Delivery.objects.select_related("output").filter(pk=delivery_id).first()
    if row is None:
        raise not_found("delivery")
    attempts = row.http_attempts.order_by("started_at")
    return {
        **delivery_out(row),
        "body": masked(row.body),
        "more": [{**item, "body": masked(item["body"])} for item in row.more],
        "http_attempts": [
            {name: getattr(a, name) for name in AttemptOut.model_fields} for a in attempts
        ],
    }


@router.get("/failed-sends", response={200: DeliveryPage, **ERRORS}, auth=VIEW_FAILED)
def failed_sends_list(
    request: HttpRequest,
    filters: Query[FailedSendFilters],
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Rows that ever failed, with the admin's filters; open ones (dead or rejected) unless
    ``state`` says replayed, discarded or all."""
    params = filters.model_dump(exclude_none=True)
    rows = audit.failed_sends(params, base=_deliveries().filter(failed_at__isnull=False))
    return page(rows, cursor=cursor, limit=limit, render=delivery_out)


def group_out(group: FailureGroup) -> dict[str, Any]:
    names = [name for name in FailureGroupOut.model_fields if name != "platform"]
    return {**{name: getattr(group, name) for name in names}, "platform": group.output.platform}


@router.get("/failure-groups", response={200: FailureGroupPage, **ERRORS}, auth=VIEW_GROUPS)
def failure_groups_list(
    request: HttpRequest,
    connection: DatabaseId | None = None,
    status: FailureGroup.Status | None = None,
    kind: FailureGroup.Kind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    rows = FailureGroup.objects.select_related("output")
    if connection is not None:
        rows = rows.filter(connection_id=connection)
    if status is not None:
        rows = rows.filter(status=status)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return page(rows, cursor=cursor, limit=limit, render=group_out)
