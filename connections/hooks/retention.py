"""What retention forgets of REST hooks, after ``MPBRAZE_HOOK_RETENTION_DAYS``: finished
deliveries (delivered, failed or cancelled) with their attempts, then events none of whose
deliveries is left. A waiting or sending delivery is kept, whatever its age, and so is its
event. ``connections.delivery.retention`` walks these in chunks, beside the outbox's kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from connections.hooks.models import HookAttempt, HookDelivery, HookEvent

Status = HookDelivery.Status
FINISHED = [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED]


def hook_deliveries_due(cutoff: datetime) -> QuerySet[HookDelivery]:
    """Deliveries that finished before ``cutoff``; finished is final (nothing sends them
    again), so no lock is needed between choosing and deleting them."""
    return HookDelivery.objects.filter(status__in=FINISHED, finished_at__lt=cutoff)


def hook_events_due(cutoff: datetime) -> QuerySet[HookEvent]:
    """Events recorded before ``cutoff`` whose deliveries are all pruned (or were deleted
    with their subscription)."""
    deliveries = HookDelivery.objects.filter(event_id=OuterRef("pk"))
    return HookEvent.objects.filter(created_at__lt=cutoff).filter(~Exists(deliveries))


def hook_deliveries_delete(deliveries: QuerySet[Any], first: int, last: int) -> int:
    """Delete the range's due deliveries, their attempts first (which point at them)."""
    attempts = HookAttempt.objects.filter(
        delivery_id__gte=first, delivery_id__lte=last, delivery_id__in=deliveries.values("pk")
    )
    attempts._raw_delete(attempts.db)
    return deliveries._raw_delete(deliveries.db)
