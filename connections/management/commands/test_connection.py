"""``manage.py test_connection ID [--output PLATFORM] [--json]``: the connectivity check of a
connection's outputs, run here and now; exits 1 when a step fails (for scripts and monitors)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.connectivity import services
from connections.connectivity.models import ConnectivityCheck
from connections.models import Connection, Platform

MARKS = {"passed": "✓", "failed": "✗", "skipped": "-"}


class Command(BaseCommand):
    help = "Test DNS, TCP, TLS and HTTP to Braze for a connection's outputs; exit 1 on failure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection_id", type=int)
        parser.add_argument("--output", choices=[p.value for p in Platform], default=None)
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = Connection.objects.filter(pk=options["connection_id"]).first()
        if connection is None:
            raise CommandError(f"No connection with id {options['connection_id']}.")
        outputs = connection.outputs.order_by("platform")
        if options["output"]:
            outputs = outputs.filter(platform=options["output"])
        if not outputs:
            raise CommandError(f"Connection {connection.pk} has no output to test.")
        checks = [self._run(output) for output in outputs]
        self.stdout.write(json.dumps(_as_json(checks)) if options["json"] else _as_text(checks))
        if any(check.outcome != ConnectivityCheck.Outcome.PASSED for check in checks):
            raise SystemExit(1)

    def _run(self, output: Any) -> ConnectivityCheck:
        check = ConnectivityCheck.objects.create(connection_id=output.connection_id, output=output)
        services.connectivity_check_run(check_id=check.pk)
        check.refresh_from_db()
        return check


def _as_text(checks: list[ConnectivityCheck]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{check.output.get_platform_display()}: {check.get_outcome_display()}")
        for step in check.steps.all():
            mark = MARKS[step.outcome]
            lines.append(
                f"  {mark} {step.get_name_display():4} {step.latency_ms:5} ms  {step.message}"
            )
    return "\n".join(lines)


def _as_json(checks: list[ConnectivityCheck]) -> list[dict[str, Any]]:
    return [
        {
            "check": check.pk,
            "platform": check.output.platform,
            "outcome": check.outcome,
            "summary": check.summary,
            "duration_ms": check.duration_ms,
            "steps": [
                {
                    "name": step.name,
                    "outcome": step.outcome,
                    "latency_ms": step.latency_ms,
                    "message": step.message,
                }
                for step in check.steps.all()
            ],
        }
        for check in checks
    ]
