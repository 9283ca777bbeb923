"""API tokens in the admin: Ops create their own (shown once) and revoke them; superusers
see everyone's. Only the prefix is ever shown again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from connections.api.models import ApiToken
from connections.api.tokens import TokenError, api_token_create, api_token_revoke, expiry_parse


class ApiTokenForm(forms.ModelForm[ApiToken]):
    scope_choices = forms.MultipleChoiceField(
        label="Scopes", choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_in = forms.CharField(
        label="Expires in", required=False, help_text="e.g. 30d or 12h; empty never expires."
    )

    class Meta:
        model = ApiToken
        fields = ("name",)

    def clean_expires_in(self) -> str:
        value = self.cleaned_data["expires_in"]
        try:
            expiry_parse(value)
        except TokenError as error:
            raise forms.ValidationError(error.message) from None
        return str(value)


SHOWN = (
    "prefix",
    "name",
    "user",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = SHOWN
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        tokens = super().get_queryset(request).select_related("user")
        user = request.user
        if user.is_superuser:
            return tokens
        # The admin serves signed-in staff only; an anonymous request would see no token.
        return tokens.filter(user=user) if user.is_authenticated else tokens.none()

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return ApiTokenForm if obj is None else super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else SHOWN

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "scope_choices", "expires_in")
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """The token is the signed-in user's, made by the service; its plain form is shown
        in this answer's message and nowhere else."""
        token, plain = api_token_create(
            user=request.user,  # type: ignore[arg-type]
            scopes=form.cleaned_data["scope_choices"],
            expires_at=expiry_parse(form.cleaned_data["expires_in"]),
            name=form.cleaned_data["name"],
        )
        obj.__dict__.update({k: v for k, v in token.__dict__.items() if not k.startswith("_")})
        messages.warning(request, f"Your new API token (shown only this once): {plain}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        messages.success(request, f"{len(queryset)} token(s) revoked.")
