"""The identity store: which MPID each identity of a connection's users was given (the Web SDK's
Identity API issues them, `connections.websdk`), and what retention forgets of it."""

from __future__ import annotations

from django.db import models

from connections.models import Connection

# The SDK's anonymous device identity: it gets an MPID of its own, never a known user's.
DEVICE_STAMP = "device_application_stamp"


class IdentityRecord(models.Model):
    """One identity (``customerid``, ``email``, …, or a device stamp) and its MPID, for ever.

    The unique constraint is what makes two identifies of one new identity at once give one
    MPID: both insert, one row survives, both read it back.
    """

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="identity_records"
    )
    identity_type = models.CharField(max_length=40)
    value = models.CharField(max_length=512)
    mpid = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "identity_type", "value"], name="identity_once"
            ),
        ]
        indexes = [models.Index(fields=["connection", "mpid"], name="identity_by_mpid")]

    def __str__(self) -> str:
        return f"{self.identity_type} → {self.mpid}"


class IdentityAlias(models.Model):
    """An alias request of the Web SDK (``mParticle.Identity.aliasUsers``): the user
    ``source_mpid`` (typically the anonymous one a device had before login) is the user
    ``destination_mpid`` for the time window. Kept so a user's anonymous history can be
    attributed to the known user; one row per request id (the SDK may send a request again)."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="identity_aliases"
    )
    request_id = models.CharField(max_length=64)
    source_mpid = models.BigIntegerField()
    destination_mpid = models.BigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "request_id"], name="alias_request_once"),
            models.CheckConstraint(
                condition=~models.Q(source_mpid=models.F("destination_mpid")),
                name="alias_of_another_user",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__lte=models.F("ends_at")), name="alias_window_ordered"
            ),
        ]
        indexes = [models.Index(fields=["connection", "source_mpid"], name="alias_by_source")]

    def __str__(self) -> str:
        return f"{self.source_mpid} → {self.destination_mpid}"
