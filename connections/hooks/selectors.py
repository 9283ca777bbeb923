"""Reads of REST hooks for the admin and the API."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from connections.hooks.models import HookAttempt, HookDelivery, HookSubscription


def hook_subscriptions_for(user: AbstractBaseUser | AnonymousUser) -> QuerySet[HookSubscription]:
    """The user's subscriptions, newest first; a superuser sees everyone's."""
    subscriptions = HookSubscription.objects.select_related("owner").order_by("-created_at", "-pk")
    if getattr(user, "is_superuser", False):
        return subscriptions
    if not user.is_authenticated:
        return subscriptions.none()
    return subscriptions.filter(owner_id=user.pk)


def hook_deliveries_for(subscription: HookSubscription) -> QuerySet[HookDelivery]:
    """The subscription's deliveries, newest first, with their event."""
    return (
        HookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .order_by("-created_at", "-pk")
    )


def hook_attempts_for(delivery: HookDelivery) -> QuerySet[HookAttempt]:
    return HookAttempt.objects.filter(delivery=delivery).order_by("at", "pk")
