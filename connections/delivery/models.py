"""The system of record for data in transit: inbound batches, outbox rows, HTTP attempts.

PostgreSQL (or SQLite) holds every batch and every Braze object until it is sent or dead;
Celery only executes. A lost broker message is found again by the sweeper.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KT

from connections.models import BrazeOutput, Connection


class InboundBatch(models.Model):
    """One mParticle batch as received, kept until it is mapped (and after, for audit)."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        WAITING = "waiting", "Waiting for a Server output"
        MAPPED = "mapped", "Mapped"
        FAILED = "failed", "Could not be mapped"
        KIT = "kit", "Sent by the SDK's Braze kit (stored, not forwarded)"

    # Indexed with its id (batch_connection_id), for the live events' newest-first reads.
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="batches", db_index=False
    )
    received_at = models.DateTimeField(auto_now_add=True)
    source_request_id = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64)
    historical = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    map_attempts = models.PositiveIntegerField(default=0)
    mapped_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its mapping message was last published."
    )
    enqueue_count = models.PositiveIntegerField(default=0)
    map_started_at = models.DateTimeField(
        null=True, blank=True, help_text="A task is mapping it (a lease: the task time limit)."
    )

    class Meta:
        verbose_name_plural = "inbound batches"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "content_hash"], name="batch_content_once"
            ),
            models.UniqueConstraint(
                fields=["connection", "source_request_id"],
                condition=~Q(source_request_id=""),
                name="batch_source_request_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="batch_status_received"),
            # The mapping task's pull of the oldest batches nobody tried yet: read in id order
            # from here, not sorted out of every received batch (a backlog's worth per group).
            # Those being tried are few and skipped by their attempts, read from the row: an
            # index naming no column the take writes lets that update be a HOT one (no index
            # entry), in the room the table's fill factor leaves (migration 0034).
            models.Index(fields=["id"], condition=Q(status="received"), name="batch_received"),
            # The sweeper's "how far has the mapping queue got?": the newest mapped batch.
            models.Index(fields=["mapped_at"], name="batch_mapped_at"),
            # Backpressure counts and the sweeper's fair scan, per connection.
            models.Index(
                fields=["connection", "status", "enqueued_at"],
                condition=Q(status__in=["received", "waiting"]),
                name="batch_pending",
            ),
            # Backpressure's first look: the span of pending ids, two probes of a small index.
            models.Index(
                fields=["connection", "id"],
                condition=Q(status__in=["received", "waiting"]),
                name="batch_pending_ids",
            ),
            # Live events (connections/live): a connection's batches newest first, and one
            # user's batches by the identities the batch carries, read from the payload as
            # stored (ingest writes no column for them).
            models.Index(fields=["connection", "id"], name="batch_connection_id"),
            models.Index(F("connection"), KT("payload__mpid"), name="batch_user_mpid"),
            models.Index(
                F("connection"),
                KT("payload__user_identities__customer_id"),
                name="batch_user_customer_id",
            ),
            models.Index(
                F("connection"), KT("payload__user_identities__email"), name="batch_user_email"
            ),
        ]

    def __str__(self) -> str:
        return f"Batch #{self.pk} ({self.connection})"


class HeldObject(NamedTuple):
    """One Braze object an outbox row holds, where the batch's mapping put it."""

    sequence: int
    kind: str
    event_index: int | None
    event_name: str
    body: dict[str, Any]


class Delivery(models.Model):
    """The Braze objects (attributes, events, purchases) of one user of one batch on their way
    to ``/users/track``, or one alias to identify on its way to ``/users/identify``
    (docs/mapping.md "Anonymous users").

    The first object is in ``body`` (with its ``sequence``, ``kind``, ``event_index``); the
    user's further objects of the batch, if any, in ``more``. The objects share one fate while
    Braze answers them alike; when it does not (a per-object error, a failure, a request
    split), the row is split first into rows of one object each (``connections.delivery.
    groups``), so a failed row, what auditors replay or discard, always holds one object
    (docs/architecture.md "The outbox").
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        REJECTED = "rejected", "Rejected by Braze"
        DEAD = "dead", "Dead (retries exhausted)"
        DISCARDED = "discarded", "Discarded"

    class Kind(models.TextChoices):
        ATTRIBUTES = "attributes", "Attributes"
        EVENTS = "events", "Event"
        PURCHASES = "purchases", "Purchase"
        IDENTIFY = "identify", "Identify (merge of an anonymous profile)"

    # Every row version enters every full index (a status change is never a HOT update), so
    # indexes that others already cover are left out: connection by delivery_connection_status,
    # batch by delivery_once_per_batch_object.
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # Not indexed alone: every query of an output's rows is served by an index below that
    # starts with it. An index of the output alone was the planner's pick on statistics that
    # had not seen an output's backlog yet (it reads every row of the output). Deleting an
    # output scans the table once instead.
    output = models.ForeignKey(
        BrazeOutput, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    batch = models.ForeignKey(
        InboundBatch, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    sequence = models.PositiveIntegerField(help_text="Position among the batch's objects.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    body = models.JSONField()
    more = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text="The user's further objects of the batch, sent with this one.",
    )
    size = models.PositiveSmallIntegerField("objects", default=1, db_default=1)
    user_key = models.CharField(max_length=1000)
    event_index = models.IntegerField(null=True, blank=True)
    event_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(
        "failures counted",
        default=0,
        help_text="Failed sends counted against the retry budget (429s and splits are not).",
    )
    created_at = models.DateTimeField("queued at", auto_now_add=True)
    next_attempt_at = models.DateTimeField("next attempt at")
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(
        max_length=32, blank=True, help_text="The claim that holds this row while it is sent."
    )
    split_depth = models.PositiveSmallIntegerField(
        default=0, help_text="Halvings of its request size after failures only it shared."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("last HTTP status", null=True, blank=True)
    error_class = models.CharField("error class", max_length=40, blank=True)
    last_error = models.TextField("last error", blank=True)
    # The audit trail of a failure (connections/audit): set when the row becomes dead or
    # rejected, kept through replays so "was it fixed?" stays answerable.
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_group = models.ForeignKey(
        "connections.FailureGroup",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
    )
    replay_run = models.ForeignKey(
        "connections.ReplayRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_index=False,
        help_text="The last replay or discard that acted on it.",
    )
    replay_count = models.PositiveSmallIntegerField("times replayed", default=0, db_default=0)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "output", "sequence"], name="delivery_once_per_batch_object"
            ),
        ]
        indexes = [
            # Pruning of sent rows: only the final version of a sent row enters it.
            models.Index(
                fields=["sent_at"], condition=Q(status="sent"), name="delivery_sent_prunable"
            ),
            models.Index(fields=["connection", "status"], name="delivery_connection_status"),
            # Delivery at a glance (connections/glance): a connection's sends by hour and its
            # last send, one range of a small index (only the final version of a row enters).
            models.Index(
                fields=["connection", "sent_at"],
                condition=Q(status="sent"),
                name="delivery_connection_sent",
            ),
            # The claim: one output's queued rows in (batch, sequence) order.
            models.Index(
                fields=["output", "batch", "sequence"],
                condition=Q(status="queued"),
                name="delivery_claimable",
            ),
            # The sweeper's "when is this output next due?", one index probe per output.
            models.Index(
                fields=["output", "next_attempt_at"],
                condition=Q(status="queued"),
                name="delivery_output_due",
            ),
            # Per-user order: is an earlier row of this user still pending? With the batch in
            # the index, a plan made on a new backlog's stale statistics (which probes by
            # output alone) filters the index's entries, not every pending row of the output.
            models.Index(
                fields=["output", "user_key", "batch"],
                condition=Q(status__in=["queued", "sending"]),
                name="delivery_user_pending",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="delivery_leased"
            ),
            # The audit: only rows that ever failed enter these.
            models.Index(
                fields=["failed_at"], condition=Q(failed_at__isnull=False), name="delivery_failed"
            ),
            models.Index(
                fields=["failure_group", "status"],
                condition=Q(failure_group__isnull=False),
                name="delivery_failure_group",
            ),
            models.Index(
                fields=["replay_run"],
                condition=Q(replay_run__isnull=False),
                name="delivery_replay_run",
            ),
            models.Index(
                fields=["discarded_at"],
                condition=Q(status="discarded"),
                name="delivery_discarded_prunable",
            ),
        ]
        permissions = [
            ("replay_delivery", "Can replay failed deliveries"),
            ("discard_delivery", "Can discard failed deliveries"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} for {self.user_key[:40]}"

    @property
    def external_id(self) -> str:
        return str(self.body.get("external_id", ""))

    def held_objects(self) -> list[HeldObject]:
        """Every object of the row, in the batch's order."""
        first = HeldObject(self.sequence, self.kind, self.event_index, self.event_name, self.body)
        return [first, *(HeldObject(**item) for item in self.more or ())]

    def object_views(self) -> list[Delivery]:
        """One unsaved copy of the row per further object it holds, after the row itself (for
        pages that show objects one by one; a deferred ``body`` stays deferred)."""
        views = [self]
        for item in self.more or ():
            held = HeldObject(**item)
            view = copy.copy(self)
            view.sequence, view.kind, view.event_index = held.sequence, held.kind, held.event_index
            view.event_name, view.body, view.more, view.size = held.event_name, held.body, [], 1
            views.append(view)
        return views


# The final states of a row that did not reach Braze: what auditors replay or discard.
FAILED_STATUSES = (Delivery.Status.DEAD, Delivery.Status.REJECTED)


class DeliveryAttempt(models.Model):
    """One HTTP request to Braze, stored before it is made and completed after."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        SUCCESS = "success", "Accepted"
        PARTIAL = "partial", "Accepted with per-object errors"
        RETRY = "retry", "Failed; will retry"
        RATE_LIMITED = "rate_limited", "Rate limited"
        SPLIT = "split", "Whole request refused; split and resent"
        REJECTED = "rejected", "Rejected"
        UNAUTHORIZED = "unauthorized", "Key refused; connection paused"
        UNKNOWN = "unknown", "Outcome unknown (worker lost mid-send); resent"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="attempts")
    output = models.ForeignKey(BrazeOutput, on_delete=models.CASCADE, related_name="attempts")
    deliveries = models.ManyToManyField(Delivery, related_name="http_attempts")
    index_map = models.JSONField(
        default=dict, help_text="Array name → delivery ids in the order sent."
    )
    claim_token = models.CharField(max_length=32, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True, help_text="The process that sent it.")
    started_at = models.DateTimeField("sent at")
    finished_at = models.DateTimeField("answered at", null=True, blank=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", null=True, blank=True)
    object_count = models.PositiveIntegerField("objects")
    request_bytes = models.PositiveIntegerField("request size (bytes)", default=0)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.PENDING)
    status_code = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error_class = models.CharField("error class", max_length=40, blank=True)
    braze_message = models.TextField("Braze message", blank=True)
    braze_errors = models.JSONField("Braze errors", default=list, blank=True)
    response_excerpt = models.TextField("response excerpt", blank=True)

    class Meta:
        verbose_name = "HTTP attempt"
        indexes = [models.Index(fields=["outcome", "started_at"], name="attempt_outcome_started")]

    def __str__(self) -> str:
        return f"Attempt #{self.pk} ({self.get_outcome_display()})"


class ForwardSchedule(models.Model):
    """At most one pending forwarding message per output: when it is due, or none.

    A conditional update of ``due_at`` decides who publishes, so mapping, the sweeper and
    the forwarder itself never queue a second message for an output that already has one.
    """

    output = models.OneToOneField(
        BrazeOutput, on_delete=models.CASCADE, primary_key=True, related_name="forward_schedule"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Forwarding of output #{self.pk} due {self.due_at or 'never'}"
