"""Readiness: can this instance do its work now? Each check names what failed.

What /readyz promises: docs/operations.md "Health and metrics".

``/readyz`` asks the database, the broker, the workers (a heartbeat younger than
``heartbeat_max_age``) and the outbox (its oldest due row younger than
``MPBRAZE_READY_MAX_DUE_SECONDS``, paused and disabled connections aside). Liveness
(``/healthz``) asks nothing: it answers while the process can.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from connections.delivery import outbox
from connections.delivery.sweeper import broker_queue_depth
from connections.delivery.tuning import delivery_config
from connections.models import BrazeOutput, Platform
from connections.probes.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def heartbeat_record(*, worker: str, now: datetime | None = None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=worker[:200], defaults={"seen_at": now or timezone.now()}
    )


def heartbeat_max_age() -> timedelta:
    """A minute, or two sweeps when the sweep is slower than that."""
    return timedelta(seconds=max(60.0, 2 * delivery_config().sweep_seconds))


def _database() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Check("database", True, "answers")


def _broker() -> Check:
    depth = broker_queue_depth()
    if depth is None:
        return Check("broker", False, "the task broker cannot be reached")
    return Check("broker", True, f"{depth} messages waiting")


def _workers(now: datetime) -> Check:
    newest = WorkerHeartbeat.objects.order_by("-seen_at").first()
    limit = heartbeat_max_age()
    if newest is None:
        return Check("worker", False, "no worker has run the beat's heartbeat task yet")
    age = (now - newest.seen_at).total_seconds()
    if age > limit.total_seconds():
        return Check("worker", False, f"last worker heartbeat {age:.0f} s ago ({newest.worker})")
    return Check("worker", True, f"{newest.worker} {age:.0f} s ago")


def _outbox(now: datetime) -> Check:
    """One index probe per active Server output, as the sweeper does."""
    outputs = BrazeOutput.objects.filter(
        platform=Platform.SERVER, connection__enabled=True, connection__paused_reason=""
    ).values_list("pk", flat=True)
    due = [outbox.outbox_next_due(output_id=pk) for pk in outputs[:1000]]
    oldest = min((moment for moment in due if moment is not None), default=None)
    age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
    limit = settings.MPBRAZE_READY_MAX_DUE_SECONDS
    if age > limit:
        return Check(
            "outbox", False, f"the oldest due row has waited {age:.0f} s (over {limit:g} s)"
        )
    return Check("outbox", True, f"oldest due row waited {age:.0f} s")


def readiness_checks(*, now: datetime | None = None) -> list[Check]:
    now = now or timezone.now()
    checks: list[Callable[[], Check]] = [
        _database,
        _broker,
        lambda: _workers(now),
        lambda: _outbox(now),
    ]
    results = []
    for run, name in zip(checks, ("database", "broker", "worker", "outbox"), strict=True):
        try:
            results.append(run())
        except Exception as error:  # a check that cannot run has failed; say which and why
            logger.warning("Readiness check %s failed", name, exc_info=True)
            results.append(Check(name, False, f"{type(error).__name__}: {str(error)[:200]}"))
        if name == "database" and not results[-1].ok:
            break  # the other checks read the database
    return results
