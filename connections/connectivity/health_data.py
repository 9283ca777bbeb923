"""The reads behind a connection's derived status (``health``): a fixed number of aggregate
queries for any number of connections, each answer keyed by connection id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connections.connectivity.models import ConnectivityCheck
from connections.delivery.models import FAILED_STATUSES
from connections.models import Connection, Delivery, DeliveryAttempt, Platform

Outcome = DeliveryAttempt.Outcome
FAILED_ATTEMPTS = [Outcome.REJECTED, Outcome.UNAUTHORIZED]
ACCEPTED_ATTEMPTS = [Outcome.SUCCESS, Outcome.PARTIAL]
# Answers after which objects wait in the queue rather than being sent or refused for good.
NOT_ACCEPTED_ATTEMPTS = [Outcome.RETRY, Outcome.RATE_LIMITED, Outcome.SPLIT, Outcome.UNKNOWN]
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Waiting:
    """Objects in backoff: how many, when the first is due, and the answer that put them there."""

    objects: int
    next_at: datetime
    last_answer: DeliveryAttempt | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Failed:
    """Objects that ended rejected or dead in the last hour."""

    rejected: int
    dead: int
    since: datetime


def latest_server_checks(ids: list[int]) -> dict[int, ConnectivityCheck]:
    """Each connection's newest finished check of its Server output (two queries)."""
    newest = (
        ConnectivityCheck.objects.filter(
            connection=OuterRef("pk"), output__platform=Platform.SERVER
        )
        .exclude(outcome=ConnectivityCheck.Outcome.PENDING)
        .order_by("-started_at", "-pk")
    )
    check_ids = (
        Connection.objects.filter(pk__in=ids)
        .annotate(check_id=Subquery(newest.values("pk")[:1]))
        .values_list("check_id", flat=True)
    )
    checks = ConnectivityCheck.objects.filter(pk__in=[pk for pk in check_ids if pk is not None])
    return {check.connection_id: check for check in checks}


def waiting_for_retry(ids: list[int]) -> dict[int, Waiting]:
    """Queued objects that failed at least once, with the last answer that was not an
    acceptance (one query, two more when any connection has such objects)."""
    rows = (
        Delivery.objects.filter(
            connection_id__in=ids, status=Delivery.Status.QUEUED, attempts__gt=0
        )
        .values("connection_id")
        .annotate(n=Sum("size"), at=Min("next_attempt_at"))
    )
    counts = {row["connection_id"]: (row["n"], row["at"]) for row in rows}
    answers = _last_answers(list(counts))
    return {pk: Waiting(n, at, *answers.get(pk, (None, None))) for pk, (n, at) in counts.items()}


def _last_answers(ids: list[int]) -> dict[int, tuple[DeliveryAttempt, datetime | None]]:
    """Per connection: the newest answer that was not an acceptance, and the first such answer
    since the last acceptance (when the trouble began)."""
    if not ids:
        return {}
    mine = DeliveryAttempt.objects.filter(connection=OuterRef("pk"))
    last_ok = mine.filter(outcome__in=ACCEPTED_ATTEMPTS).order_by("-started_at")
    trouble = mine.filter(outcome__in=NOT_ACCEPTED_ATTEMPTS).exclude(finished_at=None)
    since = trouble.filter(started_at__gt=Coalesce(OuterRef("last_ok"), Value(LONG_AGO)))
    found = (
        Connection.objects.filter(pk__in=ids)
        .annotate(last_ok=Subquery(last_ok.values("started_at")[:1]))
        .annotate(
            last_id=Subquery(trouble.order_by("-started_at", "-pk").values("pk")[:1]),
            since=Subquery(since.order_by("started_at").values("started_at")[:1]),
        )
        .values_list("pk", "last_id", "since")
    )
    ends = {pk: (last_id, since) for pk, last_id, since in found if last_id is not None}
    attempts = DeliveryAttempt.objects.in_bulk([last_id for last_id, _ in ends.values()])
    return {pk: (attempts[last_id], since) for pk, (last_id, since) in ends.items()}


def failed_last_hour(ids: list[int], *, now: datetime | None = None) -> dict[int, Failed]:
    """Objects rejected or dead within the hour, per connection (one query)."""
    hour_ago = (now or timezone.now()) - timedelta(hours=1)
    rows = (
        Delivery.objects.filter(
            connection_id__in=ids, failed_at__gte=hour_ago, status__in=FAILED_STATUSES
        )
        .values("connection_id", "status")
        .annotate(n=Count("pk"), first=Min("failed_at"))
    )
    found: dict[int, Failed] = {}
    for row in rows:
        pk, n, first = row["connection_id"], row["n"], row["first"]
        seen = found.get(pk, Failed(0, 0, first))
        dead = row["status"] == Delivery.Status.DEAD
        found[pk] = Failed(
            rejected=seen.rejected + (0 if dead else n),
            dead=seen.dead + (n if dead else 0),
            since=min(seen.since, first),
        )
    return found


def refused_most_of_last_hour(ids: list[int]) -> dict[int, datetime]:
    """Connections where Braze refused more requests than it accepted within the hour, with
    the first refusal (one query)."""
    hour_ago = timezone.now() - timedelta(hours=1)
    counts = (
        DeliveryAttempt.objects.filter(
            connection_id__in=ids,
            started_at__gte=hour_ago,
            outcome__in=FAILED_ATTEMPTS + ACCEPTED_ATTEMPTS,
        )
        .values("connection_id", "outcome")
        .annotate(n=Count("pk"), first=Min("started_at"))
    )
    failed: dict[int, tuple[int, datetime]] = {}
    accepted: dict[int, int] = {}
    for row in counts:
        pk = row["connection_id"]
        if row["outcome"] in FAILED_ATTEMPTS:
            n, first = failed.get(pk, (0, row["first"]))
            failed[pk] = (n + row["n"], min(first, row["first"]))
        else:
            accepted[pk] = accepted.get(pk, 0) + row["n"]
    return {pk: first for pk, (n, first) in failed.items() if n > accepted.get(pk, 0)}
