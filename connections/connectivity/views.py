"""The "Test connection" and "Test" buttons, the result page and the JSON it polls."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from connections.connectivity import selectors, services
from connections.models import BrazeOutput, Connection
from connections.pages.views import allowed


@allowed("connections.test_connection")
@require_POST
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    services.connection_test_connectivity(connection=connection, started_by=request.user)
    return redirect("connection_checks", pk=pk)


@allowed("connections.test_connection")
@require_POST
def output_test(request: HttpRequest, pk: int, platform: str) -> HttpResponse:
    output = get_object_or_404(BrazeOutput, connection_id=pk, platform=platform)
    services.output_test_connectivity(output=output, started_by=request.user)
    return redirect("connection_checks", pk=pk)


@allowed("connections.view_connection")
@require_GET
def connection_checks(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    checks = selectors.connection_latest_checks(connection)
    context = {
        "connection": connection,
        "checks": checks,
        "running": any(check.outcome == "pending" for check in checks),
    }
    return render(request, "connections/checks.html", context)


@allowed("connections.view_connection")
@require_GET
def connection_checks_json(request: HttpRequest, pk: int) -> JsonResponse:
    connection = get_object_or_404(Connection, pk=pk)
    checks = selectors.connection_latest_checks(connection)
    connection.refresh_from_db(fields=["paused_reason"])
    return JsonResponse(
        {
            "running": any(check.outcome == "pending" for check in checks),
            "paused_reason": connection.paused_reason,
            "checks": [selectors.check_as_json(check) for check in checks],
        }
    )
