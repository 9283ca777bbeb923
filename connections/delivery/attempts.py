"""HTTP attempt records: written before the request is made, completed after it returns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from connections.braze.transport import TrackOutcome, TrackResponse
from connections.delivery.groups import index_map_of
from connections.delivery.models import DeliveryAttempt
from connections.delivery.outcomes import RowsAt, held_rows
from connections.models import BrazeOutput
from mapping.requests import TrackRequest
from mpbraze.sql import rows_update

EXCERPT_CHARS = 2000
# No request is in flight longer than this (the transport's timeouts are far shorter): an
# attempt answered after a moment started at most this long before it.
LONGEST_REQUEST = timedelta(minutes=5)


def attempts_start(
    *, output: BrazeOutput, requests: Sequence[tuple[TrackRequest, RowsAt]], worker: str = ""
) -> list[DeliveryAttempt]:
    """Record the requests about to be sent, in one commit: each with the index map of every
    array as sent and the claim its rows travel under (lease recovery finishes them from its
    answer), and the links to its rows."""
    now = timezone.now()
    attempts = [
        DeliveryAttempt(
            connection_id=output.connection_id,
            output=output,
            started_at=now,
            object_count=len(rows_at),
            request_bytes=request.size_bytes,
            index_map=index_map_of(rows_at),
            claim_token=next(iter(rows_at.values())).claim_token if rows_at else "",
            worker=worker[:200],
        )
        for request, rows_at in requests
    ]
    link = DeliveryAttempt.deliveries.through
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create(attempts)
        link.objects.bulk_create(
            link(deliveryattempt_id=attempt.pk, delivery_id=row.pk)
            for attempt, (_, rows_at) in zip(attempts, requests, strict=True)
            for row in held_rows(rows_at)
        )
    return attempts


FINISHED_FIELDS = [
    "index_map",  # rewritten when a row of several objects was split on this answer
    "finished_at",
    "duration_ms",
    "outcome",
    "status_code",
    "error_class",
    "braze_message",
    "braze_errors",
    "response_excerpt",
]


def attempts_accepted_since(*, output_id: int, since: datetime) -> bool:
    """Braze accepted a request of the output (from any worker) answered at or after
    ``since``."""
    accepted = (DeliveryAttempt.Outcome.SUCCESS, DeliveryAttempt.Outcome.PARTIAL)
    return DeliveryAttempt.objects.filter(
        outcome__in=accepted,
        started_at__gte=since - LONGEST_REQUEST,  # the outcome index's range
        finished_at__gte=since,
        output_id=output_id,
    ).exists()


def attempt_finish(*, attempt: DeliveryAttempt, response: TrackResponse) -> None:
    attempts_finish(answers=[(attempt, response)])


def attempts_finish(*, answers: Sequence[tuple[DeliveryAttempt, TrackResponse]]) -> None:
    """Record the answers of requests answered together, in one statement."""
    for attempt, response in answers:
        _finished(attempt, response)
    if len(answers) == 1:
        answers[0][0].save(update_fields=FINISHED_FIELDS)
    elif answers:
        rows_update(DeliveryAttempt, [attempt for attempt, _ in answers], FINISHED_FIELDS)


def _finished(attempt: DeliveryAttempt, response: TrackResponse) -> None:
    attempt.finished_at = timezone.now()
    attempt.duration_ms = max(0, int(response.duration_ms))
    attempt.outcome = _outcome(attempt, response)
    attempt.status_code = response.status_code
    attempt.error_class = response.error_class[:40]
    attempt.braze_message = (response.message or "")[:EXCERPT_CHARS]
    attempt.braze_errors = list(response.errors)[:500]
    attempt.response_excerpt = (response.excerpt or "")[:EXCERPT_CHARS]


def _outcome(attempt: DeliveryAttempt, response: TrackResponse) -> DeliveryAttempt.Outcome:
    """What the request came to: a whole-request refusal of a single object is that object's
    rejection, as nothing is left to split and nothing is resent."""
    if response.outcome == TrackOutcome.SPLIT and attempt.object_count <= 1:
        return DeliveryAttempt.Outcome.REJECTED
    return DeliveryAttempt.Outcome[response.outcome.name]
