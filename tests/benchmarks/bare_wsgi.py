"""The baseline for ingest: the product's Django app with one more view that only answers
202, served by the same gunicorn settings. What the inbound API costs beyond it is ours."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpbraze.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    request.read()
    return HttpResponse(status=202)


urlpatterns = [path("bench/bare/", bare), path("", include("mpbraze.urls"))]
settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
