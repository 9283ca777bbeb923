"""Sending claimed outbox rows to Braze ``/users/track`` and acting on every kind of answer.

One output at a time: claim due rows, pack them into requests (``mapping.requests``), wait for
the workspace's rate limiter, record the attempt, send, then apply the outcome to exactly the
rows of that request, in the same transaction as the attempt's answer (SPEC §6).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from connections import services
from connections.braze.transport import BrazeTransport, TrackOutcome, TrackResponse
from connections.delivery import attempts, outbox, ratelimit, schedule
from connections.delivery.config import delivery_config
from connections.delivery.models import Delivery, DeliveryAttempt
from connections.delivery.outcomes import RowsAt, is_configuration_problem, partial_rejections
from connections.encryption import EncryptionKeyError
from connections.models import BrazeOutput, Connection
from mapping.objects import BrazeObject, ObjectKind
from mapping.requests import LIMITS, TrackRequest, build_track_requests

logger = logging.getLogger(__name__)
RATE_LIMIT_WAIT_SECONDS = 30.0


@dataclass
class Sender:
    """What one forwarding run needs: the output, its transport, workspace and deadline, and
    the threads that keep up to ``concurrency`` requests in flight."""

    output: BrazeOutput
    transport: BrazeTransport
    workspace: str
    deadline: float
    pool: Executor
    concurrency: int = 1
    worker: str = ""
    claim: outbox.Claim | None = None
    next_claim: outbox.Claim | None = None  # taken while the last requests were in flight
    stopped: bool = False
    run_again_in: float | None = None
    accepted_any: bool = False  # Braze accepted a request of this run
    retried: list[Delivery] = field(default_factory=list)  # rows of this claim sent back

    def wait(self, seconds: float) -> None:
        """Ask for another run after ``seconds`` (the soonest of all requests wins)."""
        if self.run_again_in is None or seconds < self.run_again_in:
            self.run_again_in = max(0.0, seconds)

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline


def workspace_of(output: BrazeOutput) -> str:
    """Rate limits are per Braze workspace: REST host plus a fingerprint of the key."""
    return f"{output.rest_host}#{output.api_key_fingerprint[:16]}"


def output_forward_run(*, output_id: int, worker: str = "") -> None:
    """The forwarding task: send for a while, then schedule the next run if rows wait."""
    schedule.forward_started(output_id=output_id)
    run_again_in = output_forward(output_id=output_id, worker=worker)
    if run_again_in is not None:
        at = timezone.now() + timedelta(seconds=run_again_in)
        schedule.forward_schedule(output_id=output_id, at=at)


def output_forward(
    *, output_id: int, budget_seconds: float | None = None, worker: str = ""
) -> float | None:
    """Send due rows of one output until they run out or the budget is spent.

    Returns the seconds after which to run again (rows held back or left), or None when done.
    """
    output = BrazeOutput.objects.select_related("connection").filter(pk=output_id).first()
    if output is None or output.connection.status != Connection.Status.ACTIVE:
        return None
    try:
        api_key = services.output_api_key(output=output)
    except EncryptionKeyError as error:
        services.connection_pause(connection=output.connection, reason=_undecryptable(error))
        return None
    config = delivery_config()
    budget = budget_seconds or config.forward_budget_seconds
    with (
        BrazeTransport(output.rest_host, api_key) as transport,
        ThreadPoolExecutor(config.forward_concurrency, thread_name_prefix="braze-send") as pool,
    ):
        sender = Sender(
            output,
            transport,
            workspace_of(output),
            deadline=time.monotonic() + budget,
            pool=pool,
            concurrency=config.forward_concurrency,
            worker=worker or f"pid {os.getpid()}",
        )
        return _forward(sender)


def _undecryptable(error: EncryptionKeyError) -> str:
    return (
        f"The Server output's API key cannot be decrypted ({error}). Restore the encryption"
        " key in MPBRAZE_ENCRYPTION_KEYS, or enter the API key again, to resume."
    )


def _forward(sender: Sender) -> float | None:
    try:
        return _claim_and_send(sender)
    finally:  # a claim taken ahead but never sent goes back to the queue as it was
        if sender.next_claim is not None:
            outbox.outbox_release(rows=sender.next_claim.rows)


def _claim_and_send(sender: Sender) -> float | None:
    while not sender.stopped:
        if sender.out_of_time():
            return 0.0
        if not _active(sender.output):
            return None
        claim = sender.next_claim or outbox.outbox_claim_batch(output=sender.output)
        sender.next_claim = None
        if claim.held_until is not None:
            sender.wait((claim.held_until - timezone.now()).total_seconds())
        if not claim.rows:
            return _next_run(sender)
        if claim.full:  # more is waiting: let another worker take the next claim meanwhile
            schedule.forward_schedule(output_id=sender.output.pk)
        sender.claim = claim
        _send_rows(sender, claim.rows, whole_claim=claim)
        _isolate_lone_failures(sender)
    return sender.run_again_in


def _claim_ahead(sender: Sender) -> None:
    """While a claim's last requests are in flight, claim the next rows: the database work
    overlaps Braze's answer instead of following it."""
    if sender.stopped or sender.out_of_time() or not sender.claim or not sender.claim.full:
        return
    sender.next_claim = outbox.outbox_claim_batch(output=sender.output)


def _next_run(sender: Sender) -> float | None:
    """Nothing is due now: run again when the soonest queued row comes due (rows in backoff,
    held for order or lingering), so no row waits for the sweeper to be noticed."""
    soonest = outbox.outbox_next_due(output_id=sender.output.pk)
    if soonest is not None:
        sender.wait((soonest - timezone.now()).total_seconds())
    return sender.run_again_in


def _active(output: BrazeOutput) -> bool:
    """Paused or disabled meanwhile (by another worker or a marketer): stop claiming."""
    return Connection.objects.filter(
        pk=output.connection_id, enabled=True, paused_reason=""
    ).exists()


def _send_rows(
    sender: Sender, rows: Sequence[Delivery], *, whole_claim: outbox.Claim | None = None
) -> None:
    requests, refused = _plan(sender, rows)
    outbox.outbox_reject(
        rows=refused, failure=outbox.Failure(None, "too_large", "Object over 100 KB.")
    )
    if whole_claim is not None and requests and _hold_back(sender, requests, whole_claim):
        requests.pop()
    waves = _waves(requests, sender.concurrency)
    for number, (start, wave) in enumerate(waves, 1):
        if sender.stopped or sender.out_of_time():
            outbox.outbox_release(rows=_rows_of(requests[start:]))
            if not sender.stopped:  # out of time: the next run takes over at once
                sender.wait(0.0)
            return
        _send_wave(sender, wave, last=whole_claim is not None and number == len(waves))


Planned = list[tuple[TrackRequest, RowsAt]]


def _rows_of(requests: Planned) -> list[Delivery]:
    return [row for _, rows_at in requests for row in rows_at.values()]


def _waves(requests: Planned, size: int) -> list[tuple[int, Planned]]:
    """Requests that may be in flight together: at most ``size``, and never two holding the
    same user (a user's requests go one after another, so Braze sees them in order).
    Returns each wave with the index of its first request."""
    waves: list[tuple[int, Planned]] = []
    users: set[str] = set()
    for index, (request, rows_at) in enumerate(requests):
        request_users = {row.user_key for row in rows_at.values() if row.user_key}
        if not waves or len(waves[-1][1]) >= size or request_users & users:
            waves.append((index, []))
            users = set()
        waves[-1][1].append((request, rows_at))
        users |= request_users
    return waves


def _plan(
    sender: Sender, rows: Sequence[Delivery]
) -> tuple[list[tuple[TrackRequest, RowsAt]], list[Delivery]]:
    """Requests as ``mapping.requests`` packs them; rows that failed alone before go in
    smaller requests of their own (halved per such failure) until a bad one stands alone."""
    mode = sender.output.forwarding.batch_size_mode
    groups: list[list[Delivery]] = [[row for row in rows if not row.split_depth]]
    groups += _isolated_chunks([row for row in rows if row.split_depth], LIMITS[mode][0])
    requests: list[tuple[TrackRequest, RowsAt]] = []
    refused: list[Delivery] = []
    for group in groups:
        objects = [
            BrazeObject(ObjectKind(r.kind), r.body, r.event_index, None, r.user_key) for r in group
        ]
        by_object = {id(item): row for item, row in zip(objects, group, strict=True)}
        plan = build_track_requests(objects, mode)
        refused += [by_object[id(item)] for item in plan.refused]
        for request in plan.requests:
            rows_at = {key: by_object[id(item)] for key, item in request.index_map.items()}
            requests.append((request, rows_at))
    return requests, refused


def _isolated_chunks(rows: list[Delivery], per_request: int) -> list[list[Delivery]]:
    """Whole events, at most ``per_request >> depth`` objects a chunk."""
    chunks: list[list[Delivery]] = []
    events: dict[tuple[int, int, int | None], list[Delivery]] = {}
    for row in rows:
        events.setdefault((row.split_depth, row.batch_id, row.event_index), []).append(row)
    for (depth, _batch, _event), event_rows in events.items():
        cap = max(1, per_request >> depth)
        last = chunks[-1] if chunks else None
        same_depth = last is not None and last[0].split_depth == depth
        if last is not None and same_depth and len(last) + len(event_rows) <= cap:
            last.extend(event_rows)
        else:
            chunks.append(list(event_rows))
    return chunks


def _hold_back(
    sender: Sender, requests: list[tuple[TrackRequest, RowsAt]], claim: outbox.Claim
) -> bool:
    """Like a batching buffer: a partly filled last request goes back to the queue when more
    rows are due behind it (the next claim starts with it), or waits up to the linger time
    for more rows, so a backlog and a steady trickle both go out in full requests."""
    tail = list(requests[-1][1].values())
    linger = timedelta(seconds=delivery_config().forward_linger_seconds)
    full = LIMITS[sender.output.forwarding.batch_size_mode][1]
    if len(tail) >= full or any(row.split_depth for row in tail):
        return False
    more_follow = claim.full or outbox.outbox_has_due_rows(output=sender.output)
    if len(requests) > 1 and more_follow:
        outbox.outbox_release(rows=tail)
        return True
    if not linger:
        return False
    release_at = min(row.created_at for row in tail) + linger
    if release_at <= timezone.now():
        return False
    outbox.outbox_release(rows=tail, at=release_at)
    sender.wait((release_at - timezone.now()).total_seconds())
    return True


def _send_wave(sender: Sender, wave: Planned, *, last: bool = False) -> None:
    """Send the wave's requests at once, each after a token of the workspace's rate limit,
    all recorded before the first leaves; apply each answer as it arrives. The ``last`` wave
    of a claim takes the next claim while its requests are in flight."""
    ready = _acquire_tokens(sender, wave)
    rows = _rows_of(ready)
    if ready and not _keep_lease(sender, rows):
        outbox.outbox_release(rows=rows)
        sender.wait(0.0)
        sender.stopped = True
        return
    if not ready:
        return
    started = attempts.attempts_start(output=sender.output, requests=ready, worker=sender.worker)
    in_flight = {
        sender.pool.submit(sender.transport.track, request.body): (attempt, rows_at)
        for attempt, (request, rows_at) in zip(started, ready, strict=True)
    }
    if last:
        _claim_ahead(sender)
    waiting = set(in_flight)
    while waiting:
        done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
        _answered(sender, [(*in_flight[future], future.result()) for future in done])


def _acquire_tokens(sender: Sender, wave: Planned) -> Planned:
    """The wave's requests that got a rate-limit token; the rest go back to the queue."""
    for index, (_request, _rows_at) in enumerate(wave):
        if ratelimit.acquire(sender.workspace, timeout=RATE_LIMIT_WAIT_SECONDS) is None:
            outbox.outbox_release(rows=_rows_of(wave[index:]))
            sender.wait(1.0)
            sender.stopped = True
            return wave[:index]
    return wave


Answer = tuple[DeliveryAttempt, RowsAt, TrackResponse]


def _answered(sender: Sender, answers: list[Answer]) -> None:
    """Answers that arrived together, applied in one transaction: each answer and its effect
    on its rows are still both or neither, for one commit, and the rows of every accepted
    request are marked sent in one statement."""
    for _attempt, _rows_at, response in answers:
        ratelimit.observe(sender.workspace, response.rate_remaining, response.rate_reset_at)
    accepted: dict[int | None, list[Delivery]] = {}
    with transaction.atomic():
        for attempt, rows_at, response in answers:
            if response.outcome == TrackOutcome.SPLIT:
                continue
            attempts.attempt_finish(attempt=attempt, response=response)
            if response.outcome == TrackOutcome.SUCCESS:
                sender.accepted_any = True
                accepted.setdefault(response.status_code, []).extend(rows_at.values())
            else:
                OUTCOME_HANDLERS[response.outcome](sender, rows_at, response)
        for status_code, rows in accepted.items():
            outbox.outbox_mark_sent(rows=rows, status_code=status_code)
    for attempt, rows_at, response in answers:
        if response.outcome == TrackOutcome.SPLIT:  # sends more requests: not in a transaction
            attempts.attempt_finish(attempt=attempt, response=response)
            _on_split(sender, rows_at, response)


def _keep_lease(sender: Sender, rows: list[Delivery]) -> bool:
    """Renew the claim's lease when half of it is spent; False when it had run out and
    some of these rows were recovered meanwhile (sending them would duplicate them)."""
    claim = sender.claim
    if claim is None or claim.lease_left >= delivery_config().lease_seconds / 2:
        return True
    expired = claim.lease_left <= 0
    outbox.outbox_renew_lease(claim=claim)
    return not expired or outbox.outbox_still_held(rows=rows)


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
    accepted = [row for row in rows_at.values() if row.pk not in refused]
    outbox.outbox_mark_sent(rows=accepted, status_code=response.status_code)


def _on_retry(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    rows = list(rows_at.values())
    _retried, dead = outbox.outbox_retry_later(rows=rows, failure=_failure(response))
    sender.retried += rows
    sender.wait(delivery_config().retry_backoff_seconds[0] * 0.8)
    if dead:
        logger.warning("%s rows of output %s dead-lettered", dead, sender.output.pk)


def _isolate_lone_failures(sender: Sender) -> None:
    """Once a claim's requests are answered: if Braze accepted others while these failed,
    the failure is these rows' own, so they travel in smaller requests next time, until a
    row that Braze cannot take stands alone (and its neighbours get through)."""
    if sender.accepted_any and sender.retried:
        outbox.outbox_isolate(rows=sender.retried)
    sender.retried = []


def _on_rate_limited(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """Wait as Braze asks, without spending the rows' retry budget."""
    until = response.retry_after_at or timezone.now() + timedelta(seconds=5)
    ratelimit.block_until(sender.workspace, until)
    outbox.outbox_release(rows=list(rows_at.values()), at=until)
    sender.wait((until - timezone.now()).total_seconds())
    sender.stopped = True


def _on_split(sender: Sender, rows_at: RowsAt, response: TrackResponse) -> None:
    """A whole-request 400/413: bisect until the bad objects stand alone, then reject them."""
    rows = list(rows_at.values())
    if len(rows) == 1:
        outbox.outbox_reject(rows=rows, failure=_failure(response))
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
    if is_configuration_problem(response.status_code):  # the endpoint is wrong, not the rows
        reason = (
            f"Braze could not be reached as configured: {response.message or response.error_class}"
        )
        _pause(sender, rows_at, f"{reason}. Check the REST endpoint to resume.")
        return
    outbox.outbox_reject(rows=list(rows_at.values()), failure=_failure(response))


# Success is applied by ``_answered`` itself: the rows of every accepted request at once.
OUTCOME_HANDLERS = {
    TrackOutcome.PARTIAL: _on_partial,
    TrackOutcome.RETRY: _on_retry,
    TrackOutcome.RATE_LIMITED: _on_rate_limited,
    TrackOutcome.UNAUTHORIZED: _on_unauthorized,
    TrackOutcome.REJECTED: _on_rejected,
}
