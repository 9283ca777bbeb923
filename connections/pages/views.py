"""Marketer pages: thin views over forms, services and selectors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Concatenate, ParamSpec, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_http_methods, require_POST

from connections import lifecycle, selectors, services
from connections.connectivity import selectors as check_selectors
from connections.connectivity.health import connections_health
from connections.crypto.typed_keys import KeyScope
from connections.delivery import retry
from connections.models import APP_PLATFORMS, BrazeOutput, Connection, Platform
from connections.pages import glance, onboarding
from connections.pages.forms import (
    BrazeOutputForm,
    ConnectionCreateForm,
    ConnectionEditForm,
    SecretRotationForm,
)
from connections.pages.instance_form import InstanceChangeForm
from connections.rules import instances
from connections.rules.instance_change import (
    IN_FLIGHT,
    InstanceChange,
    InstanceChangeValidation,
    instance_change_changes,
)
from connections.rules.validation import OutputDraft

_P = ParamSpec("_P")
_R = TypeVar("_R", bound=HttpResponseBase)
_View = Callable[Concatenate[HttpRequest, _P], _R]


def allowed(permission: str) -> Callable[[_View[_P, _R]], _View[_P, _R]]:
    """Sign-in required, then the permission, else 403; the view keeps its signature."""

    def decorate(view: _View[_P, _R]) -> _View[_P, _R]:
        return login_required(permission_required(permission, raise_exception=True)(view))

    return decorate


@allowed("connections.view_connection")
def dashboard(request: HttpRequest) -> HttpResponse:
    connections = list(selectors.connections_for_dashboard())
    ids = [c.pk for c in connections]
    since = timezone.now() - timedelta(hours=24)
    counts = selectors.delivery_counts(ids, since=since)
    checks = check_selectors.last_test_by_connection(ids)
    health = connections_health(connections)
    sparklines = glance.connections_sparklines(ids)
    rows = [
        (c, counts[c.pk], checks.get(c.pk), health[c.pk], sparklines[c.pk]) for c in connections
    ]
    return render(request, "connections/dashboard.html", {"rows": rows, "since": since})


@allowed("connections.add_connection")
@require_http_methods(["GET", "POST"])
def connection_create(request: HttpRequest) -> HttpResponse:
    form = ConnectionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        connection, secret = services.connection_create(name=form.cleaned_data["name"])
        return _secret_shown_once(request, connection, secret, created=True)
    return render(request, "connections/connection_form.html", {"form": form})


def _secret_shown_once(
    request: HttpRequest, connection: Connection, secret: str, *, created: bool
) -> HttpResponse:
    """The new inbound secret in the answer to the POST that made it: never stored anywhere
    (no session row), never cached, and gone once the marketer leaves the page."""
    context = {"connection": connection, "secret": secret, "created": created}
    response = render(request, "connections/secret_shown.html", context)
    patch_cache_control(response, no_store=True)
    return response


@allowed("connections.view_connection")
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    since = timezone.now() - timedelta(hours=24)
    context = {
        "connection": connection,
        "outputs": selectors.connection_outputs_by_platform(connection),
        "platform_labels": dict(Platform.choices),
        "mapping_issues": selectors.connection_latest_mapping_issues(connection),
        "failure_groups": selectors.connection_failure_groups(connection),
        "batches": selectors.connection_batch_summary(connection),
        "counts": selectors.delivery_counts([connection.pk], since=since)[connection.pk],
        "since": since,
        "health": connections_health([connection])[connection.pk],
        "last_tests": {
            check.output.platform: check
            for check in check_selectors.connection_latest_checks(connection)
        },
        **_glance_and_onboarding(request, connection),
    }
    return render(request, "connections/connection_detail.html", context)


def _glance_and_onboarding(request: HttpRequest, connection: Connection) -> dict[str, object]:
    server = connection.outputs.filter(platform=Platform.SERVER).first()
    return {
        "glance": glance.server_output_glance(server) if server else None,
        "onboarding": onboarding.connection_onboarding(connection),
        "waiting_later": selectors.connection_objects_waiting_later(connection),
        "last_retry_now": selectors.connection_last_retry_now(connection),
        "inbound": onboarding.inbound_endpoint(request),
    }


@allowed("connections.change_connection")
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    initial = {
        "name": connection.name,
        "enabled": connection.enabled,
        "redact_live_events": connection.redact_live_events,
    }
    form = ConnectionEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.connection_update(connection=connection, **form.cleaned_data)
        messages.success(request, "Connection saved.")
        return redirect("connection_detail", pk=pk)
    context = {"form": form, "connection": connection}
    return render(request, "connections/connection_form.html", context)


@allowed("connections.change_connection")
@require_http_methods(["GET", "POST"])
def connection_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first (GET); the POST rotates, keeping the current secret for the chosen overlap."""
    connection = get_object_or_404(Connection, pk=pk)
    form = SecretRotationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        overlap = timedelta(hours=form.cleaned_data["overlap_hours"])
        secret = services.connection_rotate_inbound_secret(connection=connection, overlap=overlap)
        return _secret_shown_once(request, connection, secret, created=False)
    context = {"connection": connection, "form": form, "cancel_url": connection.get_absolute_url()}
    return render(request, "connections/confirm_rotate_secret.html", context)


@allowed("connections.change_connection")
@require_http_methods(["GET", "POST"])
def connection_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Lift a pause once the marketer confirms the cause was dealt with outside mpbraze."""
    connection = get_object_or_404(Connection, pk=pk)
    if not connection.paused_reason:
        return redirect("connection_detail", pk=pk)
    if request.method == "POST":
        lifecycle.connection_resume(connection=connection)
        messages.success(request, "Forwarding resumed: the waiting objects are being sent.")
        return redirect("connection_detail", pk=pk)
    context = {"connection": connection, "cancel_url": connection.get_absolute_url()}
    return render(request, "connections/confirm_resume.html", context)


@allowed("connections.retry_connection")
@require_POST
def connection_retry_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Send every object waiting for a retry now, not at its scheduled time."""
    connection = get_object_or_404(Connection, pk=pk)
    done = retry.connection_retry_now(connection=connection, user=request.user)
    if not done.objects:
        messages.info(request, "Retry now: no object was waiting for a later attempt.")
    else:
        objects = f"{done.objects} waiting object{'' if done.objects == 1 else 's'}"
        messages.success(request, f"Retry now: {objects} will be sent at once.")
    return redirect("connection_detail", pk=pk)


@allowed("connections.change_brazeoutput")
@require_http_methods(["GET", "POST"])
def connection_change_instance(request: HttpRequest, pk: int) -> HttpResponse:
    """Every output to another Braze instance: the form, a confirmation naming what changes,
    then the move and a connectivity check of each output."""
    connection = get_object_or_404(Connection, pk=pk)
    outputs = selectors.connection_output_drafts(connection)
    if not outputs:
        messages.info(request, "Add an output first: its Braze instance is chosen on its form.")
        return redirect("connection_detail", pk=pk)
    form = InstanceChangeForm(request.POST or None, outputs=outputs)
    context = {"connection": connection, "form": form, "cancel_url": connection.get_absolute_url()}
    if request.method == "POST" and form.is_valid() and form.validation is not None:
        if request.POST.get("confirm") == "yes":
            return _instance_changed(request, connection, form.validation.change)
        return _instance_change_confirmation(request, context, outputs, form.validation)
    return render(request, "connections/change_instance.html", context)


def _instance_change_confirmation(
    request: HttpRequest,
    context: dict[str, object],
    outputs: list[OutputDraft],
    validation: InstanceChangeValidation,
) -> HttpResponse:
    """What changes, with the change as it will be saved (normalised) in hidden fields."""
    context |= {
        "changes": instance_change_changes(outputs, validation.drafts),
        "notices": validation.notices,
        "hidden": asdict(validation.change),
        "in_flight": IN_FLIGHT,
    }
    return render(request, "connections/confirm_change_instance.html", context)


def _instance_changed(
    request: HttpRequest, connection: Connection, change: InstanceChange
) -> HttpResponse:
    user = request.user if isinstance(request.user, User) else None
    services.connection_change_instance(connection=connection, change=change, changed_by=user)
    named = change.braze_instance != instances.CUSTOM
    where = instances.label(change.braze_instance) if named else change.custom_rest_endpoint
    messages.success(request, f"Every output now uses {where}: a check of each has started.")
    return redirect("connection_checks", pk=connection.pk)


@allowed("connections.delete_connection")
@require_http_methods(["GET", "POST"])
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    if request.method == "POST":
        services.connection_delete(connection=connection)
        messages.success(request, f"Connection “{connection.name}” deleted.")
        return redirect("dashboard")
    context = {"object": connection, "cancel_url": connection.get_absolute_url()}
    return render(request, "connections/confirm_delete.html", context)


#: Beside the disabled "Add Server output" button too (connection_detail.html).
SERVER_NEEDS_APP_OUTPUT = (
    "Add an iOS, Android or Web output first: the Server output is an add-on to the app's kit."
)


def _output_page(
    request: HttpRequest, connection: Connection, output: BrazeOutput | None
) -> HttpResponse:
    siblings = selectors.output_siblings(connection, excluding=output)
    stored = [o for o in selectors.connection_outputs_by_platform(connection).values() if o]
    platform = request.GET.get("platform", "")
    initial = BrazeOutputForm.initial_for(
        output,
        platform if platform in Platform.values else Platform.IOS,
        sibling=stored[0] if stored else None,
    )
    form = BrazeOutputForm(
        request.POST or None,
        initial=initial,
        siblings=siblings,
        output=output,
        key_scope=KeyScope(user_id=request.user.pk, connection_id=connection.pk),
    )
    if request.method == "POST" and form.is_valid():
        services.output_save(
            connection=connection,
            draft=form.draft,
            settings=form.output_settings(),
            output=output,
        )
        for notice in form.notices:
            messages.info(request, notice)
        messages.success(request, "Output saved.")
        return redirect("connection_detail", pk=connection.pk)
    context = {
        "form": form,
        "connection": connection,
        "output": output,
        "catalog": {
            i.code: [i.rest_host, i.sdk_host, *i.dashboard_hosts] for i in instances.INSTANCES
        },
    }
    return render(request, "connections/output_form.html", context)


@allowed("connections.add_brazeoutput")
@require_http_methods(["GET", "POST"])
def output_create(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    # A post for a Server output meets the same rule on its platform field.
    if request.method == "GET" and request.GET.get("platform") == Platform.SERVER:
        siblings = selectors.output_siblings(connection)
        if not any(s.platform in APP_PLATFORMS for s in siblings):
            messages.error(request, SERVER_NEEDS_APP_OUTPUT)
            return redirect("connection_detail", pk=connection.pk)
    return _output_page(request, connection, None)


@allowed("connections.change_brazeoutput")
@require_http_methods(["GET", "POST"])
def output_edit(request: HttpRequest, pk: int, platform: str) -> HttpResponse:
    output = get_object_or_404(BrazeOutput, connection_id=pk, platform=platform)
    return _output_page(request, output.connection, output)


@allowed("connections.delete_brazeoutput")
@require_http_methods(["GET", "POST"])
def output_delete(request: HttpRequest, pk: int, platform: str) -> HttpResponse:
    output = get_object_or_404(BrazeOutput, connection_id=pk, platform=platform)
    cancel_url = output.connection.get_absolute_url()
    if request.method == "POST":
        try:
            services.output_delete(output=output)
        except services.OutputInUse as error:
            messages.error(request, str(error))
            return redirect(cancel_url)
        messages.success(request, f"{output.get_platform_display()} output deleted.")
        return redirect(cancel_url)
    context = {"object": output, "cancel_url": cancel_url}
    return render(request, "connections/confirm_delete.html", context)
