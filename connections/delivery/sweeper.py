"""The beat sweeper: finds work whose Celery message was lost and hands it out again.

The database is the system of record, so a lost broker message, a crashed worker or a restart
costs a delay of one sweep, never data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from connections.delivery import attempts, outbox
from connections.delivery.models import Delivery, InboundBatch

SWEEP_BATCH_LIMIT = 1000


@dataclass(frozen=True)
class SweepReport:
    leases_recovered: int
    outputs_enqueued: int
    batches_enqueued: int
    pruned: int


def deliveries_sweep() -> SweepReport:
    from connections.delivery.tasks import batch_map, output_forward

    now = timezone.now()
    recovered = outbox.outbox_recover_expired_leases(now=now)
    outputs = _outputs_with_due_rows(now)
    for output_id in outputs:
        output_forward.delay(output_id)
    batches = _batches_left_unmapped(now)
    for batch_id in batches:
        batch_map.delay(batch_id)
    return SweepReport(recovered, len(outputs), len(batches), attempts.attempts_prune(now=now))


def _outputs_with_due_rows(now) -> list[int]:  # type: ignore[no-untyped-def]
    due = Delivery.objects.filter(
        status=Delivery.Status.QUEUED,
        next_attempt_at__lte=now,
        connection__enabled=True,
        connection__paused_reason="",
    )
    return list(due.values_list("output_id", flat=True).distinct().order_by("output_id"))


def _batches_left_unmapped(now) -> list[int]:  # type: ignore[no-untyped-def]
    grace = timedelta(seconds=float(getattr(settings, "MPBRAZE_MAPPING_GRACE_SECONDS", 60)))
    stale = InboundBatch.objects.filter(
        status=InboundBatch.Status.RECEIVED, received_at__lt=now - grace
    )
    return list(stale.order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH_LIMIT])
