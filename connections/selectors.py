"""Reads for pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from connections.delivery.models import FAILED_STATUSES
from connections.delivery.retry import RETRY_NOW
from connections.models import (
    BrazeOutput,
    Connection,
    Delivery,
    DeliveryAttempt,
    FailureGroup,
    InboundBatch,
    Platform,
    platform_order,
)
from connections.rules.validation import OutputDraft, SiblingOutput
from mapping.models import MappingIssue

#: The stored fields an ``OutputDraft`` holds as they are (not the key, nor the platform).
OUTPUT_DRAFT_FIELDS = (
    "external_identity_type",
    "email_identity_type",
    "braze_instance",
    "custom_sdk_endpoint",
    "custom_rest_endpoint",
    "custom_js_endpoint",
)


def connections_for_dashboard() -> QuerySet[Connection]:
    return Connection.objects.prefetch_related(
        Prefetch("outputs", queryset=BrazeOutput.objects.order_by(platform_order()))
    )


def delivery_counts(
    connection_ids: list[int], *, since: datetime | None = None
) -> dict[int, dict[str, int]]:
    """Per connection since ``since`` (24 hours ago by default): rows created that were sent
    or wait, and rows that failed (by when they failed, as the failed-sends list filters)."""
    since = since or timezone.now() - timedelta(hours=24)
    groups = {
        "sent": [Delivery.Status.SENT],
        "waiting": [Delivery.Status.QUEUED, Delivery.Status.SENDING],
    }
    rows = (
        Delivery.objects.filter(
            connection_id__in=connection_ids,
            created_at__gte=since,
            status__in=[*groups["sent"], *groups["waiting"]],
        )
        .values("connection_id", "status")
        .annotate(n=Sum("size"))  # objects: a row holds a user's objects of a batch
    )
    counts = {pk: dict.fromkeys([*groups, "failed", "unknown"], 0) for pk in connection_ids}
    for row in rows:
        group = next(name for name, members in groups.items() if row["status"] in members)
        counts[row["connection_id"]][group] += row["n"]
    failed = (
        Delivery.objects.filter(
            connection_id__in=connection_ids, failed_at__gte=since, status__in=FAILED_STATUSES
        )
        .values("connection_id")
        .annotate(n=Count("pk"))
    )
    for connection_id, n in failed.values_list("connection_id", "n"):
        counts[connection_id]["failed"] = n
    unknown = (
        DeliveryAttempt.objects.filter(
            connection_id__in=connection_ids,
            started_at__gte=since,
            outcome=DeliveryAttempt.Outcome.UNKNOWN,
        )
        .values("connection_id")
        .annotate(n=Count("pk"))
    )
    for connection_id, n in unknown.values_list("connection_id", "n"):
        counts[connection_id]["unknown"] = n
    return counts


def connection_outputs_by_platform(connection: Connection) -> dict[str, BrazeOutput | None]:
    """Every platform in display order, with its output or ``None``."""
    present = {output.platform: output for output in connection.outputs.all()}
    return {platform: present.get(platform) for platform in Platform.values}


def output_siblings(
    connection: Connection, *, excluding: BrazeOutput | None = None
) -> list[SiblingOutput]:
    outputs = connection.outputs.all()
    if excluding is not None:
        outputs = outputs.exclude(pk=excluding.pk)
    return [
        SiblingOutput(
            platform=output.platform,
            key_fingerprint=output.api_key_fingerprint,
            rest_host=output.rest_host,
        )
        for output in outputs
    ]


@dataclass(frozen=True)
class BatchSummary:
    """Inbound batches not (yet) turned into outbox rows, for the connection page."""

    pending: int
    waiting: int  # for a Server output
    failed: int
    recent_failures: list[InboundBatch]


def connection_batch_summary(connection: Connection) -> BatchSummary:
    statuses = (
        InboundBatch.Status.RECEIVED,
        InboundBatch.Status.WAITING,
        InboundBatch.Status.FAILED,
    )
    counts = dict(
        connection.batches.filter(status__in=statuses)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    failures = connection.batches.filter(status=InboundBatch.Status.FAILED).order_by("-pk")[:3]
    return BatchSummary(
        pending=counts.get(InboundBatch.Status.RECEIVED, 0),
        waiting=counts.get(InboundBatch.Status.WAITING, 0),
        failed=counts.get(InboundBatch.Status.FAILED, 0),
        recent_failures=list(failures),
    )


def connection_failure_groups(connection: Connection, *, limit: int = 5) -> list[FailureGroup]:
    """The connection's latest failure groups, unresolved first."""
    groups = connection.failure_groups.order_by("-last_seen")[:limit]
    return sorted(groups, key=lambda group: group.status == FailureGroup.Status.RESOLVED)


def connection_latest_mapping_issues(
    connection: Connection, *, limit: int = 5
) -> QuerySet[MappingIssue]:
    """The issues seen most recently: what a marketer just sent is what they look for."""
    issues = connection.mapping_issues.select_related("output")
    return issues.order_by("-last_seen", "-pk")[:limit]


@dataclass(frozen=True)
class HistoryNote:
    """A line of a connection's history worth showing on its page."""

    text: str
    at: datetime
    by: str


def connection_last_retry_now(connection: Connection) -> HistoryNote | None:
    """The latest "Retry now" recorded in the connection's history (who, when, how many)."""
    row = (
        Connection.history.filter(id=connection.pk, history_change_reason__startswith=RETRY_NOW)
        .select_related("history_user")
        .order_by("-history_date")
        .first()
    )
    if row is None:
        return None
    by = row.history_user.get_username() if row.history_user else "mpbraze"
    return HistoryNote(text=row.history_change_reason, at=row.history_date, by=by)


def connection_objects_waiting_later(connection: Connection) -> int:
    """Queued objects whose next attempt is still to come: what Retry now would make due."""
    later = Delivery.objects.filter(
        connection_id=connection.pk,
        status=Delivery.Status.QUEUED,
        next_attempt_at__gt=timezone.now(),
    )
    return int(later.aggregate(n=Coalesce(Sum("size"), 0))["n"])


def connection_output_drafts(connection: Connection) -> list[OutputDraft]:
    """The connection's outputs as stored, as the rules see them (iOS, Android, Web, Server)."""
    order = list(Platform.values)
    outputs = sorted(connection.outputs.all(), key=lambda o: order.index(o.platform))
    return [
        OutputDraft(
            platform=output.platform,
            stored_key_fingerprint=output.api_key_fingerprint,
            **{name: getattr(output, name) for name in OUTPUT_DRAFT_FIELDS},
        )
        for output in outputs
    ]
