"""The status a connection shows, derived from its data each time it is read (never stored):
Disabled, Paused, Incomplete, Untested, Failing, Retrying or Healthy (issue 9, SPEC §9)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, OuterRef, Subquery
from django.utils import timezone

from connections.connectivity.models import ConnectivityCheck
from connections.models import APP_PLATFORMS, Connection, Delivery, DeliveryAttempt, Platform

FAILED_ATTEMPTS = ["rejected", "unauthorized"]
ACCEPTED_ATTEMPTS = ["success", "partial"]


@dataclass(frozen=True)
class Health:
    kind: str  # disabled, paused, incomplete, untested, failing, retrying, healthy
    label: str
    detail: str  # what is wrong and what to do, or "" when healthy


def connections_health(connections: Sequence[Connection]) -> dict[int, Health]:
    """Each connection's status, in a handful of queries whatever their number."""
    ids = [c.pk for c in connections]
    checks = _latest_server_checks(ids)
    retrying = _retrying(ids)
    failing_hour = _failing_last_hour(ids)
    return {
        c.pk: _health(c, checks.get(c.pk), retrying.get(c.pk), c.pk in failing_hour)
        for c in connections
    }


def _health(
    connection: Connection,
    check: ConnectivityCheck | None,
    retrying: tuple[int, datetime] | None,
    failing_hour: bool,
) -> Health:
    if not connection.enabled:
        return Health("disabled", "Disabled", "Forwarding is turned off for this connection.")
    if connection.paused_reason:
        at = connection.paused_at
        since = timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "earlier"
        detail = f"Since {since}: {connection.paused_reason} Test the connection after fixing it."
        return Health("paused", "Paused", detail)
    missing = _missing_outputs(connection)
    if missing:
        return Health("incomplete", "Incomplete", missing)
    if check is None:
        return Health(
            "untested", "Untested", "Run “Test connection” to check the key and endpoints."
        )
    if check.outcome == ConnectivityCheck.Outcome.FAILED:
        return Health("failing", "Failing", f"Last test failed: {check.summary}")
    if failing_hour:
        return Health("failing", "Failing", "Braze refused most requests of the last hour.")
    if retrying is not None:
        rows, at = retrying
        when = timezone.localtime(at).strftime("%H:%M:%S")
        return Health("retrying", "Retrying", f"{rows} rows wait for a retry; next at {when}.")
    return Health("healthy", "Healthy", "")


def _missing_outputs(connection: Connection) -> str:
    platforms = {output.platform for output in connection.outputs.all()}
    if not platforms & set(APP_PLATFORMS):
        return "Add an app output (iOS, Android or Web): a connection needs one."
    if Platform.SERVER not in platforms:
        return "Add a Server output: it is what forwards data to Braze."
    return ""


def _latest_server_checks(ids: list[int]) -> dict[int, ConnectivityCheck]:
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


def _retrying(ids: list[int]) -> dict[int, tuple[int, datetime]]:
    waiting = (
        Delivery.objects.filter(
            connection_id__in=ids, status=Delivery.Status.QUEUED, attempts__gt=0
        )
        .values("connection_id")
        .annotate(n=Count("pk"), at=Min("next_attempt_at"))
    )
    return {row["connection_id"]: (row["n"], row["at"]) for row in waiting}


def _failing_last_hour(ids: list[int]) -> set[int]:
    since = timezone.now() - timedelta(hours=1)
    counts = (
        DeliveryAttempt.objects.filter(
            connection_id__in=ids,
            started_at__gte=since,
            outcome__in=FAILED_ATTEMPTS + ACCEPTED_ATTEMPTS,
        )
        .values("connection_id", "outcome")
        .annotate(n=Count("pk"))
    )
    failed: dict[int, int] = {}
    accepted: dict[int, int] = {}
    for row in counts:
        into = failed if row["outcome"] in FAILED_ATTEMPTS else accepted
        into[row["connection_id"]] = into.get(row["connection_id"], 0) + row["n"]
    return {pk for pk, n in failed.items() if n > accepted.get(pk, 0)}
