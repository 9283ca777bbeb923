"""Acting on Braze's answers: each answer and its effect on exactly the rows of its request
in one transaction (docs/architecture.md "The data path"), for every kind of outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connections import lifecycle
from connections.braze.transport import TrackOutcome, TrackResponse
from connections.delivery import attempts, groups, outbox, ratelimit
from connections.delivery.models import Delivery, DeliveryAttempt
from connections.delivery.outcomes import (
    RowsAt,
    error_positions,
    held_rows,
    is_configuration_problem,
    partial_rejections,
)
from connections.delivery.sender import Sender
from connections.delivery.tuning import delivery_config
from connections.metrics.definitions import record_request

logger = logging.getLogger(__name__)

Answer = tuple[DeliveryAttempt, RowsAt, TrackResponse]
Handler = Callable[[Sender, RowsAt, TrackResponse], None]
Handlers = Mapping[TrackOutcome, Handler]


def answered(
    sender: Sender,
    answers: list[Answer],
    *,
    handlers: Handlers | None = None,
    bucket: ratelimit.Bucket = ratelimit.Bucket.TRACK,
) -> list[list[Delivery]]:
    """Answers that arrived together, applied in one transaction: each answer and its effect
    on its rows are still both or neither, for one commit, and the rows of every accepted
    request are marked sent in one statement. Returns the rows of whole-request refusals in
    halves, for the forwarder to send again (outside any transaction). ``handlers`` and
    ``bucket``: another endpoint's (``/users/identify``'s) way with failures and its limit."""
    handlers = handlers or OUTCOME_HANDLERS
    for _attempt, rows_at, response in answers:
        remaining, reset_at = response.rate_remaining, response.rate_reset_at
        ratelimit.observe(sender.workspace, remaining, reset_at, bucket=bucket)
        record_request(
            connection_id=sender.output.connection_id,
            status_code=response.status_code,
            objects=len(rows_at),
            duration_ms=response.duration_ms,
        )
    accepted: dict[int | None, list[Delivery]] = {}
    with transaction.atomic():
        applied = [
            (attempt, _split_if_partial(attempt, rows_at, response), response)
            for attempt, rows_at, response in answers
            if response.outcome != TrackOutcome.SPLIT
        ]
        attempts.attempts_finish(answers=[(attempt, response) for attempt, _, response in applied])
        for _attempt, rows_at, response in applied:
            if response.outcome == TrackOutcome.SUCCESS:
                sender.accepted_any = True
                accepted.setdefault(response.status_code, []).extend(held_rows(rows_at))
            else:
                handlers[response.outcome](sender, rows_at, response)
        for status_code, rows in accepted.items():
            outbox.outbox_mark_sent(rows=rows, status_code=status_code)
    halves: list[list[Delivery]] = []
    for attempt, rows_at, response in answers:
        if response.outcome == TrackOutcome.SPLIT:
            attempts.attempt_finish(attempt=attempt, response=response)
            halves += _on_split(rows_at, response)
    return halves


def _split_if_partial(attempt: DeliveryAttempt, rows_at: RowsAt, response: TrackResponse) -> RowsAt:
    """Per-object errors: the rows holding a named object are split first, one object a row
    (connections/delivery/groups.py), and the attempt's index map names them."""
    if response.outcome != TrackOutcome.PARTIAL:
        return rows_at
    return groups.split_request(rows_at, error_positions(response.errors), attempt)


def _failure(response: TrackResponse) -> outbox.Failure:
    return outbox.Failure(
        response.status_code, response.error_class, response.message or response.excerpt
    )


def _on_partial(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    sender.accepted_any = True
    rejected = partial_rejections(rows_at, response.errors)
    for message, rows in rejected.items():
        failure = outbox.Failure(response.status_code, "braze_object_error", message)
        outbox.outbox_reject(rows=rows, failure=failure)
    refused = {row.pk for rows in rejected.values() for row in rows}
    accepted = [row for row in held_rows(rows_at) if row.pk not in refused]
    outbox.outbox_mark_sent(rows=accepted, status_code=response.status_code)


def _on_retry(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    rows = held_rows(rows_at)
    _retried, dead = outbox.outbox_retry_later(rows=rows, failure=_failure(response))
    sender.retried += rows
    sender.put_back |= {row.user_key for row in rows if row.user_key}
    sender.run_again_after(delivery_config().retry_backoff_seconds[0] * 0.8)
    if dead:
        logger.warning("%s rows of output %s dead-lettered", dead, sender.output.pk)


def isolate_lone_failures(sender: Sender) -> None:
    """Once a claim's requests are answered: if Braze accepted others while these failed,
    the failure is these rows' own, so they travel in smaller requests next time, until a
    row that Braze cannot take stands alone (and its neighbours get through). During an
    outage nothing is accepted, and requests keep their size."""
    if sender.retried and (sender.accepted_any or _accepted_elsewhere(sender)):
        outbox.outbox_isolate(rows=sender.retried)
    sender.retried = []


def _accepted_elsewhere(sender: Sender) -> bool:
    """A claim alone in its run (a backlog's first, or a retried request on its own) has no
    neighbour to compare with: the evidence is then another request of the output, from any
    run, that Braze accepted since the rows' last try (at least the shortest retry wait
    before this claim was taken)."""
    claim = sender.claim
    if claim is None or claim.taken_at is None:
        return False
    shortest_wait = delivery_config().retry_backoff_seconds[0] * (1 - outbox.JITTER)
    since = claim.taken_at - timedelta(seconds=shortest_wait)
    return attempts.attempts_accepted_since(output_id=sender.output.pk, since=since)


def _on_rate_limited(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """Wait as Braze asks, without spending the rows' retry budget."""
    until = response.retry_after_at or timezone.now() + timedelta(seconds=5)
    ratelimit.block_until(sender.workspace, until)
    outbox.outbox_release(rows=held_rows(rows_at), at=until)
    sender.run_again_after((until - timezone.now()).total_seconds())
    sender.stopped = True


def _on_split(rows_at: RowsAt, response: TrackResponse) -> list[list[Delivery]]:
    """A whole-request 400/413: bisect until the bad objects stand alone, then reject them."""
    rows = held_rows(rows_at)
    if len(rows) == 1:  # one row of several objects: bisect its objects
        rows = groups.split_whole(rows)
    if len(rows) == 1:
        outbox.outbox_reject(rows=rows, failure=_failure(response))
        return []
    middle = len(rows) // 2
    return [rows[:middle], rows[middle:]]


def _on_unauthorized(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """A refused key pauses the connection; its rows wait in the queue, not in the dead letters."""
    reason = (
        f"Braze answered {response.status_code} to the Server output's REST API key"
        f" ({response.message or 'no message'}). Fix the key to resume."
    )
    _pause(sender, rows_at, reason)


def _pause(sender: Sender, rows_at: RowsAt, reason: str) -> None:
    lifecycle.connection_pause(
        connection=sender.output.connection, reason=reason, refused_output=sender.output
    )
    outbox.outbox_release(rows=held_rows(rows_at))
    sender.stopped = True


def _on_rejected(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    if is_configuration_problem(response.status_code):  # the endpoint is wrong, not the rows
        reason = (
            f"Braze could not be reached as configured: {response.message or response.error_class}"
        )
        _pause(sender, rows_at, f"{reason}. Check the REST endpoint to resume.")
        return
    outbox.outbox_reject(rows=held_rows(rows_at), failure=_failure(response))


# Success is applied by ``answered`` itself: the rows of every accepted request at once.
OUTCOME_HANDLERS: Handlers = {
    TrackOutcome.PARTIAL: _on_partial,
    TrackOutcome.RETRY: _on_retry,
    TrackOutcome.RATE_LIMITED: _on_rate_limited,
    TrackOutcome.UNAUTHORIZED: _on_unauthorized,
    TrackOutcome.REJECTED: _on_rejected,
}
