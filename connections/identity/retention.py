"""What retention forgets of the identity store: anonymous devices and alias requests.

A device stamp's record whose MPID no known identity shares is pruned with the batches'
retention (``MPBRAZE_BATCH_RETENTION_DAYS``), counted from when it was stored; the device gets
a new MPID if it comes back. Known identities are kept for ever (an identity maps to one MPID).
Alias requests go with the batches they attribute. ``connections.delivery.retention`` walks
these in chunks, beside the outbox's kinds.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from connections.identity.models import DEVICE_STAMP, IdentityAlias, IdentityRecord


def anonymous_identities_due(cutoff: datetime) -> QuerySet[IdentityRecord]:
    """Device stamps stored before ``cutoff`` whose MPID holds no known identity."""
    known = IdentityRecord.objects.filter(
        connection_id=OuterRef("connection_id"), mpid=OuterRef("mpid")
    ).exclude(identity_type=DEVICE_STAMP)
    return IdentityRecord.objects.filter(identity_type=DEVICE_STAMP, created_at__lt=cutoff).filter(
        ~Exists(known)
    )


def aliases_due(cutoff: datetime) -> QuerySet[IdentityAlias]:
    """Alias requests recorded before ``cutoff``: they attribute the batches of a window, and
    go with the batches' retention."""
    return IdentityAlias.objects.filter(created_at__lt=cutoff)
