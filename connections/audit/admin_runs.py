"""The auditors' admin of replay and discard runs: who asked, what matched, what was done."""

from __future__ import annotations

from django.contrib import admin

from connections.admin_display import EMPTY, ReadOnlyMixin, pretty_json, when
from connections.audit.models import ReplayRun
from connections.audit.selectors import replay_run_progress
from connections.delivery.models import Delivery


@admin.register(ReplayRun)
class ReplayRunAdmin(ReadOnlyMixin, admin.ModelAdmin[ReplayRun]):
    list_display = ("run", "connection", "requested", "status", "matched", "acted", "outcome")
    list_filter = ("action", "status", "connection", "requested_via")
    list_select_related = ("connection", "requested_by")
    ordering = ("-created_at",)
    fields = readonly_fields = (
        "action",
        "connection",
        "requested",
        "status",
        "outcome",
        "reason",
        "force",
        "selection_shown",
        "matched",
        "users",
        "acted",
        "skipped_accepted",
        "skipped_pending",
        "skipped_superseded",
        "progress",
        "finished_at",
    )

    @admin.display(description="Run", ordering="created_at")
    def run(self, run: ReplayRun) -> str:
        return f"{run.get_action_display()} #{run.pk} · {when(run.created_at)}"

    @admin.display(description="Requested by")
    def requested(self, run: ReplayRun) -> str:
        who = run.requested_by.get_username() if run.requested_by else "nobody signed in"
        return f"{who} ({run.requested_via}) at {when(run.created_at)}"

    @admin.display(description="Selection")
    def selection_shown(self, run: ReplayRun) -> str:
        return pretty_json(run.selection)

    @admin.display(description="Its rows now")
    def progress(self, run: ReplayRun) -> str:
        counts = replay_run_progress(run)
        labels = dict(Delivery.Status.choices)
        text = ", ".join(
            f"{n} {labels.get(status, status).lower()}" for status, n in counts.items()
        )
        return text or EMPTY
