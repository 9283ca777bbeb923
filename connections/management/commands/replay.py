"""``manage.py replay --connection ID [--status dead|rejected] [--since 7d] [--dry-run]``:
replay (or ``--discard REASON``) a connection's failed sends here and now, printing the
counts. Recorded as a ``ReplayRun`` like a replay from the admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from connections.audit import selectors, services
from connections.audit.models import ReplayRun
from connections.models import Connection

AGO = re.compile(r"^(\d+)([hd])$")


def since_value(text: str) -> str:
    """``24h`` or ``7d`` (ago), or a date or ISO time, as the failed-sends filter takes it."""
    found = AGO.match(text.strip())
    if found is None:
        return text.strip()
    amount, unit = int(found[1]), found[2]
    delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    return (timezone.now() - delta).isoformat()


class Command(BaseCommand):
    help = (
        "Replay a connection's failed sends (dead and rejected rows; Braze-accepted rows are"
        " skipped unless --force). Prints the dry-run counts, then what was queued."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", type=int, required=True, help="the connection id")
        parser.add_argument("--status", choices=["dead", "rejected"], help="only these rows")
        parser.add_argument("--since", help="failed since: 24h, 7d, 2026-12-01 or an ISO time")
        parser.add_argument("--group", type=int, help="only this failure group")
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument("--force", action="store_true", help="resend accepted rows too")
        parser.add_argument("--discard", metavar="REASON", help="discard instead of replay")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = Connection.objects.filter(pk=options["connection"]).first()
        if connection is None:
            raise CommandError(f"No connection with id {options['connection']}.")
        params = {"connection": str(connection.pk)}
        if options["status"]:
            params["status"] = options["status"]
        if options["since"]:
            params["failed_since"] = since_value(options["since"])
        if options["group"]:
            params["group"] = str(options["group"])
        try:
            plan = selectors.replay_plan(selectors.failed_sends(params))
        except selectors.SelectionError as error:
            raise CommandError(f"--{error.field.replace('failed_', '')}: {error.message}") from None
        self.stdout.write(plan.summary(force=options["force"]))
        if options["dry_run"] or not plan.matched:
            return
        self._run(params, options)

    def _run(self, params: dict[str, str], options: dict[str, Any]) -> None:
        action = ReplayRun.Action.DISCARD if options["discard"] else ReplayRun.Action.REPLAY
        try:
            runs = services.replay_runs_create(
                selection={"filter": params},
                action=action,
                via="command",
                force=options["force"],
                reason=options["discard"] or "",
                enqueue=False,
            )
        except selectors.SelectionError as error:
            raise CommandError(f"--discard: {error.message}") from None
        for run in runs:
            done = services.replay_run_execute(run_id=run.pk) or run
            done.refresh_from_db()
            self.stdout.write(f"{done} ({done.get_status_display()}): {done.outcome}")
            if done.status == ReplayRun.Status.REFUSED:
                raise SystemExit(1)
