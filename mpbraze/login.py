"""Sign-in for the product (``/login/``) and the audit admin, with failed attempts throttled.

Failures count per username at one address, per address, and per username from anywhere; the
last spares addresses the user signed in from before, so that guesses spread over many
addresses stop without locking the user out. Over a limit the form says how long to wait and
the page answers 429 with ``Retry-After``; the password is not even checked.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from mpbraze.throttle import Limit, Throttle, client_address

WINDOW_SECONDS = 15 * 60
TRUSTED_SECONDS = 30 * 24 * 3600  # an address the user signed in from stays trusted this long


def login_throttle(request: HttpRequest, username: str) -> Throttle:
    address = client_address(request)
    return Throttle(
        [
            Limit(
                "login",
                f"{username}\n{address}",
                settings.MPBRAZE_LOGIN_FAILURES_PER_15_MINUTES,
                WINDOW_SECONDS,
            ),
            Limit(
                "login-address",
                address,
                settings.MPBRAZE_LOGIN_ADDRESS_FAILURES_PER_15_MINUTES,
                WINDOW_SECONDS,
            ),
            Limit(
                "login-username",
                username,
                settings.MPBRAZE_LOGIN_USERNAME_FAILURES_PER_15_MINUTES,
                WINDOW_SECONDS,
                waivable=True,
            ),
        ],
        trusted=f"login\n{username}\n{address}",
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses a sign-in over the limits before checking it; counts it when it fails.

    Also the base of the audit admin's form (``mpbraze.admin.AuditLoginForm``)."""

    retry_after = 0

    def clean(self) -> dict[str, Any]:
        if self.request is None:  # not a sign-in page: no address to count failures under
            return super().clean()
        throttle = login_throttle(self.request, str(self.data.get("username", "")))
        self.retry_after = throttle.retry_after()
        if self.retry_after:
            minutes = math.ceil(self.retry_after / 60)
            raise ValidationError(
                "Too many failed sign-ins: try again in %(wait)s.",
                code="throttled",
                params={"wait": "1 minute" if minutes == 1 else f"{minutes} minutes"},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.record_failure()
            raise
        if self.get_user() is not None:
            throttle.trust(seconds=TRUSTED_SECONDS)
        return cleaned


def throttled_response(response: HttpResponse) -> HttpResponse:
    """A sign-in page refused for too many failures: 429 with ``Retry-After``."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    seconds = getattr(form, "retry_after", 0)
    if seconds:
        response.status_code = 429
        response["Retry-After"] = str(seconds)
    return response


class SignInView(LoginView):
    form_class = ThrottledAuthenticationForm

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return throttled_response(super().post(request, *args, **kwargs))
