"""Replay and discard over the API. Explicit ids act at once; a filter first answers a
dry-run count (what the admin's confirmation page shows) and acts only with
``"confirm": true``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from connections.api.auth import token, user_of
from connections.api.common import ERRORS
from connections.api.errors import ApiError, not_found
from connections.api.schemas import Strict
from connections.audit import selectors as audit
from connections.audit import services
from connections.audit.models import ReplayRun
from connections.rules.ids import DatabaseId

router = Router(tags=["replay"])
REPLAY = token("replay", "connections.replay_delivery")
DISCARD = token("replay", "connections.discard_delivery")
VIEW = token("read", "connections.view_replayrun")
MAX_IDS = 1000


class SelectionIn(Strict):
    ids: list[DatabaseId] | None = Field(None, description=f"Row ids (at most {MAX_IDS}).")
    filter: dict[str, str] | None = Field(
        None, description="The failed-send filters, as in GET /failed-sends."
    )
    confirm: bool = Field(False, description="Act on a filter; without it, a dry-run count.")
    reason: str = Field("", max_length=2000)

    @model_validator(mode="after")
    def one_selection(self) -> SelectionIn:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("give either ids or filter")
        if self.ids is not None and not 0 < len(self.ids) <= MAX_IDS:
            raise ValueError(f"ids: give between 1 and {MAX_IDS} ids")
        return self


class ReplayIn(SelectionIn):
    force: bool = Field(False, description="Resend rows Braze already accepted as well.")


class DryRunOut(Schema):
    dry_run: Literal[True]
    matched: int
    users: int
    accepted: int
    pending: int
    to_send: int
    refused: dict[str, str]
    summary: str


class RunOut(Schema):
    id: int
    action: str
    connection_id: int
    status: str
    outcome: str
    selection: dict[str, Any]
    force: bool
    reason: str
    created_at: datetime
    finished_at: datetime | None
    matched: int
    acted: int
    skipped_accepted: int
    skipped_pending: int
    progress: dict[str, int]


class RunsOut(Schema):
    dry_run: Literal[False]
    runs: list[RunOut]


def run_out(run: ReplayRun) -> dict[str, Any]:
    names = [name for name in RunOut.model_fields if name != "progress"]
    return {**{n: getattr(run, n) for n in names}, "progress": audit.replay_run_progress(run)}


def _dry_run(plan: audit.ReplayPlan, force: bool) -> dict[str, Any]:
    return {
        "dry_run": True,
        "matched": plan.matched,
        "users": plan.users,
        "accepted": plan.accepted,
        "pending": plan.pending,
        "to_send": plan.to_send,
        "refused": plan.paused,
        "summary": plan.summary(force=force),
    }


def _act(request: HttpRequest, payload: SelectionIn, action: str, force: bool) -> Any:
    if payload.ids is not None:
        selection: dict[str, Any] = {"ids": payload.ids}
    else:
        unknown = sorted(set(payload.filter or {}) - set(audit.FILTERS))
        if unknown:
            raise ApiError(422, "unknown_field", f"filter: unknown filter {unknown[0]!r}", "filter")
        selection = {"filter": {k: v for k, v in (payload.filter or {}).items() if v}}
    rows = services.selection_rows(selection)
    if "filter" in selection and not payload.confirm:
        return Status(200, _dry_run(audit.replay_plan(rows), force))
    runs = services.replay_runs_create(
        selection=selection,
        action=action,
        user=user_of(request),
        via="api",
        force=force,
        reason=payload.reason,
    )
    return Status(202, {"dry_run": False, "runs": [run_out(run) for run in runs]})


@router.post("/replays", response={200: DryRunOut, 202: RunsOut, **ERRORS}, auth=REPLAY)
def replays_create(request: HttpRequest, payload: ReplayIn) -> Any:
    """Queue failed rows again (one run per connection). A paused or disabled connection's
    run is recorded as refused, with the reason."""
    return _act(request, payload, ReplayRun.Action.REPLAY, payload.force)


@router.post("/discards", response={200: DryRunOut, 202: RunsOut, **ERRORS}, auth=DISCARD)
def discards_create(request: HttpRequest, payload: SelectionIn) -> Any:
    """Mark failed rows as discarded (kept for the audit, never sent); needs a reason."""
    if not payload.reason.strip():
        raise ApiError(422, "invalid", "reason: say why these rows are discarded.", "reason")
    return _act(request, payload, ReplayRun.Action.DISCARD, False)


@router.get("/replays/{run_id}", response={200: RunOut, **ERRORS}, auth=VIEW)
def replays_read(request: HttpRequest, run_id: DatabaseId) -> dict[str, Any]:
    run = ReplayRun.objects.filter(pk=run_id).first()
    if run is None:
        raise not_found("replay run")
    return run_out(run)
