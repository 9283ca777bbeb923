"""What a failed row shows an auditor: the object as sent (keys masked), the source event,
and its HTTP attempts as a table."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from connections.admin_display import EMPTY, when
from connections.crypto.encryption import mask
from connections.delivery.models import Delivery, DeliveryAttempt

# An app output's API key travels in the object as ``app_id``: masked wherever it is shown.
KEY_FIELDS = ("app_id",)
EXCERPT = 300


def masked(body: Any) -> Any:
    """The object with its key fields masked (``••••1234``)."""
    if not isinstance(body, dict):
        return body
    return {k: mask(str(v)[-4:]) if k in KEY_FIELDS and v else v for k, v in body.items()}


def source_event(row: Delivery) -> Any:
    """The mParticle event the object was mapped from (or the batch's user data for an
    attributes object), from the stored batch."""
    payload = row.batch.payload if isinstance(row.batch.payload, dict) else {}
    events = payload.get("events")
    if row.event_index is not None and isinstance(events, list) and row.event_index < len(events):
        return events[row.event_index]
    return {
        key: payload[key]
        for key in ("user_identities", "user_attributes", "device_info")
        if key in payload
    } or None


def attempts_table(row: Delivery) -> SafeString | str:
    """Every HTTP request that carried the row, oldest first."""
    attempts = list(row.http_attempts.order_by("started_at", "pk"))
    if not attempts:
        return EMPTY
    outcomes = [attempt.get_outcome_display() for attempt in attempts]
    if row.status == Delivery.Status.DEAD and attempts[-1].outcome == DeliveryAttempt.Outcome.RETRY:
        outcomes[-1] = "Failed; retries exhausted"  # the request's answer, read for this row
    cells = (_cells(attempt, outcome) for attempt, outcome in zip(attempts, outcomes, strict=True))
    body = format_html_join("", "<tr>{}</tr>", ((cell,) for cell in cells))
    return format_html(
        '<table class="attempts"><thead><tr><th>Sent at</th><th>Duration</th><th>Outcome</th>'
        "<th>HTTP status</th><th>Objects</th><th>Braze message</th><th>Response excerpt</th>"
        "</tr></thead><tbody>{}</tbody></table>",
        body,
    )


def _cells(attempt: DeliveryAttempt, outcome: str) -> SafeString:
    duration = f"{attempt.duration_ms} ms" if attempt.duration_ms is not None else EMPTY
    status = attempt.status_code or attempt.error_class or EMPTY
    excerpt = attempt.response_excerpt[:EXCERPT] or EMPTY
    return format_html(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>",
        when(attempt.started_at),
        duration,
        outcome,
        status,
        attempt.object_count,
        attempt.braze_message or EMPTY,
        excerpt,
    )


def attempt_counts(row: Delivery) -> str:
    """The counters beside the table, in the same words."""
    total = row.http_attempts.count()
    return (
        f"{total} HTTP attempt{'s' if total != 1 else ''}; {row.attempts} counted against the"
        " retry budget (rate limits, splits and key pauses are not)"
    )
