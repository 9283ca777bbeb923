"""REST hooks in the admin: Ops create their own (the signing secret is shown once), re-enable
or disable them and read every delivery with its attempts; superusers see everyone's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from connections.admin_display import LabelledAdmin, ReadOnlyMixin, pretty_json, when
from connections.hooks.events import CHOICES
from connections.hooks.models import HookAttempt, HookDelivery, HookSubscription
from connections.hooks.selectors import hook_subscriptions_for
from connections.hooks.services import (
    hook_events_parse,
    hook_subscription_create,
    hook_subscription_delete,
    hook_subscription_disable,
    hook_subscription_enable,
)
from connections.hooks.targets import HookError, target_url_check


class HookSubscriptionForm(forms.ModelForm[HookSubscription]):
    event_choices = forms.MultipleChoiceField(
        label="Events", choices=CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = HookSubscription
        fields = ("target_url", "description")

    def clean_target_url(self) -> str:
        return _checked(target_url_check, self.cleaned_data["target_url"])

    def clean_event_choices(self) -> list[str]:
        return _checked(hook_events_parse, self.cleaned_data["event_choices"])


_T = TypeVar("_T")


def _checked(check: Callable[[Any], _T], value: Any) -> _T:
    try:
        return check(value)
    except HookError as error:
        raise forms.ValidationError(error.message) from None


SHOWN = (
    "target_url",
    "owner",
    "events",
    "description",
    "active",
    "disabled_reason",
    "failing_since",
    "created_at",
)


@admin.register(HookSubscription)
class HookSubscriptionAdmin(LabelledAdmin[HookSubscription]):
    list_display = ("target_url", "owner", "event_names", "active", "failing", "disabled_reason")
    list_filter = ("active",)
    search_fields = ("target_url", "description", "owner__username")
    actions = ["enable", "disable"]
    labels = {"disabled_reason": "why it is disabled", "failing_since": "failing since"}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return hook_subscriptions_for(request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            return HookSubscriptionForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("target_url", "event_choices", "description") if obj is None else SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else SHOWN

    @admin.display(description="events")
    def event_names(self, subscription: HookSubscription) -> str:
        return ", ".join(subscription.events)

    @admin.display(description="failing since", ordering="failing_since")
    def failing(self, subscription: HookSubscription) -> str:
        return when(subscription.failing_since)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Made by the service for the signed-in user; the secret is in this answer only."""
        if change:
            return
        subscription, secret = hook_subscription_create(
            user=request.user,  # type: ignore[arg-type]
            target_url=form.cleaned_data["target_url"],
            events=form.cleaned_data["event_choices"],
            description=form.cleaned_data["description"],
        )
        obj.__dict__.update(
            {k: v for k, v in subscription.__dict__.items() if not k.startswith("_")}
        )
        messages.warning(request, f"The hook's signing secret (shown only this once): {secret}")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        hook_subscription_delete(subscription=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for subscription in queryset:
            hook_subscription_delete(subscription=subscription)

    @admin.action(description="Re-enable (clears the failing state)", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for subscription in queryset:
            hook_subscription_enable(subscription=subscription)
        messages.success(request, f"{len(queryset)} hook(s) enabled.")

    @admin.action(description="Disable", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        reason = f"Disabled by {request.user} in the admin."
        done = sum(hook_subscription_disable(subscription=s, reason=reason) for s in queryset)
        messages.success(request, f"{done} hook(s) disabled.")


class AttemptInline(ReadOnlyMixin, admin.TabularInline[HookAttempt, HookDelivery]):
    model = HookAttempt
    fields = readonly_fields = ("time", "status_code", "latency", "error", "response_body")
    extra = 0

    @admin.display(description="at")
    def time(self, attempt: HookAttempt) -> str:
        return when(attempt.at)

    @admin.display(description="latency")
    def latency(self, attempt: HookAttempt) -> str:
        return "—" if attempt.latency_ms is None else f"{attempt.latency_ms} ms"


@admin.register(HookDelivery)
class HookDeliveryAdmin(ReadOnlyMixin, LabelledAdmin[HookDelivery]):
    list_display = (
        "created_at",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
    )
    list_filter = ("status", "event__type")
    list_select_related = ("event", "subscription")
    search_fields = ("event__event_id", "subscription__target_url")
    ordering = ("-created_at", "-pk")
    inlines = [AttemptInline]
    fields = readonly_fields = (
        "event_id",
        "event_type",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
        "payload",
    )
    labels = {
        "created_at": "created",
        "next_attempt_at": "next attempt",
        "last_status_code": "last HTTP status",
        "event__type": "event",
    }

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        deliveries = super().get_queryset(request).select_related("event", "subscription")
        return deliveries.filter(subscription__in=hook_subscriptions_for(request.user))

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: HookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="webhook-id")
    def event_id(self, delivery: HookDelivery) -> str:
        return delivery.event.event_id

    @admin.display(description="payload")
    def payload(self, delivery: HookDelivery) -> Any:
        return pretty_json(delivery.event.payload)
