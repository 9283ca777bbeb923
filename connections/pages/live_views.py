"""The Live events page: a connection's events newest first, and the JSON its script polls
for newer rows and for the fate of rows still on their way."""

from __future__ import annotations

import json
from typing import Any, Final

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.http import urlencode

from connections.live import positions
from connections.live.detail import EventDetail, IssueReader, live_event_detail
from connections.live.fates import Fate
from connections.live.filters import WINDOWS, LiveFilters, live_filters_parse
from connections.live.positions import Position
from connections.live.redaction import live_redacts, shown_user
from connections.live.selectors import (
    LiveEvent,
    LivePage,
    live_events_newest,
    live_events_page,
    live_events_refresh,
)
from connections.models import Connection
from connections.pages.views import allowed
from connections.rules.field_errors import FieldError

PAGE_SIZE: Final = 50
UNSETTLED: Final = (Fate.WAITING, Fate.QUEUED, Fate.SENDING, Fate.RETRYING)
MAX_REFRESH: Final = 200


@allowed("connections.view_live_events")
def live_events(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        filters = live_filters_parse(request.GET)
        before = _cursor(request, "cursor")
    except FieldError as error:
        context = {"connection": connection, "error": error, "windows": WINDOWS, "fates": Fate}
        return render(request, "connections/live_events.html", context, status=400)
    page = live_events_page(
        connection=connection, filters=filters, before=before, limit=PAGE_SIZE, with_bodies=True
    )
    redact = live_redacts(connection, request.user)
    context = {
        "connection": connection,
        "filters": filters,
        "rows": _rows(page.events, redact),
        "page": page,
        "next_cursor": positions.cursor_encode(page.next_cursor) if page.next_cursor else "",
        "newest": positions.cursor_encode(page.newest) if page.newest else "",
        "query": _query(filters),
        "windows": WINDOWS,
        "fates": Fate,
        "redact": redact,
    }
    return render(request, "connections/live_events.html", context)


@allowed("connections.view_live_events")
def live_events_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Rows newer than ``after`` (as HTML, newest first) and the fate of the rows named in
    ``refresh``: what the page's script adds and redraws."""
    connection = get_object_or_404(Connection, pk=pk)
    try:
        filters = live_filters_parse(request.GET)
        after = _cursor(request, "after")
        refresh = _refresh(request.GET.get("refresh", ""))
    except FieldError as error:
        body = {"errors": [{"field": error.field, "message": str(error)}]}
        return JsonResponse(body, status=400)
    if after is None:  # the first poll: from the newest batch on
        page = LivePage([], newest=live_events_newest(connection=connection))
    else:
        page = live_events_page(
            connection=connection, filters=filters, after=after, limit=PAGE_SIZE, with_bodies=True
        )
    redact = live_redacts(connection, request.user)
    updated = live_events_refresh(connection=connection, positions=refresh)
    return JsonResponse(
        {
            "rows": [_html(request, row) for row in _rows(page.events, redact)],
            "newest": positions.cursor_encode(page.newest or Position(0, positions.MAX_SLOT)),
            "more": page.more_newer,
            "updates": {row["id"]: _html(request, row) for row in _rows(updated, redact)},
        }
    )


def _rows(events: list[LiveEvent], redact: bool) -> list[dict[str, Any]]:
    reader = IssueReader()
    return [_row(event, redact, reader) for event in events]


def _row(event: LiveEvent, redact: bool, reader: IssueReader) -> dict[str, Any]:
    detail: EventDetail = live_event_detail(event=event, redact=redact, issues=reader)
    return {
        "id": positions.event_id(event.position),
        "event": event,
        "user": shown_user(event.slot.user, redact=redact),
        "detail": detail,
        "source_json": _pretty(detail.source),
        "objects": [(shown, _pretty(shown.body)) for shown in detail.objects],
        "settled": event.fate.fate not in UNSETTLED,
    }


def _html(request: HttpRequest, row: dict[str, Any]) -> str:
    return render_to_string("connections/_live_event.html", {"row": row}, request=request)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _cursor(request: HttpRequest, name: str) -> Position | None:
    token = request.GET.get(name, "")
    return positions.cursor_decode(token, field=name) if token else None


def _refresh(text: str) -> list[Position]:
    ids = [part for part in text.split(",") if part][: MAX_REFRESH + 1]
    if len(ids) > MAX_REFRESH:
        raise FieldError("refresh", f"at most {MAX_REFRESH} event ids")
    return [positions.event_id_parse(part, field="refresh") for part in ids]


def _query(filters: LiveFilters) -> str:
    params = {
        "user": filters.user,
        "event_name": filters.event_name,
        "fate": filters.fate.value if filters.fate else "",
        "platform": filters.platform,
        "window": filters.window,
    }
    return urlencode({k: v for k, v in params.items() if v})
