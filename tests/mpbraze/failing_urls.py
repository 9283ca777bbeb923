"""A URL that fails as a bug would, for the 500 page's test."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom)]
