"""What mpbraze remembers of each MPID of an output that sends anonymous users as a user alias:
whether objects went out under its alias, the external id it later arrived with, and when the
``/users/identify`` that merges the two profiles at Braze was queued (once, ever)."""

from __future__ import annotations

from django.db import models

from connections.models import BrazeOutput


class AnonymousProfile(models.Model):
    """One MPID of one output (docs/mapping.md "Anonymous users, then known").

    The unique constraint makes recording a sighting one upsert, and the identify happens
    once: only the transaction that first holds both an alias sighting and an external id
    queues it, and ``identified_at`` says it did.
    """

    output = models.ForeignKey(
        BrazeOutput, on_delete=models.CASCADE, related_name="anonymous_profiles"
    )
    mpid = models.CharField("MPID", max_length=24)
    external_id = models.CharField(
        max_length=1000, blank=True, help_text="The external id this MPID first arrived with."
    )
    alias_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="When objects were first mapped under its user alias."
    )
    identified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the /users/identify merging the alias was queued."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["output", "mpid"], name="anonymous_profile_once"),
        ]

    def __str__(self) -> str:
        return f"MPID {self.mpid} of output #{self.output_id}"
