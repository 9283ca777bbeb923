"""The REST hook settings, typed and read in one place (defaults live in ``mpbraze.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings


@dataclass(frozen=True)
class HookConfig:
    timeout_seconds: float
    retry_seconds: tuple[float, ...]
    disable_after: timedelta
    max_countdown_seconds: float
    sweep_seconds: float
    retention: timedelta


def hook_config() -> HookConfig:
    """Read on every call: cheap, and tests that override settings see their values."""
    return HookConfig(
        timeout_seconds=float(settings.MPBRAZE_HOOK_TIMEOUT_SECONDS),
        retry_seconds=tuple(float(s) for s in settings.MPBRAZE_HOOK_RETRY_SECONDS),
        disable_after=timedelta(hours=settings.MPBRAZE_HOOK_DISABLE_AFTER_HOURS),
        max_countdown_seconds=settings.MPBRAZE_MAX_COUNTDOWN_SECONDS,
        sweep_seconds=settings.MPBRAZE_SWEEP_SECONDS,
        retention=timedelta(days=settings.MPBRAZE_HOOK_RETENTION_DAYS),
    )
