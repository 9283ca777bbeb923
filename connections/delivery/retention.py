"""Retention: what is forgotten, and when.

The beat task ``mpbraze.retention_prune`` forgets, each after its own period (``.env.example``):
sent rows, discarded rows, HTTP attempts, the sample events of mapping issues, stored
inbound batches, finished REST hook deliveries and their events
(``connections.hooks.retention``), anonymous devices of the identity store
(``connections.identity.retention``) and the profiles of users gone quiet
(``connections.profiles.retention``). Failed outbox rows (dead, rejected) are never pruned,
whatever their age, and neither are their attempts nor their batch: they wait for an auditor
to replay or discard them.

Each kind is walked upwards by id, one chunk at a time: one statement selects the next chunk's
ids (ids only), the next deletes or updates the rows of that id range that still match. No row
is ever loaded, and ``_raw_delete`` skips Django's deletion collector, which would load every
row (payloads included) to follow its relations. The kinds take turns, a chunk each, until
nothing is due or the time budget is spent, so one run is bounded and no kind starves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from connections.delivery.models import Delivery, DeliveryAttempt, InboundBatch
from connections.delivery.tuning import DeliveryConfig, delivery_config
from connections.hooks.retention import (
    hook_deliveries_delete,
    hook_deliveries_due,
    hook_events_due,
)
from connections.hooks.tuning import hook_config
from connections.identity.retention import aliases_due, anonymous_identities_due
from connections.profiles.retention import profiles_due
from connections.profiles.tuning import profile_retention
from mapping.models import MappingIssue

logger = logging.getLogger(__name__)
PRUNE_CHUNK = 1000
# The task shares the default queue with mapping: a run gives its worker back after this long.
PRUNE_BUDGET_SECONDS = 30.0
EXPIRED_KEY = "expired:"
DONE_BATCH = [InboundBatch.Status.MAPPED, InboundBatch.Status.FAILED, InboundBatch.Status.KIT]
LINKS = DeliveryAttempt.deliveries.through
# Deletes or updates the rows of one id range (``first`` to ``last``) that are still due.
Act = Callable[[QuerySet[Any], int, int], int]


@dataclass(frozen=True)
class RetentionReport:
    """Rows pruned by one run, per kind; ``complete`` is False when the budget ran out first."""

    sent: int
    discarded: int
    attempts: int
    batches: int
    batch_keys_expired: int
    samples_cleared: int
    complete: bool
    hook_deliveries: int = 0  # with their attempts
    hook_events: int = 0
    anonymous_identities: int = 0  # device stamps of the Web SDK's identity store
    identity_aliases: int = 0  # the Web SDK's alias requests
    profiles: int = 0  # user profiles of users no batch came for


def retention_prune(
    *,
    now: datetime | None = None,
    budget_seconds: float = PRUNE_BUDGET_SECONDS,
    chunk: int = PRUNE_CHUNK,
) -> RetentionReport:
    """Prune every kind past its period, a chunk of each in turn, until nothing is due or
    ``budget_seconds`` are spent. A run always does one round, so it always makes progress."""
    walks = _walks(delivery_config(), now or timezone.now())
    deadline = time.monotonic() + budget_seconds
    while True:
        for walk in walks.values():
            walk.step(chunk)
        complete = all(walk.done for walk in walks.values())
        if complete or time.monotonic() >= deadline:
            break
    if not complete:
        logger.info("Retention stopped at its time budget; the rest is pruned by the next run")
    counts = {name: walk.count for name, walk in walks.items()}
    return RetentionReport(**counts, complete=complete)


@dataclass
class _Walk:
    """One kind of pruning, walked upwards by id, one chunk per step."""

    due: QuerySet[Any]
    act: Act
    lock: bool = False
    after: int = 0
    count: int = 0
    done: bool = False

    def step(self, chunk: int) -> None:
        if self.done:
            return
        with transaction.atomic():
            pending = self.due.filter(pk__gt=self.after).order_by("pk")
            if self.lock:  # a replay could requeue them meanwhile: hold them until deleted
                pending = pending.select_for_update()
            ids = list(pending.values_list("pk", flat=True)[:chunk])
            if not ids:
                self.done = True
                return
            first, last = ids[0], ids[-1]
            self.count += self.act(self.due.filter(pk__gte=first, pk__lte=last), first, last)
            self.after, self.done = last, len(ids) < chunk  # a short chunk was the last


def _walks(config: DeliveryConfig, now: datetime) -> dict[str, _Walk]:
    """In the order of a round: rows before the attempts and batches they keep, hook
    deliveries before their events."""
    hook_cutoff = now - hook_config().retention
    return {
        "sent": _Walk(_sent_due(now - config.sent_retention), _deleting("delivery"), lock=True),
        "discarded": _Walk(
            _discarded_due(now - config.discarded_retention), _deleting("delivery"), lock=True
        ),
        "attempts": _Walk(
            _attempts_due(now - config.attempt_retention), _deleting("deliveryattempt")
        ),
        "batches": _Walk(_batches_due(now - config.batch_retention), _deleting()),
        "batch_keys_expired": _Walk(
            _batch_keys_due(now - config.dedup_window, now - config.batch_retention),
            _expiring_keys,
        ),
        "samples_cleared": _Walk(
            _samples_due(now - config.mapping_sample_retention), _clearing_samples
        ),
        "hook_deliveries": _Walk(hook_deliveries_due(hook_cutoff), hook_deliveries_delete),
        "hook_events": _Walk(hook_events_due(hook_cutoff), _deleting()),
        "anonymous_identities": _Walk(
            anonymous_identities_due(now - config.batch_retention), _deleting()
        ),
        "identity_aliases": _Walk(aliases_due(now - config.batch_retention), _deleting()),
        "profiles": _Walk(profiles_due(now - profile_retention()), _deleting()),
    }


def _sent_due(cutoff: datetime) -> QuerySet[Delivery]:
    # A replayed row is sent like any other: its failure is history, kept in its audit trail.
    return Delivery.objects.filter(status=Delivery.Status.SENT, sent_at__lt=cutoff)


def _discarded_due(cutoff: datetime) -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=Delivery.Status.DISCARDED, discarded_at__lt=cutoff)


def _attempts_due(cutoff: datetime) -> QuerySet[DeliveryAttempt]:
    """Old attempts none of whose rows is kept: every row they carried is sent or gone. Any
    other status (failed, waiting, discarded, or one added later) keeps the attempt, which
    the row's page shows."""
    kept_rows = LINKS.objects.filter(deliveryattempt_id=OuterRef("pk")).exclude(
        delivery__status=Delivery.Status.SENT
    )
    return DeliveryAttempt.objects.filter(started_at__lt=cutoff).filter(~Exists(kept_rows))


def _batches_due(cutoff: datetime) -> QuerySet[InboundBatch]:
    """Old batches no outbox row refers to any more (failed rows keep theirs)."""
    return InboundBatch.objects.filter(received_at__lt=cutoff, status__in=DONE_BATCH).filter(
        ~Exists(Delivery.objects.filter(batch_id=OuterRef("pk")))
    )


def _batch_keys_due(window_cutoff: datetime, retention_cutoff: datetime) -> QuerySet[InboundBatch]:
    """Batches past the de-duplication window that pruning keeps (rows still refer to them,
    or their retention is longer than the window): they lose their de-duplication keys, so
    a batch sent again after the window is accepted as new, as mParticle does."""
    kept = Q(received_at__gte=retention_cutoff) | Exists(
        Delivery.objects.filter(batch_id=OuterRef("pk"))
    )
    return (
        InboundBatch.objects.filter(received_at__lt=window_cutoff, status__in=DONE_BATCH)
        .exclude(content_hash__startswith=EXPIRED_KEY)
        .filter(kept)
    )


def _samples_due(cutoff: datetime) -> QuerySet[MappingIssue]:
    """Issues not seen for the period keep their counts but forget their sample event."""
    holding = Q(sample_event__isnull=False) | Q(sample_sent__isnull=False)
    return MappingIssue.objects.filter(holding, last_seen__lt=cutoff)


def _deleting(link: str = "") -> Act:
    """Delete the range's due rows; first their links to attempts (or rows), which point at
    them, when ``link`` names the link's side of them."""

    def delete(rows: QuerySet[Any], first: int, last: int) -> int:
        if link:
            links = LINKS.objects.filter(
                **{f"{link}__gte": first, f"{link}__lte": last, f"{link}__in": rows.values("pk")}
            )
            links._raw_delete(links.db)
        return rows._raw_delete(rows.db)

    return delete


def _expiring_keys(batches: QuerySet[Any], first: int, last: int) -> int:
    # Unique per batch, so the (connection, content_hash) constraint still holds.
    expired = Concat(Value(EXPIRED_KEY), Cast("pk", models.CharField()))
    return batches.update(source_request_id="", content_hash=expired)


def _clearing_samples(issues: QuerySet[Any], first: int, last: int) -> int:
    return issues.update(sample_event=None, sample_sent=None)
