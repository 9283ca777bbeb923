"""Sending ``/users/identify`` before the known user's objects (docs/mapping.md "Anonymous users,
then known").

An identify row (``Delivery.Kind.IDENTIFY``, queued by ``connections.merging``) stands in the
outbox among the rows of the batch that queued it, keyed by the known user's external id, so
the claim's per-user order keeps that user's later objects behind it; the claim also keeps it
behind the earlier rows of the alias it merges (``outbox._alias_waits``). A claim holding
identify rows sends them first, up to 50 aliases a request, on the user-data bucket of the
rate limiter, and applies the answers; only then go the objects of the users whose identify is
done (sent, or failed and recorded for the audit). The others go back to the queue behind it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import wait
from dataclasses import replace
from datetime import datetime, timedelta

from django.utils import timezone

from connections.braze.transport import TrackOutcome, TrackResponse
from connections.delivery import answers, attempts, outbox, ratelimit
from connections.delivery.models import Delivery
from connections.delivery.outcomes import RowsAt, held_rows
from connections.delivery.sender import Planned, Sender, keep_lease, rows_of
from mapping.identify import IDENTIFY_ARRAY, IDENTIFY_CAP, identify_bodies
from mapping.requests import TrackRequest

IDENTIFY = Delivery.Kind.IDENTIFY
USER_DATA = ratelimit.Bucket.USER_DATA
RATE_LIMIT_WAIT_SECONDS = 30.0
PENDING = (Delivery.Status.QUEUED, Delivery.Status.SENDING)
MISSING_PERMISSION = (
    "The Server output's REST API key lacks the users.identify permission (Braze answered"
    " 403: {message}). The anonymous profile was not merged; give the key that permission"
    " (or use one that has it), then replay this identify."
)


def identifies_first(sender: Sender, rows: Sequence[Delivery]) -> list[Delivery]:
    """Send the identify rows among ``rows`` and return the other rows that may go now: those
    of users whose identify is still pending (retried, rate limited) go back to the queue
    until just after it is due."""
    identifies = [row for row in rows if row.kind == IDENTIFY]
    others = [row for row in rows if row.kind != IDENTIFY]
    if not identifies:
        return others
    _send(sender, identifies)
    waiting = _still_pending(identifies)
    held = [row for row in others if row.user_key in waiting]
    for user, due in waiting.items():
        until = max(due, timezone.now()) + outbox.ORDER_HOLD
        outbox.outbox_release(rows=[row for row in held if row.user_key == user], at=until)
        sender.run_again_after((until - timezone.now()).total_seconds())
    return [row for row in others if row.user_key not in waiting]


def _still_pending(identifies: list[Delivery]) -> dict[str, datetime]:
    """The users whose identify is not done, with when it is next due."""
    pending = Delivery.objects.filter(pk__in=[row.pk for row in identifies], status__in=PENDING)
    waiting: dict[str, datetime] = {}
    for user, status, due in pending.values_list("user_key", "status", "next_attempt_at"):
        at = timezone.now() if status == Delivery.Status.SENDING else due
        waiting[user] = max(at, waiting.get(user, at))
    return waiting


def _send(sender: Sender, rows: list[Delivery]) -> None:
    requests = _plan(rows)
    for start in range(0, len(requests), sender.concurrency):
        if sender.stopped or sender.out_of_time():
            outbox.outbox_release(rows=rows_of(requests[start:]))
            return
        _send_wave(sender, requests[start : start + sender.concurrency])


def _plan(rows: list[Delivery]) -> Planned:
    """Requests of at most ``IDENTIFY_CAP`` aliases, each with its (array, index) → row."""
    planned: Planned = []
    for number, body in enumerate(identify_bodies([row.body for row in rows])):
        chunk = rows[number * IDENTIFY_CAP : (number + 1) * IDENTIFY_CAP]
        size = len(json.dumps(body, separators=(",", ":")))
        rows_at: RowsAt = {(IDENTIFY_ARRAY, index): row for index, row in enumerate(chunk)}
        planned.append((TrackRequest(body, {}, size), rows_at))
    return planned


def _send_wave(sender: Sender, wave: Planned) -> None:
    """Like the forwarder's waves: tokens first, the attempts recorded before the first request
    leaves, the answers applied together; a request refused whole is bisected."""
    ready = _acquire_tokens(sender, wave)
    rows = rows_of(ready)
    if not ready:
        return
    if not keep_lease(sender, rows):
        outbox.outbox_release(rows=rows)
        sender.run_again_after(0.0)
        sender.stopped = True
        return
    started = attempts.attempts_start(output=sender.output, requests=ready, worker=sender.worker)
    in_flight = {
        sender.pool.submit(sender.transport.identify, request.body): (attempt, rows_at)
        for attempt, (request, rows_at) in zip(started, ready, strict=True)
    }
    wait(in_flight)
    done = [(*in_flight[f], _classified(f.result())) for f in in_flight]
    halves = answers.answered(sender, done, handlers=HANDLERS, bucket=USER_DATA)
    for half in halves:
        _send(sender, half)


def _acquire_tokens(sender: Sender, wave: Planned) -> Planned:
    """The requests that got a token of the user-data bucket; the rest wait in the queue (the
    objects of ``/users/track`` have a limit of their own and go on meanwhile)."""
    for index, _planned in enumerate(wave):
        waited = ratelimit.acquire(
            sender.workspace, timeout=RATE_LIMIT_WAIT_SECONDS, bucket=USER_DATA
        )
        if waited is None:
            outbox.outbox_release(rows=rows_of(wave[index:]))
            sender.run_again_after(1.0)
            return wave[:index]
    return wave


def _classified(response: TrackResponse) -> TrackResponse:
    """A 403 here means the key lacks ``users.identify``, not that it is refused: the key still
    sends ``/users/track``, so the identify is rejected (for the audit) instead of pausing."""
    if response.outcome is TrackOutcome.UNAUTHORIZED and response.status_code == 403:
        return replace(response, outcome=TrackOutcome.REJECTED)
    return response


def _on_rate_limited(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """Wait as Braze asks on the user-data bucket only; ``/users/track`` goes on."""
    until = response.retry_after_at or timezone.now() + timedelta(seconds=5)
    ratelimit.block_until(sender.workspace, until, bucket=USER_DATA)
    outbox.outbox_release(rows=held_rows(rows_at), at=until)
    sender.run_again_after((until - timezone.now()).total_seconds())


def _on_rejected(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    if response.status_code != 403:
        answers.OUTCOME_HANDLERS[TrackOutcome.REJECTED](sender, rows_at, response)
        return
    message = MISSING_PERMISSION.format(message=response.message or "no message")
    failure = outbox.Failure(403, response.error_class, message)
    outbox.outbox_reject(rows=held_rows(rows_at), failure=failure)


HANDLERS: answers.Handlers = {
    **answers.OUTCOME_HANDLERS,
    TrackOutcome.RATE_LIMITED: _on_rate_limited,
    TrackOutcome.REJECTED: _on_rejected,
}
