"""Reads for the check pages: the latest check of each output, with its steps."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery

from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.models import Connection


def connection_latest_checks(connection: Connection) -> list[ConnectivityCheck]:
    """The newest check of each output that has one, in platform order."""
    checks = []
    for output in connection.outputs.order_by("platform"):
        latest = (
            ConnectivityCheck.objects.filter(output=output)
            .select_related("output")
            .prefetch_related(Prefetch("steps", ConnectivityStep.objects.order_by("position")))
            .order_by("-started_at", "-pk")
            .first()
        )
        if latest is not None:
            checks.append(latest)
    return checks


def check_as_json(check: ConnectivityCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "platform": check.output.platform,
        "platform_label": check.output.get_platform_display(),
        "outcome": check.outcome,
        "outcome_label": check.get_outcome_display(),
        "summary": check.summary,
        "started_at": check.started_at.isoformat(),
        "duration_ms": check.duration_ms,
        "steps": [
            {
                "name": step.get_name_display(),
                "outcome": step.outcome,
                "latency_ms": step.latency_ms,
                "message": step.message,
            }
            for step in check.steps.all()
        ],
    }


def latest_check_by_connection(connection_ids: list[int]) -> dict[int, ConnectivityCheck]:
    """Each connection's newest check (of any output), in two queries whatever the count."""
    newest = ConnectivityCheck.objects.filter(connection=OuterRef("pk")).order_by(
        "-started_at", "-pk"
    )
    ids = (
        Connection.objects.filter(pk__in=connection_ids)
        .annotate(check_id=Subquery(newest.values("pk")[:1]))
        .values_list("check_id", flat=True)
    )
    checks = ConnectivityCheck.objects.filter(pk__in=[pk for pk in ids if pk is not None])
    return {check.connection_id: check for check in checks.select_related("output")}
