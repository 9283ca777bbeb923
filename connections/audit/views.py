"""The dry-run pages of replay and discard: counts first, then the run on confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from connections.audit import selectors, services
from connections.audit.models import ReplayRun
from connections.rules.ids import is_id

MAX_SELECTED = 1000


def to_confirm(
    model_admin: Any, request: HttpRequest, rows: QuerySet[Any], action: str
) -> HttpResponse:
    """From an admin action to its dry-run page: the selected rows, or the whole filter when
    "select all" across pages was chosen."""
    if request.POST.get("select_across") == "1":
        query = request.GET.urlencode()
    else:
        ids = rows.order_by("pk").values_list("pk", flat=True)[:MAX_SELECTED]
        query = urlencode({"ids": ",".join(str(pk) for pk in ids)})
    return HttpResponseRedirect(reverse(f"admin:connections_failedsend_{action}") + "?" + query)


def selection_of(request: HttpRequest) -> dict[str, Any]:
    """The rows a confirmation page acts on, as a ``ReplayRun`` records them."""
    if "ids" in request.GET:
        values = [pk for pk in request.GET["ids"].split(",") if pk.strip()]
        if not all(is_id(pk) for pk in values):
            raise selectors.SelectionError("ids", "expected row ids separated by commas")
        return {"ids": [int(pk) for pk in values[:MAX_SELECTED]]}
    return {"filter": {k: v for k, v in request.GET.items() if k in selectors.FILTERS and v}}


def confirm(model_admin: Any, request: HttpRequest, *, action: str) -> HttpResponse:
    allowed = (
        model_admin.has_replay_permission(request)
        if action == ReplayRun.Action.REPLAY
        else model_admin.has_discard_permission(request)
    )
    if not allowed:
        raise PermissionDenied(f"Your role may not {action} failed sends.")
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "action": action,
        "title": f"{action.capitalize()} failed sends",
        "force": request.POST.get("force") == "on",
        "reason": request.POST.get("reason", ""),
    }
    try:
        selection = selection_of(request)
        plan = selectors.replay_plan(services.selection_rows(selection))
        if request.method == "POST" and plan.matched:
            return _run(request, selection, action, context)
    except selectors.SelectionError as error:
        context["error"] = f"{error.field}: {error.message}"
        return TemplateResponse(request, "admin/audit/confirm.html", context, status=400)
    context.update(plan=plan, summary=plan.summary(force=context["force"]))
    return TemplateResponse(request, "admin/audit/confirm.html", context)


def _run(
    request: HttpRequest, selection: dict[str, Any], action: str, context: dict[str, Any]
) -> HttpResponse:
    runs = services.replay_runs_create(
        selection=selection,
        action=action,
        user=request.user,  # type: ignore[arg-type]
        via="admin",
        force=context["force"],
        reason=context["reason"],
    )
    for run in runs:
        if run.status == ReplayRun.Status.REFUSED:
            messages.error(request, f"{run}: refused. {run.outcome}")
        else:
            messages.success(request, f"{run} started: it runs in the background.")
    return HttpResponseRedirect(reverse("admin:connections_replayrun_changelist"))
