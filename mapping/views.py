"""The dry-run preview page: the exact Braze requests and issues, nothing stored or sent."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from connections.delivery.mapping_service import output_mapping_context
from connections.models import Connection
from mapping.forms import PreviewForm
from mapping.preview import preview_batch


@login_required
@permission_required("connections.preview_mapping", raise_exception=True)
@require_http_methods(["GET", "POST"])
def mapping_preview(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    form = PreviewForm(request.POST or None, connection=connection)
    context = {"connection": connection, "form": form, "preview": None, "request_bodies": []}
    if request.method == "POST" and form.is_valid():
        output = form.cleaned_data["output"]
        preview = preview_batch(form.cleaned_data["payload"], output_mapping_context(output))
        context["preview"] = preview
        context["request_bodies"] = [json.dumps(body, indent=2) for body in preview.requests]
        context["form"] = form.with_batch_in_the_box()
    return render(request, "mapping/preview.html", context)
