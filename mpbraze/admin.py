"""The audit admin: the site behind ``/admin/``, open to the Auditor and Ops roles.

Django's admin lets in staff only, which would make every auditor a "staff" user by a hidden
extra step. This site lets in whoever holds an audit role; what each may read is still decided
by the role's model permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from connections.admin_query import drop_unstorable_integer_filters
from connections.roles import AUDITOR, OPS
from mpbraze.login import ThrottledAuthenticationForm, throttled_response

ADMIN_ROLES = (AUDITOR, OPS)
View = TypeVar("View", bound=Callable[..., Any])


def may_use_audit_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """An active user who is staff, a superuser, or in the Auditor or Ops group."""
    if not isinstance(user, AbstractUser) or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return user.groups.filter(name__in=ADMIN_ROLES).exists()


class AuditLoginForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The admin sign-in, accepting the audit roles instead of staff status only."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password of an account with the Auditor"
            " or Ops role. Both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        if not may_use_audit_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class AuditAdminSite(admin.AdminSite):
    """The default admin site (``mpbraze.apps.AuditAdminConfig``)."""

    site_header = "mpbraze audit"
    site_title = "mpbraze audit"
    index_title = "Audit records"
    login_form = AuditLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_audit_admin(request.user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return throttled_response(super().login(request, extra_context))

    def admin_view(self, view: View, cacheable: bool = False) -> View:
        """A signed-in user without an audit role gets 403, not Django's redirect to the sign-in
        page: signing in again as the same user would only lead back there. A model's views
        get its filters with integer values bounded (``drop_unstorable_integer_filters``)."""
        guarded = super().admin_view(view, cacheable)
        # A list's own filters: replay, discard and CSV views validate theirs (a filter left
        # out there would widen what they act on).
        owner = getattr(view, "__self__", None)
        model_admin: admin.ModelAdmin[Any] | None = None
        if isinstance(owner, admin.ModelAdmin) and view.__name__ == "changelist_view":
            model_admin = owner

        def refuse_signed_in_strangers(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The audit admin is for the Auditor and Ops roles.")
            if model_admin is not None:
                drop_unstorable_integer_filters(request, model_admin)
            return guarded(request, *args, **kwargs)

        return cast(View, update_wrapper(refuse_signed_in_strangers, guarded))
