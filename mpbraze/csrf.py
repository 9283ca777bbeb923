"""The page for a form refused by Django's CSRF check, in the product's own layout (Django's
stock page says "More information is available with DEBUG=True", which helps nobody)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: 403 with what to do; the reason is Django's, never a secret."""
    return render(request, "403_csrf.html", {"reason": reason}, status=403)
