"""Sending claimed outbox rows to Braze ``/users/track`` and acting on every kind of answer.

One output at a time: claim due rows, pack them into requests (``mapping.requests``), wait for
the workspace's rate limiter, record the attempt, send, then apply the outcome to exactly the
rows of that request (SPEC §6).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from connections import services
from connections.braze.transport import BrazeTransport, TrackOutcome, TrackResponse
from connections.delivery import attempts, outbox, ratelimit
from connections.delivery.models import Delivery
from connections.models import BrazeOutput
from mapping.objects import BrazeObject, ObjectKind
from mapping.requests import LIMITS, TrackRequest, build_track_requests

logger = logging.getLogger(__name__)
RowsAt = dict[tuple[str, int], Delivery]  # (array name, index as sent) → outbox row
TASK_BUDGET_SECONDS = 60.0
RATE_LIMIT_WAIT_SECONDS = 30.0


@dataclass
class Sender:
    """What one forwarding run needs: the output, its transport and its workspace key."""

    output: BrazeOutput
    transport: BrazeTransport
    workspace: str
    stopped: bool = False
    run_again_in: float | None = None

    def wait(self, seconds: float) -> None:
        """Ask for another run after ``seconds`` (the soonest of all requests wins)."""
        if self.run_again_in is None or seconds < self.run_again_in:
            self.run_again_in = seconds


def workspace_of(output: BrazeOutput) -> str:
    """Rate limits are per Braze workspace: REST host plus a fingerprint of the key."""
    return f"{output.rest_host}#{output.api_key_fingerprint[:16]}"


def output_forward(*, output_id: int, budget_seconds: float = TASK_BUDGET_SECONDS) -> float | None:
    """Send due rows of one output for up to ``budget_seconds``.

    Returns the seconds after which to run again (rows held back or left), or None when done.
    """
    output = BrazeOutput.objects.select_related("connection").filter(pk=output_id).first()
    if output is None or output.connection.status != output.connection.Status.ACTIVE:
        return None
    api_key = services.output_api_key(output=output)
    sender = Sender(output, BrazeTransport(output.rest_host, api_key), workspace_of(output))
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline and not sender.stopped:
        rows = outbox.outbox_claim_batch(output=output)
        if not rows:
            return sender.run_again_in
        _send_rows(sender, rows, hold_young_tail=True)
    return sender.run_again_in if sender.stopped else 0.0


def _send_rows(sender: Sender, rows: Sequence[Delivery], *, hold_young_tail: bool = False) -> None:
    objects = [
        BrazeObject(ObjectKind(r.kind), r.body, r.event_index, None, r.user_key) for r in rows
    ]
    by_object = {id(item): row for item, row in zip(objects, rows, strict=True)}
    plan = build_track_requests(objects, sender.output.forwarding.batch_size_mode)
    refused = [by_object[id(item)] for item in plan.refused]
    outbox.outbox_reject(
        rows=refused, status_code=None, error_class="too_large", error="Object over 100 KB."
    )
    batches = [[by_object[id(o)] for o in r.index_map.values()] for r in plan.requests]
    if hold_young_tail and batches and _hold_back(sender, batches[-1]):
        batches.pop()
    for index, request in enumerate(plan.requests[: len(batches)]):
        if sender.stopped:
            outbox.outbox_release(rows=[row for batch in batches[index:] for row in batch])
            return
        _send_request(
            sender, request, {key: by_object[id(o)] for key, o in request.index_map.items()}
        )


def _hold_back(sender: Sender, tail: list[Delivery]) -> bool:
    """Like a batching buffer: a partly filled last request waits up to the linger time for
    more rows, so a steady trickle still goes out in full requests."""
    linger = timedelta(seconds=settings.MPBRAZE_FORWARD_LINGER_SECONDS)
    if not linger or len(tail) >= LIMITS[sender.output.forwarding.batch_size_mode][1]:
        return False
    release_at = min(row.created_at for row in tail) + linger
    if release_at <= timezone.now():
        return False
    outbox.outbox_release(rows=tail, at=release_at)
    sender.wait(max(0.0, (release_at - timezone.now()).total_seconds()))
    return True


def _send_request(sender: Sender, request: TrackRequest, rows_at: RowsAt) -> None:
    rows = list(rows_at.values())
    waited = ratelimit.acquire(sender.workspace, timeout=RATE_LIMIT_WAIT_SECONDS)
    if waited is None:
        outbox.outbox_release(rows=rows)
        sender.stopped = True
        return
    attempt = attempts.attempt_start(output=sender.output, request=request, rows_at=rows_at)
    response = sender.transport.track(request.body)
    attempts.attempt_finish(attempt=attempt, response=response)
    ratelimit.observe(sender.workspace, response.rate_remaining, response.rate_reset_at)
    OUTCOME_HANDLERS[response.outcome](sender, rows_at, response)


def _on_success(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    outbox.outbox_mark_sent(rows=list(rows_at.values()), status_code=response.status_code)


def _on_partial(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """Braze's ``errors[].index`` counts within the array as sent: map back through it."""
    by_message: dict[str, list[Delivery]] = {}
    rejected: set[int] = set()
    for error in response.errors:
        row = rows_at.get((str(error.get("input_array")), _int(error.get("index"))))
        if row is not None and row.pk not in rejected:
            rejected.add(row.pk)
            by_message.setdefault(str(error.get("type") or "rejected by Braze"), []).append(row)
    for message, rows in by_message.items():
        outbox.outbox_reject(
            rows=rows,
            status_code=response.status_code,
            error_class="braze_object_error",
            error=message,
        )
    accepted = [row for row in rows_at.values() if row.pk not in rejected]
    outbox.outbox_mark_sent(rows=accepted, status_code=response.status_code)


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1


def _on_retry(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    _retried, dead = outbox.outbox_retry_later(
        rows=list(rows_at.values()),
        status_code=response.status_code,
        error_class=response.error_class,
        error=response.message or response.excerpt,
    )
    if dead:
        logger.warning("%s rows of output %s dead-lettered", dead, sender.output.pk)


def _on_rate_limited(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """Wait as Braze asks, without spending the rows' retry budget."""
    until = response.retry_after_at or timezone.now() + timedelta(seconds=5)
    ratelimit.block_until(sender.workspace, until)
    outbox.outbox_release(rows=list(rows_at.values()), at=until)
    sender.wait(max(0.0, (until - timezone.now()).total_seconds()))
    sender.stopped = True


def _on_split(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """A whole-request 400/413: bisect until the bad objects stand alone, then reject them."""
    rows = list(rows_at.values())
    if len(rows) == 1:
        outbox.outbox_reject(
            rows=rows,
            status_code=response.status_code,
            error_class=response.error_class,
            error=response.message or response.excerpt,
        )
        return
    middle = len(rows) // 2
    for half in (rows[:middle], rows[middle:]):
        _send_rows(sender, half)


def _on_unauthorized(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """A refused key pauses the connection; its rows wait in the queue, not in the dead letters."""
    reason = (
        f"Braze answered {response.status_code} to the Server output's REST API key"
        f" ({response.message or 'no message'}). Fix the key to resume."
    )
    _pause(sender, rows_at, reason)


def _pause(sender: Sender, rows_at: RowsAt, reason: str) -> None:
    services.connection_pause(
        connection=sender.output.connection, reason=reason, refused_output=sender.output
    )
    outbox.outbox_release(rows=list(rows_at.values()))
    sender.stopped = True


def _on_rejected(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    if _is_configuration_problem(response):  # the endpoint is wrong, not these objects
        reason = (
            f"Braze could not be reached as configured: {response.message or response.error_class}"
        )
        _pause(sender, rows_at, f"{reason}. Check the REST endpoint to resume.")
        return
    outbox.outbox_reject(
        rows=list(rows_at.values()),
        status_code=response.status_code,
        error_class=response.error_class,
        error=response.message or response.excerpt,
    )


def _is_configuration_problem(response: TrackResponse) -> bool:
    status = response.status_code
    return status is None or status == 404 or 300 <= status < 400


OUTCOME_HANDLERS = {
    TrackOutcome.SUCCESS: _on_success,
    TrackOutcome.PARTIAL: _on_partial,
    TrackOutcome.RETRY: _on_retry,
    TrackOutcome.RATE_LIMITED: _on_rate_limited,
    TrackOutcome.SPLIT: _on_split,
    TrackOutcome.UNAUTHORIZED: _on_unauthorized,
    TrackOutcome.REJECTED: _on_rejected,
}
