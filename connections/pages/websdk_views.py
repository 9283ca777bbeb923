"""The connection page's website pieces: rotating the web key, the kit configuration file."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from connections import services
from connections.models import Connection
from connections.pages.views import allowed
from connections.websdk.kit_config import sdk_configuration


@allowed("connections.change_connection")
@require_http_methods(["GET", "POST"])
def connection_rotate_web_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first (GET); the POST makes a new web key and the old one stops at once, so every
    site must publish the new one."""
    connection = get_object_or_404(Connection, pk=pk)
    if request.method == "POST":
        services.connection_rotate_web_key(connection=connection)
        messages.success(request, "New web key: put it in the site's mParticle snippet now.")
        return redirect("connection_detail", pk=pk)
    context = {"connection": connection, "cancel_url": connection.get_absolute_url()}
    return render(request, "connections/confirm_rotate_web_key.html", context)


@allowed("connections.view_connection")
@require_GET
def output_kit_config(request: HttpRequest, pk: int) -> HttpResponse:
    """The Web SDK's configuration as a file, for sites that side-load it
    (``requestConfig: false`` with the file's ``kitConfigs``)."""
    connection = get_object_or_404(Connection, pk=pk)
    document = sdk_configuration(connection, development=False)
    response = JsonResponse(document, json_dumps_params={"indent": 2})
    filename = f"mparticle-kit-config-{connection.slug}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # it holds the Web output's key
    return response
