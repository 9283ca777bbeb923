"""Reads for the check pages: the latest check of each output, with its steps."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery

from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.models import BrazeOutput, Connection, Platform, platform_order

ORDERED_STEPS = Prefetch("steps", ConnectivityStep.objects.order_by("position"))


def connection_latest_checks(connection: Connection) -> list[ConnectivityCheck]:
    """The newest check of each output that has one, iOS, Android, Web, Server."""
    outputs = connection.outputs.order_by(platform_order())
    checks = _latest_checks(BrazeOutput.objects.filter(pk__in=[o.pk for o in outputs]))
    by_output = {check.output_id: check for check in checks}
    return [by_output[output.pk] for output in outputs if output.pk in by_output]


def _latest_checks(outputs: Any) -> list[ConnectivityCheck]:
    """The newest check of each of ``outputs`` (two queries, steps prefetched: three)."""
    newest = ConnectivityCheck.objects.filter(output=OuterRef("pk")).order_by("-started_at", "-pk")
    ids = outputs.annotate(check_id=Subquery(newest.values("pk")[:1])).values_list(
        "check_id", flat=True
    )
    return list(
        ConnectivityCheck.objects.filter(pk__in=[pk for pk in ids if pk is not None])
        .select_related("output")
        .prefetch_related(ORDERED_STEPS)
    )


def check_as_json(check: ConnectivityCheck) -> dict[str, Any]:
    return {
        "id": check.pk,
        "platform": check.output.platform,
        "platform_label": check.output.get_platform_display(),
        "outcome": check.verdict,
        "outcome_label": check.verdict_label,
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


def last_test_by_connection(connection_ids: list[int]) -> dict[int, ConnectivityCheck]:
    """The check the dashboard's "Last test" shows per connection: the Server output's newest
    (it is what forwards data), else the worst of its outputs' newest. Three queries."""
    checks = _latest_checks(BrazeOutput.objects.filter(connection_id__in=connection_ids))
    shown: dict[int, ConnectivityCheck] = {}
    for check in checks:
        current = shown.get(check.connection_id)
        if current is None or _shows_before(check, current):
            shown[check.connection_id] = check
    return shown


def _shows_before(check: ConnectivityCheck, other: ConnectivityCheck) -> bool:
    def key(c: ConnectivityCheck) -> tuple[bool, int, Any]:
        return (c.output.platform == Platform.SERVER, c.verdict_rank, c.started_at)

    return key(check) > key(other)
