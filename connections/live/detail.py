"""One live event in full: as received, the Braze objects as sent, each HTTP attempt with
Braze's answer for that object, its mapping issues, and where to act on a failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from connections.delivery.models import FAILED_STATUSES, Delivery, DeliveryAttempt, InboundBatch
from connections.live.fates import Fate, delivery_fate
from connections.live.reasons import MappedAgain, batch_map_again, server_mapping_context
from connections.live.redaction import redact_source, shown_object
from connections.live.selectors import LiveEvent
from mapping.issues import Issue
from mapping.objects import MappingContext


@dataclass(frozen=True)
class AttemptShown:
    attempt: DeliveryAttempt
    answer: str  # Braze's answer for this object: its own error, else the request's


@dataclass(frozen=True)
class ObjectShown:
    delivery: Delivery
    body: Any
    fate: Fate
    attempts: list[AttemptShown]
    failed_send_url: str  # the audit's page of a failed object, with its replay; else ""


@dataclass(frozen=True)
class EventDetail:
    event: LiveEvent
    source: Any
    objects: list[ObjectShown]
    issues: list[Issue]
    issues_url: str


class IssueReader:
    """The mapping issues of events, each batch mapped again once per request."""

    def __init__(self) -> None:
        self._contexts: dict[int, MappingContext | None] = {}
        self._batches: dict[int, MappedAgain] = {}

    def issues(self, event: LiveEvent) -> list[Issue]:
        """The event's issues, as the output's current settings map the batch."""
        batch = event.batch
        if batch.status != InboundBatch.Status.MAPPED:
            return []
        if batch.connection_id not in self._contexts:
            self._contexts[batch.connection_id] = server_mapping_context(batch.connection)
        if batch.pk not in self._batches:
            context = self._contexts[batch.connection_id]
            self._batches[batch.pk] = batch_map_again(batch, context)
        mapped = self._batches[batch.pk]
        index = event.position.event_index
        batch_level = mapped.issues.get(None, []) if index is not None else []
        return [*mapped.issues.get(index, []), *batch_level]


def live_event_detail(
    *, event: LiveEvent, redact: bool, issues: IssueReader | None = None
) -> EventDetail:
    """The event in full; pass one ``issues`` reader for the rows of one page."""
    source = redact_source(event.slot.source) if redact else event.slot.source
    objects = [_object(row, redact=redact) for row in event.deliveries]
    query = urlencode({"connection__id__exact": event.batch.connection_id})
    return EventDetail(
        event=event,
        source=source,
        objects=objects,
        issues=(issues or IssueReader()).issues(event),
        issues_url=reverse("admin:mapping_mappingissue_changelist") + "?" + query,
    )


def _object(row: Delivery, *, redact: bool) -> ObjectShown:
    attempts = row.http_attempts.order_by("started_at", "pk")
    failed = row.status in FAILED_STATUSES or row.failed_at is not None
    return ObjectShown(
        delivery=row,
        body=shown_object(row.kind, row.body, redact=redact),
        fate=delivery_fate(row),
        attempts=[AttemptShown(a, object_answer(a, row)) for a in attempts],
        failed_send_url=reverse("admin:connections_failedsend_change", args=[row.pk])
        if failed
        else "",
    )


def object_answer(attempt: DeliveryAttempt, row: Delivery) -> str:
    """Braze's ``errors[]`` entry naming this object in that request, else the request's
    outcome and message."""
    sent = attempt.index_map.get(row.kind) if isinstance(attempt.index_map, dict) else None
    if isinstance(sent, list) and row.pk in sent:
        index = sent.index(row.pk)
        for error in attempt.braze_errors if isinstance(attempt.braze_errors, list) else []:
            if isinstance(error, Mapping) and _names(error, row.kind, index):
                return str(error.get("type") or "rejected by Braze")[:500]
    parts = [attempt.get_outcome_display(), attempt.braze_message]
    return ": ".join(part for part in parts if part)[:500]


def _names(error: Mapping[str, Any], array: str, index: int) -> bool:
    return str(error.get("input_array")) == array and str(error.get("index")) == str(index)
