from __future__ import annotations

from django.urls import path

from connections.connectivity import views as checks
from connections.pages import live_views, views, websdk_views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("connections/new/", views.connection_create, name="connection_create"),
    path("connections/<id:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<id:pk>/edit/", views.connection_edit, name="connection_edit"),
    path("connections/<id:pk>/delete/", views.connection_delete, name="connection_delete"),
    path(
        "connections/<id:pk>/rotate-secret/",
        views.connection_rotate_secret,
        name="connection_rotate_secret",
    ),
    path(
        "connections/<id:pk>/rotate-web-key/",
        websdk_views.connection_rotate_web_key,
        name="connection_rotate_web_key",
    ),
    path(
        "connections/<id:pk>/kit-config.json",
        websdk_views.output_kit_config,
        name="output_kit_config",
    ),
    path(
        "connections/<id:pk>/change-instance/",
        views.connection_change_instance,
        name="connection_change_instance",
    ),
    path("connections/<id:pk>/resume/", views.connection_resume, name="connection_resume"),
    path("connections/<id:pk>/retry-now/", views.connection_retry_now, name="connection_retry_now"),
    path("connections/<id:pk>/test/", checks.connection_test, name="connection_test"),
    path("connections/<id:pk>/checks/", checks.connection_checks, name="connection_checks"),
    path("connections/<id:pk>/events/", live_views.live_events, name="live_events"),
    path("connections/<id:pk>/events.json", live_views.live_events_json, name="live_events_json"),
    path(
        "connections/<id:pk>/checks.json",
        checks.connection_checks_json,
        name="connection_checks_json",
    ),
    path(
        "connections/<id:pk>/outputs/<str:platform>/test/",
        checks.output_test,
        name="output_test",
    ),
    path("connections/<id:pk>/outputs/new/", views.output_create, name="output_create"),
    path(
        "connections/<id:pk>/outputs/<str:platform>/",
        views.output_edit,
        name="output_edit",
    ),
    path(
        "connections/<id:pk>/outputs/<str:platform>/delete/",
        views.output_delete,
        name="output_delete",
    ),
]
