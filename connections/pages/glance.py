"""Delivery at a glance: hourly figures for the dashboard's sparklines and the connection page.

Every figure is an aggregate grouped by hour over an indexed time column, so the number of
queries is fixed whatever the number of rows or connections:

- sent: ``sent_at`` of sent rows (``delivery_connection_sent``);
- failed: ``failed_at`` of rows that are dead or rejected now (``delivery_failed``), as the
  failed-sends list counts them;
- waiting: rows queued or being sent, by the hour they were queued
  (``delivery_connection_status``), since the outbox keeps no history of its depth.

Hours are whole UTC hours. The dashboard's window ends with the current, unfinished hour; the
connection page's covers whole UTC days, today's later hours empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Case, Count, DateTimeField, F, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from connections.delivery.models import FAILED_STATUSES, Delivery
from connections.models import BrazeOutput
from mapping.issues import IssueKind
from mapping.models import MappingIssue

WAITING_STATUSES = (Delivery.Status.QUEUED, Delivery.Status.SENDING)
SERIES = ("sent", "failed", "waiting")


@dataclass(frozen=True)
class HourBucket:
    hour: datetime  # the start of the hour, UTC
    sent: int = 0
    failed: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class HourlySeries:
    """One bucket per hour of the window, oldest first; hours with nothing are zeros."""

    buckets: list[HourBucket]

    @property
    def sent(self) -> int:
        return sum(b.sent for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)

    @property
    def waiting(self) -> int:
        return sum(b.waiting for b in self.buckets)

    @property
    def hours(self) -> int:
        return len(self.buckets)

    @property
    def days(self) -> list[datetime]:
        """The midnights in the window: where a day's label goes."""
        return [b.hour for b in self.buckets if b.hour.hour == 0]


@dataclass(frozen=True)
class IssueKindTotal:
    kind: str
    label: str
    fields: int  # distinct field paths
    count: int  # times seen


@dataclass(frozen=True)
class OutputGlance:
    """The connection page's figures for one Server output."""

    series: HourlySeries
    queue_depth: int  # every waiting row, however old
    last_sent_at: datetime | None
    issues_by_kind: list[IssueKindTotal] = field(default_factory=list)
    retrying: int = 0  # waiting objects that failed at least once: not delivered (yet)

    @property
    def not_delivered(self) -> int:
        return self.series.failed + self.retrying

    @property
    def attempted(self) -> int:
        """Objects sent, failed or waiting for a retry: what the failure rate divides by."""
        return self.series.sent + self.not_delivered

    @property
    def failure_rate(self) -> float | None:
        """(Failed + waiting for a retry) / (sent + failed + waiting for a retry) over the
        window; ``None`` when nothing was tried yet."""
        return self.not_delivered / self.attempted if self.attempted else None

    @property
    def failure_percent(self) -> float | None:
        rate = self.failure_rate
        return None if rate is None else rate * 100


def hour_window(now: datetime, hours: int) -> list[datetime]:
    """The starts of the last ``hours`` whole UTC hours, the current one last."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=hours - 1 - n) for n in range(hours)]


def day_window(now: datetime, days: int) -> list[datetime]:
    """Every hour of the last ``days`` UTC days, today's later hours included (zeros), so a
    chart's days line up with its labels."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days - 1)
    return [start + timedelta(hours=n) for n in range(days * 24)]


def connections_sparklines(
    connection_ids: list[int], *, now: datetime | None = None, hours: int = 24
) -> dict[int, HourlySeries]:
    """Per connection, sent / failed / waiting per hour over the last ``hours``: 3 queries."""
    window = hour_window(now or timezone.now(), hours)
    rows = Delivery.objects.filter(connection_id__in=connection_ids)
    counts = _Tally()
    counts.add("sent", _per_hour(_sent(rows, window[0]), "sent_at", "connection_id"))
    counts.add("failed", _per_hour(_failed(rows, window[0]), "failed_at", "connection_id"))
    counts.add("waiting", _per_hour(_waiting(rows), "created_at", "connection_id", window[0]))
    return {pk: counts.series(pk, window) for pk in connection_ids}


def server_output_glance(
    output: BrazeOutput, *, now: datetime | None = None, days: int = 7
) -> OutputGlance:
    """One Server output's last ``days`` (today included) by hour, its queue depth, the
    objects waiting for a retry, last send and mapping issues by kind: 6 queries."""
    window = day_window(now or timezone.now(), days)
    # Every outbox row of a connection is for its one Server output (and goes with it), and
    # the connection leads the outbox's indexes: select by connection.
    rows = Delivery.objects.filter(connection_id=output.connection_id)
    counts = _Tally()
    counts.add("sent", _per_hour(_sent(rows, window[0]), "sent_at", "connection_id"))
    counts.add("failed", _per_hour(_failed(rows, window[0]), "failed_at", "connection_id"))
    waiting = _per_hour(_waiting(rows), "created_at", "connection_id", window[0])
    counts.add("waiting", waiting)
    return OutputGlance(
        series=counts.series(output.connection_id, window),
        queue_depth=sum(n for _, _, n in waiting),
        last_sent_at=_last_sent(rows),
        issues_by_kind=output_issues_by_kind(output),
        retrying=_retrying(rows).aggregate(n=Coalesce(Sum("size"), 0))["n"],
    )


def output_issues_by_kind(output: BrazeOutput) -> list[IssueKindTotal]:
    """Mapping issues of one output summed by kind, the most frequent first: 1 query."""
    totals = (
        MappingIssue.objects.filter(connection_id=output.connection_id, output=output)
        .values("kind")
        .annotate(fields=Count("pk"), seen=Sum("count"))
        .order_by("-seen", "kind")
    )
    return [
        IssueKindTotal(
            kind=row["kind"],
            label=_kind_label(row["kind"]),
            fields=row["fields"],
            count=row["seen"],
        )
        for row in totals
    ]


def _kind_label(kind: str) -> str:
    try:
        return IssueKind(kind).label
    except ValueError:  # a kind retired since the row was recorded
        return kind.replace("_", " ").capitalize()


def _sent(rows: QuerySet[Delivery], since: datetime) -> QuerySet[Delivery]:
    return rows.filter(status=Delivery.Status.SENT, sent_at__gte=since)


def _failed(rows: QuerySet[Delivery], since: datetime) -> QuerySet[Delivery]:
    return rows.filter(status__in=FAILED_STATUSES, failed_at__gte=since)


def _waiting(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    # No time bound: the queue is what it is, and its older rows count in the queue depth.
    return rows.filter(status__in=WAITING_STATUSES)


def _retrying(rows: QuerySet[Delivery]) -> QuerySet[Delivery]:
    # Failed before and queued again: Braze has not taken them, however old they are.
    return rows.filter(status__in=WAITING_STATUSES, attempts__gt=0)


def _last_sent(rows: QuerySet[Delivery]) -> datetime | None:
    # ORDER BY … LIMIT 1: one probe at the end of the connection's range of sends.
    sent = rows.filter(status=Delivery.Status.SENT, sent_at__isnull=False).order_by("-sent_at")
    return sent.values_list("sent_at", flat=True).first()


def _per_hour(
    rows: QuerySet[Delivery], column: str, group: str, older_since: datetime | None = None
) -> list[tuple[int, datetime | None, int]]:
    """(group, hour, count) rows; with ``older_since``, rows before it share the hour ``None``."""
    moment: F | Case = F(column)
    if older_since is not None:
        older = When(**{f"{column}__lt": older_since}, then=Value(None))
        moment = Case(older, default=F(column), output_field=DateTimeField())
    hour = TruncHour(moment, tzinfo=UTC)
    grouped = rows.annotate(hour=hour).values(group, "hour").annotate(n=Sum("size"))  # objects
    return [(row[group], row["hour"], row["n"]) for row in grouped.order_by()]


class _Tally:
    """Counts per (group, hour) for each series, turned into complete windows."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, datetime], dict[str, int]] = defaultdict(dict)

    def add(self, series: str, rows: Iterable[tuple[int, datetime | None, int]]) -> None:
        for group, hour, n in rows:
            if hour is not None:
                self._counts[(group, hour)][series] = n

    def series(self, group: int, window: list[datetime]) -> HourlySeries:
        return HourlySeries(
            buckets=[
                HourBucket(hour=hour, **self._counts.get((group, hour), {})) for hour in window
            ]
        )
