"""``/opendsr/v3/``: each path with or without a trailing slash (mParticle's clients send it)."""

from __future__ import annotations

from django.urls import re_path

from connections.dsr import views

urlpatterns = [
    re_path(r"^requests/?$", views.requests_endpoint, name="opendsr_requests"),
    re_path(
        r"^requests/(?P<subject_request_id>[^/]{1,64})/?$",
        views.request_endpoint,
        name="opendsr_request",
    ),
    re_path(r"^discovery/?$", views.discovery_endpoint, name="opendsr_discovery"),
]
