"""Sending claimed outbox rows to Braze ``/users/track``.

One output at a time: claim due rows, pack them into requests (``mapping.requests``), take a
token of the workspace's rate limit for each, record the attempts, send up to
``MPBRAZE_FORWARD_CONCURRENCY`` of them at once (a user's requests one after another), and
claim the next rows while the last ones are in flight; while a claim waits for Braze, another
lane of the task sends the next one (``lanes``). ``answers`` applies each outcome to
exactly the rows of its request, in the same transaction as the attempt's answer
(docs/architecture.md "The data path").
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

from django.utils import timezone

from connections import lifecycle
from connections.braze.transport import BrazeTransport
from connections.crypto.encryption import EncryptionKeyError
from connections.delivery import answers, attempts, groups, outbox, ratelimit, schedule
from connections.delivery.identify import identifies_first
from connections.delivery.lanes import Lanes
from connections.delivery.models import Delivery
from connections.delivery.outcomes import RowsAt, held_rows
from connections.delivery.sender import Planned, Sender, keep_lease, rows_of, workspace_of
from connections.delivery.tuning import delivery_config
from connections.dsr import guard
from connections.models import BrazeOutput, Connection
from mapping.objects import BrazeObject, ObjectKind
from mapping.output_settings import BatchSizeMode
from mapping.requests import LIMITS, TrackRequest, build_track_requests

RATE_LIMIT_WAIT_SECONDS = 30.0
# Requests sent together are answered within moments of each other: after the first answer,
# the others that arrive within this long are applied with it, in one transaction.
GATHER_ANSWERS_SECONDS = 0.02


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
        api_key = lifecycle.output_api_key(output=output)
    except EncryptionKeyError as error:
        lifecycle.connection_pause(connection=output.connection, reason=_undecryptable(error))
        return None
    config = delivery_config()
    budget = budget_seconds or config.forward_budget_seconds
    with (
        BrazeTransport(output.rest_host, api_key) as transport,
        ThreadPoolExecutor(config.forward_concurrency, thread_name_prefix="braze-send") as pool,
    ):
        deadline = time.monotonic() + budget
        held_behind = outbox.HeldBehind()  # rows one lane holds behind another's claim

        def sender() -> Sender:
            return Sender(
                output,
                transport,
                workspace_of(output),
                deadline=deadline,
                pool=pool,
                concurrency=config.forward_concurrency,
                worker=worker or f"pid {os.getpid()}",
                held_behind=held_behind,
            )

        return Lanes(sender, _forward, config.forward_lanes).run()


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
        claim = sender.next_claim or _claim(sender)
        sender.next_claim = None
        outbox.outbox_confirm_order(output=sender.output, claim=claim)
        sender.held_behind.note(claim)
        if claim.held_until is not None:
            sender.run_again_after((claim.held_until - timezone.now()).total_seconds())
        if not claim.rows:
            return _next_run(sender)
        if claim.full:  # more is waiting: another lane, and another worker, claim meanwhile
            schedule.forward_schedule(output_id=sender.output.pk)
            if sender.open_lane is not None:
                sender.open_lane()
        sender.claim, sender.put_back = claim, set()
        send_rows(sender, claim.rows, whole_claim=claim)
        answers.isolate_lone_failures(sender)
        outbox.outbox_wake(pks=sender.held_behind.take(claim.token))
    return sender.run_again_in


def _claim(sender: Sender, following: outbox.Claim | None = None) -> outbox.Claim:
    claim = outbox.outbox_claim_batch(output=sender.output, following=following)
    sender.held_behind.note(claim)  # at once: the claim they wait behind may soon be answered
    return claim


def _claim_ahead(sender: Sender) -> None:
    """While a claim's last requests are in flight, claim the next rows: the database work
    overlaps Braze's answer instead of following it. The rows in flight hold none of their
    users' rows back: this lane sends the next claim after their answers, once the claim is
    checked for rows of the last that did not get through (``outbox_confirm_order``)."""
    if sender.stopped or sender.out_of_time() or not sender.claim or not sender.claim.full:
        return
    sender.next_claim = _claim(sender, following=sender.claim)


def _next_run(sender: Sender) -> float | None:
    """Nothing is due now: run again when the soonest queued row comes due (rows in backoff,
    held for order or lingering), so no row waits for the sweeper to be noticed."""
    soonest = outbox.outbox_next_due(output_id=sender.output.pk)
    if soonest is not None:
        sender.run_again_after((soonest - timezone.now()).total_seconds())
    return sender.run_again_in


def _active(output: BrazeOutput) -> bool:
    """Paused or disabled meanwhile (by another worker or a marketer): stop claiming."""
    return Connection.objects.filter(
        pk=output.connection_id, enabled=True, paused_reason=""
    ).exists()


def send_rows(
    sender: Sender, rows: Sequence[Delivery], *, whole_claim: outbox.Claim | None = None
) -> None:
    rows = identifies_first(sender, rows)  # a known user's objects follow their identify
    requests, refused = _plan(sender, rows)
    outbox.outbox_reject(
        rows=refused, failure=outbox.Failure(None, "too_large", "Object over 100 KB.")
    )
    if whole_claim is not None and requests and _hold_back(sender, requests, whole_claim):
        requests.pop()
    waves = _waves(requests, sender.concurrency)
    for number, (start, wave) in enumerate(waves, 1):
        if sender.stopped or sender.out_of_time():
            outbox.outbox_release(rows=rows_of(requests[start:]))
            if not sender.stopped:  # out of time: the next run takes over at once
                sender.run_again_after(0.0)
            return
        wave = _behind_put_back(sender, wave)
        if wave:
            _send_wave(sender, wave, last=whole_claim is not None and number == len(waves))


def _behind_put_back(sender: Sender, wave: Planned) -> Planned:
    """The wave's requests holding no user whose earlier rows of this claim went back to the
    queue (retried after a failure, or put back): the others go back too, to follow them in
    a later claim (which holds them behind the retry), and so do their users' later rows. A
    wave's requests hold different users, so one going back holds nobody else of the wave."""
    if not sender.put_back:
        return wave
    kept: Planned = []
    back: Planned = []
    for request, rows_at in wave:
        users = {row.user_key for row in rows_at.values() if row.user_key}
        (back if users & sender.put_back else kept).append((request, rows_at))
    for _request, rows_at in back:
        sender.put_back |= {row.user_key for row in rows_at.values() if row.user_key}
    outbox.outbox_release(rows=rows_of(back))
    return kept


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
    smaller requests of their own (halved per such failure) until a bad one stands alone,
    one object a row. A row of several objects that the packing spreads over several
    requests (or that holds an object over 100 KB) is split first: a row per request."""
    mode = sender.output.forwarding.batch_size_mode
    isolated = groups.split_whole([row for row in rows if row.split_depth])
    batches = [[row for row in rows if not row.split_depth]]
    batches += _isolated_chunks(isolated, LIMITS[mode][0])
    requests: list[tuple[TrackRequest, RowsAt]] = []
    refused: list[Delivery] = []
    for batch in batches:
        packed, refused_here = _pack(batch, mode)
        requests += packed
        refused += refused_here
    return requests, refused


Placed = tuple[Delivery, int]  # an object: its row and its position among the row's objects


def _pack(
    rows: list[Delivery], mode: BatchSizeMode
) -> tuple[list[tuple[TrackRequest, RowsAt]], list[Delivery]]:
    """Pack the rows' objects, then give each request rows of its own: a row whose objects
    went to several requests (or were refused) is split along them."""
    objects: list[BrazeObject] = []
    placed: dict[int, Placed] = {}
    for row in rows:
        for position, held in enumerate(row.held_objects()):
            item = BrazeObject(
                ObjectKind(held.kind), held.body, held.event_index, None, row.user_key
            )
            objects.append(item)
            placed[id(item)] = (row, position)
    plan = build_track_requests(objects, mode)
    # Where each object went: a request's index, or -1 - position when refused (alone).
    went: dict[int, dict[int, int]] = {}
    for number, request in enumerate(plan.requests):
        for item in request.index_map.values():
            row, position = placed[id(item)]
            went.setdefault(row.pk, {})[position] = number
    for item in plan.refused:
        row, position = placed[id(item)]
        went.setdefault(row.pk, {})[position] = -1 - position
    pieces = {
        row.pk: (row, _runs(went[row.pk]))
        for row in rows
        if row.more and len(set(went[row.pk].values())) > 1
    }
    parts = groups.split_into(pieces)
    piece_of = {
        (pk, position): part
        for pk, (_row, runs) in pieces.items()
        for run, part in zip(runs, parts[pk], strict=False)  # (a row erased meanwhile: whole)
        for position in run
    }

    def own(item: BrazeObject) -> Delivery:
        row, position = placed[id(item)]
        return piece_of.get((row.pk, position), row)

    requests = [
        (request, {key: own(item) for key, item in request.index_map.items()})
        for request in plan.requests
    ]
    return requests, list({id(row): row for row in map(own, plan.refused)}.values())


def _runs(went: dict[int, int]) -> groups.Pieces:
    """A row's positions grouped by where they went, in order of their first position."""
    runs: dict[int, list[int]] = {}
    for position in sorted(went):
        runs.setdefault(went[position], []).append(position)
    return sorted(runs.values(), key=lambda run: run[0])


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
    tail = held_rows(requests[-1][1])
    linger = timedelta(seconds=delivery_config().forward_linger_seconds)
    full = LIMITS[sender.output.forwarding.batch_size_mode][1]
    if len(requests[-1][1]) >= full or any(row.split_depth for row in tail):
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
    sender.run_again_after((release_at - timezone.now()).total_seconds())
    return True


def _send_wave(sender: Sender, wave: Planned, *, last: bool = False) -> None:
    """Send the wave's requests at once, each after a token of the workspace's rate limit,
    all recorded before the first leaves; apply the answers as they arrive, those arriving
    together (within ``GATHER_ANSWERS_SECONDS`` of the first) in one transaction. The
    ``last`` wave of a claim takes the next claim while its requests are in flight."""
    ready = _acquire_tokens(sender, wave)
    rows = rows_of(ready)
    if _erased_meanwhile(sender, rows):
        return
    if ready and not keep_lease(sender, rows):
        outbox.outbox_release(rows=rows)
        sender.run_again_after(0.0)
        sender.stopped = True
        return
    if not ready:
        return
    started = attempts.attempts_start(output=sender.output, requests=ready, worker=sender.worker)
    in_flight = {
        sender.pool.submit(sender.transport.track, request.content or request.body): (
            attempt,
            rows_at,
        )
        for attempt, (request, rows_at) in zip(started, ready, strict=True)
    }
    if last:
        _claim_ahead(sender)
    waiting = set(in_flight)
    halves: list[list[Delivery]] = []
    while waiting:
        done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
        if waiting:  # one commit for the answers arriving together, not one per answer
            gathered, waiting = wait(waiting, timeout=GATHER_ANSWERS_SECONDS)
            done |= gathered
        halves += answers.answered(sender, [(*in_flight[f], f.result()) for f in done])
    for rows in halves:  # a request refused whole: bisected until the bad objects stand alone
        send_rows(sender, rows)


def _erased_meanwhile(sender: Sender, rows: list[Delivery]) -> bool:
    """Checked last, just before the requests are recorded and sent: rows of a subject whose
    erasure was accepted meanwhile are deleted, never sent, and the wave's other rows go back
    to the queue to be packed again without them (docs/erasure.md)."""
    kept = guard.erased_rows_drop(rows)
    if len(kept) == len(rows):
        return False
    outbox.outbox_release(rows=kept)
    sender.put_back |= {row.user_key for row in kept if row.user_key}
    sender.run_again_after(0.0)
    return True


def _acquire_tokens(sender: Sender, wave: Planned) -> Planned:
    """The wave's requests that got a rate-limit token (all of them in one round trip while
    the limit leaves room); the rest go back to the queue."""
    taken, _waited = ratelimit.acquire_many(
        sender.workspace, len(wave), timeout=RATE_LIMIT_WAIT_SECONDS
    )
    if taken < len(wave):
        outbox.outbox_release(rows=rows_of(wave[taken:]))
        sender.run_again_after(1.0)
        sender.stopped = True
    return wave[:taken]
