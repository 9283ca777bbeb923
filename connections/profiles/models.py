"""Each connection's user profiles: a user's attributes as last sent to Braze, by MPID (or, for
a batch without one, by its external identity), kept between batches for enrichment.
The rules live in the pure ``mapping.profile``; ``connections.profiles.store`` reads and writes."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from connections.models import Connection


class UserProfile(models.Model):
    """One user of one connection. ``version`` counts writes: a write names the version it read,
    so two workers storing one user at once find out, and the later one merges."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="user_profiles"
    )
    mpid = models.BigIntegerField("MPID", null=True, blank=True)
    external_id = models.CharField(
        "external identity",
        max_length=1000,
        blank=True,
        help_text="The Braze external_id of the newest batch that had one; blank while anonymous.",
    )
    attributes = models.JSONField(default=dict, help_text="Braze name → value, as last sent.")
    stamps = models.JSONField(
        default=dict,
        help_text="Braze name → the batch (arrival order) that last set or removed it.",
    )
    version = models.PositiveBigIntegerField(default=1)
    last_batch_id = models.BigIntegerField("newest batch applied", default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "mpid"],
                condition=Q(mpid__isnull=False),
                name="profile_once_per_mpid",
            ),
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                condition=Q(mpid__isnull=True),
                name="profile_once_per_external_id",
            ),
        ]
        indexes = [
            # Erasure finds a user by external identity whichever key their profile has.
            models.Index(fields=["connection", "external_id"], name="profile_by_external_id"),
            models.Index(fields=["updated_at"], name="profile_updated_at"),
        ]

    def __str__(self) -> str:
        return f"MPID {self.mpid}" if self.mpid is not None else self.external_id
