from __future__ import annotations

from django.urls import path

from connections import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("connections/new/", views.connection_create, name="connection_create"),
    path("connections/<int:pk>/", views.connection_detail, name="connection_detail"),
    path("connections/<int:pk>/edit/", views.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/delete/", views.connection_delete, name="connection_delete"),
    path(
        "connections/<int:pk>/rotate-secret/",
        views.connection_rotate_secret,
        name="connection_rotate_secret",
    ),
    path("connections/<int:pk>/resume/", views.connection_resume, name="connection_resume"),
    path("connections/<int:pk>/outputs/new/", views.output_create, name="output_create"),
    path(
        "connections/<int:pk>/outputs/<str:platform>/",
        views.output_edit,
        name="output_edit",
    ),
    path(
        "connections/<int:pk>/outputs/<str:platform>/delete/",
        views.output_delete,
        name="output_delete",
    ),
]
