from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path, register_converter
from django.utils.cache import patch_cache_control

from connections.metrics import views as metrics
from connections.probes import views as probes
from connections.rules.ids import IdConverter
from mpbraze.api import api, api_not_found
from mpbraze.login import SignInView

# <id:pk> before the apps' patterns are read: an id beyond 2^63-1 matches nothing (404).
register_converter(IdConverter, "id")


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico (the admin's pages name no icon): the static
    file, under its hashed name; the redirect itself is cached for a day, not for ever."""
    response = HttpResponseRedirect(static("favicon.ico"))
    patch_cache_control(response, max_age=86400)
    return response


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", probes.healthz, name="healthz"),
    path("readyz", probes.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("opendsr/v3/", include("connections.dsr.urls")),
    re_path(r"^api/", api_not_found),
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("mapping.urls")),
    path("", include("connections.inbound.urls")),
    path("", include("connections.websdk.urls")),
    path("", include("connections.pages.urls")),
]
