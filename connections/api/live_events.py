"""Live events over the API: a connection's events newest first with their fate, and one
event in full (as the Live events page shows them, redacted the same way)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field

from connections.api.auth import token, user_of
from connections.api.common import ERRORS, connection_get
from connections.api.errors import not_found
from connections.live import positions
from connections.live.detail import EventDetail, live_event_detail
from connections.live.filters import MAX_PLATFORM_LENGTH, MAX_VALUE_LENGTH, live_filters_parse
from connections.live.redaction import live_redacts, shown_user
from connections.live.selectors import MAX_LIMIT, LiveEvent, live_event_get, live_events_page
from connections.rules.ids import DatabaseId

router = Router(tags=["live events"])
VIEW = token("read", "connections.view_live_events")
EVENT_ID_PATTERN = r"^[0-9]{1,19}-([0-9]{1,6}|attributes)$"
FateName = Literal[
    "waiting", "queued", "sending", "sent", "retrying", "rejected", "dead", "discarded",
    "not_forwarded",
]  # fmt: skip


class LiveFilterQuery(Schema):
    user: str | None = Field(
        None, max_length=MAX_VALUE_LENGTH, description="Exact external id, MPID or email."
    )
    event_name: str | None = Field(
        None, max_length=MAX_VALUE_LENGTH, description="Part of the event name, any case."
    )
    fate: FateName | None = None
    platform: str | None = Field(None, max_length=MAX_PLATFORM_LENGTH)
    window: Literal["15m", "1h", "24h", "7d"] | None = Field(None, description="Default 7d.")
    cursor: str | None = Field(
        None, max_length=positions.MAX_TOKEN_LENGTH, description="next_cursor: older rows."
    )
    after: str | None = Field(
        None, max_length=positions.MAX_TOKEN_LENGTH, description="newest: rows newer than it."
    )


class LiveFateOut(Schema):
    fate: FateName
    label: str = Field(description="The fate in words, e.g. “rejected by Braze”.")
    detail: str = Field(description="When, Braze's answer, the next try, or why not sent.")


class LiveEventOut(Schema):
    id: str = Field(description="batch id - event index (or -attributes).")
    batch_id: int
    event_index: int | None
    received_at: datetime
    user: str
    platform: str
    event_type: str
    event_name: str
    fate: LiveFateOut
    objects: int = Field(description="Braze objects made of it.")


class LiveEventPage(Schema):
    items: list[LiveEventOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for older rows.")
    newest: str | None = Field(description="Pass as ?after= to poll for newer rows.")
    searched_back_to: datetime | None = Field(
        description="A filtered search read this far back in this request; go on with next_cursor."
    )
    more_newer: bool = Field(description="A poll found more newer rows than its limit.")


class LiveAttemptOut(Schema):
    id: int
    started_at: datetime
    outcome: str
    status_code: int | None
    answer: str = Field(description="Braze's answer for this object in that request.")


class LiveObjectOut(Schema):
    delivery_id: int
    kind: str
    status: str
    fate: FateName
    body: Any = Field(description="As sent (app_id masked).")
    attempts: list[LiveAttemptOut]
    failed_send_url: str = Field(description="The audit page with its replay, for a failure.")


class LiveIssueOut(Schema):
    kind: str
    label: str
    field_path: str
    action: str
    example: str


class LiveEventDetailOut(LiveEventOut):
    source: Any = Field(
        description="The event as received (the batch's user data for -attributes)."
    )
    braze_objects: list[LiveObjectOut]
    issues: list[LiveIssueOut]
    issues_url: str


def live_event_out(event: LiveEvent, *, redact: bool) -> dict[str, Any]:
    slot = event.slot
    return {
        "id": positions.event_id(slot.position),
        "batch_id": slot.position.batch_id,
        "event_index": slot.position.event_index,
        "received_at": slot.received_at,
        "user": shown_user(slot.user, redact=redact),
        "platform": slot.platform,
        "event_type": slot.event_type,
        "event_name": slot.event_name,
        "fate": {
            "fate": event.fate.fate.value,
            "label": event.fate.label,
            "detail": event.fate.detail,
        },
        "objects": len(event.deliveries),
    }


@router.get("/{pk}/events", response={200: LiveEventPage, **ERRORS}, auth=VIEW)
def live_events_list(
    request: HttpRequest,
    pk: DatabaseId,
    filters: Query[LiveFilterQuery],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """The connection's events newest first, with their fate; ``after`` polls for newer ones.
    A filter no index serves reads a bounded number of batches per request (see
    ``searched_back_to``)."""
    connection = connection_get(pk)
    params = filters.model_dump(exclude_none=True)
    before = positions.cursor_decode(params["cursor"]) if params.get("cursor") else None
    after = positions.cursor_decode(params["after"], field="after") if params.get("after") else None
    page = live_events_page(
        connection=connection,
        filters=live_filters_parse(params),
        before=before,
        after=after,
        limit=limit,
    )
    redact = live_redacts(connection, user_of(request))
    token_of = positions.cursor_encode
    return {
        "items": [live_event_out(event, redact=redact) for event in page.events],
        "next_cursor": token_of(page.next_cursor) if page.next_cursor else None,
        "newest": token_of(page.newest) if page.newest else None,
        "searched_back_to": page.searched_back_to,
        "more_newer": page.more_newer,
    }


@router.get("/{pk}/events/{event_id}", response={200: LiveEventDetailOut, **ERRORS}, auth=VIEW)
def live_events_read(
    request: HttpRequest,
    pk: DatabaseId,
    event_id: Annotated[str, Path(pattern=EVENT_ID_PATTERN, max_length=40)],
) -> dict[str, Any]:
    connection = connection_get(pk)
    event = live_event_get(connection=connection, position=positions.event_id_parse(event_id))
    if event is None:
        raise not_found("event of this connection")
    redact = live_redacts(connection, user_of(request))
    return live_event_detail_out(live_event_detail(event=event, redact=redact), redact=redact)


def live_event_detail_out(detail: EventDetail, *, redact: bool) -> dict[str, Any]:
    return {
        **live_event_out(detail.event, redact=redact),
        "source": detail.source,
        "braze_objects": [
            {
                "delivery_id": shown.delivery.pk,
                "kind": shown.delivery.kind,
                "status": shown.delivery.status,
                "fate": shown.fate.value,
                "body": shown.body,
                "attempts": [
                    {
                        "id": a.attempt.pk,
                        "started_at": a.attempt.started_at,
                        "outcome": a.attempt.outcome,
                        "status_code": a.attempt.status_code,
                        "answer": a.answer,
                    }
                    for a in shown.attempts
                ],
                "failed_send_url": shown.failed_send_url,
            }
            for shown in detail.objects
        ],
        "issues": [
            {
                "kind": issue.kind.value,
                "label": issue.kind.label,
                "field_path": issue.field_path,
                "action": issue.action.value,
                "example": issue.example,
            }
            for issue in detail.issues
        ],
        "issues_url": detail.issues_url,
    }
