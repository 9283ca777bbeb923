from __future__ import annotations

from django.urls import path

from mapping import views

urlpatterns = [
    path("connections/<id:pk>/preview/", views.mapping_preview, name="mapping_preview"),
]
