"""Replay and discard of failed sends (docs/auditing.md): recorded, idempotent, order-safe.

A request becomes one ``ReplayRun`` per connection, done by a Celery task in chunks. A
replay puts rows back in the outbox queue, where the forwarder sends them like any other row,
in their original (batch, sequence) order and a user's rows one after another. Rows are taken
under a row lock and only from a final state, so a replay racing with the forwarder, or with
another replay, never queues a row twice; a row Braze accepted is skipped unless forced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from connections.audit import failures, selectors
from connections.audit.models import ReplayRun
from connections.audit.order import attributes_not_overwriting
from connections.delivery import outbox, schedule
from connections.delivery.models import FAILED_STATUSES, Delivery
from connections.models import Connection
from mpbraze.publish import publish

logger = logging.getLogger(__name__)
Status = Delivery.Status
CHUNK = 500
STALE_RUN = timedelta(minutes=15)
REPLAYABLE = (*FAILED_STATUSES, Status.DISCARDED)
LOCKED_FIELDS = (*outbox.CLAIMED_FIELDS, "status", "failure_group_id")


def selection_rows(selection: Mapping[str, Any]) -> QuerySet[Delivery]:
    """The rows a stored selection names: explicit ids, or the admin's filter values."""
    if "ids" in selection:
        ids = [int(pk) for pk in selection["ids"]]
        return Delivery.objects.filter(pk__in=ids, failed_at__isnull=False)
    return selectors.failed_sends(selection.get("filter", {}))


def replay_runs_create(
    *,
    selection: Mapping[str, Any],
    action: str = ReplayRun.Action.REPLAY,
    user: User | None = None,
    via: str,
    force: bool = False,
    reason: str = "",
    enqueue: bool = True,
) -> list[ReplayRun]:
    """Record a replay (or discard) of the selected rows, one run per connection, and start
    each on commit (unless the caller runs them itself). A paused or disabled connection's
    replay is recorded as refused, with the reason; a discard needs a reason."""
    if action == ReplayRun.Action.DISCARD and not reason.strip():
        raise selectors.SelectionError("reason", "say why these rows are discarded")
    rows = selection_rows(selection)
    connection_ids = list(rows.order_by().values_list("connection_id", flat=True).distinct())
    runs = []
    for connection in Connection.objects.filter(pk__in=connection_ids).order_by("pk"):
        run = ReplayRun.objects.create(
            action=action,
            connection=connection,
            requested_by=user,
            requested_via=via,
            selection=dict(selection),
            force=force,
            reason=reason.strip(),
        )
        refusal = selectors.connection_refusal(connection)
        if refusal and action == ReplayRun.Action.REPLAY:
            _finish(run, ReplayRun.Status.REFUSED, refusal)
        elif enqueue:
            transaction.on_commit(partial(_enqueue, run.pk), robust=True)
        runs.append(run)
    return runs


def replay_runs_resume(*, now: datetime | None = None) -> int:
    """Start again runs whose message was lost (waiting over a minute) or whose worker died
    (running past ``STALE_RUN``): a run acts only on rows still in a final state, so doing
    part of it again changes nothing twice. The beat runs it (``mpbraze.replay_runs_sweep``)."""
    now = now or timezone.now()
    ReplayRun.objects.filter(
        status=ReplayRun.Status.RUNNING, started_at__lt=now - STALE_RUN
    ).update(status=ReplayRun.Status.PENDING)
    waiting = ReplayRun.objects.filter(
        status=ReplayRun.Status.PENDING, created_at__lt=now - timedelta(minutes=1)
    )
    lost = list(waiting.order_by("pk").values_list("pk", flat=True)[:100])
    for run_id in lost:
        _enqueue(run_id)
    return len(lost)


def _enqueue(run_id: int) -> None:
    try:
        publish("mpbraze.replay_run", (run_id,))
    except Exception:  # the broker is down: the sweeper starts waiting runs again
        logger.warning("Could not start replay run %s", run_id, exc_info=True)


@dataclass
class Tally:
    acted: int = 0
    accepted: int = 0
    pending: int = 0
    superseded: int = 0
    groups: set[int] = field(default_factory=set)


def replay_run_execute(*, run_id: int) -> ReplayRun | None:
    """Do a recorded run in chunks (quietly nothing when it is gone, done, or being done by
    another worker: a redelivered message finds the run taken)."""
    taken = ReplayRun.objects.filter(pk=run_id, status=ReplayRun.Status.PENDING).update(
        status=ReplayRun.Status.RUNNING, started_at=timezone.now()
    )
    run = ReplayRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None or not taken:
        return run
    refusal = selectors.connection_refusal(run.connection)
    if refusal and run.action == ReplayRun.Action.REPLAY:
        return _finish(run, ReplayRun.Status.REFUSED, refusal)
    rows = selection_rows(run.selection).filter(connection=run.connection)
    # The whole selection's ids, in the order Braze must see them (a user's oldest first).
    ids = list(rows.order_by("batch_id", "sequence").values_list("pk", flat=True))
    run.matched = len(ids)
    run.users = rows.order_by().values("user_key").distinct().count()
    run.save(update_fields=["matched", "users"])
    tally = Tally()
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic():
            _act_on_chunk(run, ids[start : start + CHUNK], tally)
    return _finish(run, ReplayRun.Status.DONE, _outcome(run, tally), tally)


def _act_on_chunk(run: ReplayRun, ids: list[int], tally: Tally) -> None:
    locked = Delivery.objects.select_for_update(of=("self",)).filter(pk__in=ids)
    rows = sorted(locked.only(*LOCKED_FIELDS), key=lambda r: (r.batch_id, r.sequence))
    tally.pending += sum(row.status in (Status.QUEUED, Status.SENDING) for row in rows)
    tally.groups |= {row.failure_group_id for row in rows if row.failure_group_id}
    if run.action == ReplayRun.Action.DISCARD:
        tally.accepted += sum(row.status == Status.SENT for row in rows)
        _discard(run, [row for row in rows if row.status in FAILED_STATUSES], tally)
        return
    statuses = (*REPLAYABLE, Status.SENT) if run.force else REPLAYABLE
    chosen = [row for row in rows if row.status in statuses]
    tally.accepted += sum(row.status == Status.SENT and not run.force for row in rows)
    kept, rewritten, superseded = attributes_not_overwriting(chosen)
    tally.superseded += len(superseded)
    for row in rewritten:
        Delivery.objects.filter(pk=row.pk).update(body=row.body)
    _requeue(run, kept, tally)


def _requeue(run: ReplayRun, rows: list[Delivery], tally: Tally) -> None:
    if not rows:
        return
    now = timezone.now()
    tally.acted += Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Status.QUEUED,
        next_attempt_at=now,
        created_at=now,  # a fresh retry window: a replay is a new try, not the old one's end
        attempts=0,
        split_depth=0,
        lease_until=None,
        claim_token="",
        replay_run=run,
        replay_count=F("replay_count") + 1,
    )
    for output_id in {row.output_id for row in rows}:
        schedule.forward_schedule(output_id=output_id, at=now)


def _discard(run: ReplayRun, rows: list[Delivery], tally: Tally) -> None:
    if rows:
        tally.acted += Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Status.DISCARDED, discarded_at=timezone.now(), lease_until=None, replay_run=run
        )


def _outcome(run: ReplayRun, tally: Tally) -> str:
    verb = "Discarded" if run.action == ReplayRun.Action.DISCARD else "Queued again"
    parts = [f"{verb} {tally.acted} of {run.matched} rows"]
    if tally.accepted:
        parts.append(f"{tally.accepted} already accepted by Braze skipped")
    if tally.pending:
        parts.append(f"{tally.pending} already queued skipped")
    if tally.superseded:
        parts.append(f"{tally.superseded} attributes skipped: newer values already accepted")
    return "; ".join(parts) + "."


def _finish(run: ReplayRun, status: str, outcome: str, tally: Tally | None = None) -> ReplayRun:
    run.status, run.outcome, run.finished_at = status, outcome, timezone.now()
    fields = ["status", "outcome", "finished_at"]
    if tally is not None:
        run.acted, run.skipped_accepted = tally.acted, tally.accepted
        run.skipped_pending, run.skipped_superseded = tally.pending, tally.superseded
        fields += ["acted", "skipped_accepted", "skipped_pending", "skipped_superseded"]
        failures.failure_groups_settle(group_ids=tally.groups)
    run.save(update_fields=fields)
    return run
