"""The delivery settings, typed and read in one place (defaults live in ``mpbraze.settings``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings


@dataclass(frozen=True)
class DeliveryConfig:
    """What the outbox, forwarder, sweeper and retention are tuned by (.env.example;
    docs/architecture.md)."""

    claim_size: int
    lease_seconds: float
    retry_backoff_seconds: tuple[float, ...]
    retry_max_age: timedelta
    retry_max_attempts: int
    forward_linger_seconds: float
    forward_budget_seconds: float
    forward_concurrency: int
    forward_lanes: int
    max_countdown_seconds: float
    sweep_seconds: float
    mapping_grace_seconds: float
    mapping_max_attempts: int
    sent_retention: timedelta
    discarded_retention: timedelta
    attempt_retention: timedelta
    mapping_sample_retention: timedelta
    batch_retention: timedelta
    dedup_window: timedelta
    rate_limit: str
    user_data_rate_limit: str

    @property
    def forward_stale_seconds(self) -> float:
        """A scheduled forward not started after this long is presumed lost with its message."""
        return max(120.0, 4 * self.sweep_seconds, self.forward_linger_seconds * 4)


def delivery_config() -> DeliveryConfig:
    """Read on every call: cheap, and tests that override settings see their values."""
    return DeliveryConfig(
        claim_size=settings.MPBRAZE_OUTBOX_CLAIM_SIZE,
        lease_seconds=float(settings.MPBRAZE_OUTBOX_LEASE_SECONDS),
        retry_backoff_seconds=tuple(float(s) for s in settings.MPBRAZE_RETRY_BACKOFF_SECONDS),
        retry_max_age=timedelta(hours=settings.MPBRAZE_RETRY_MAX_AGE_HOURS),
        retry_max_attempts=settings.MPBRAZE_RETRY_MAX_ATTEMPTS,
        forward_linger_seconds=settings.MPBRAZE_FORWARD_LINGER_SECONDS,
        forward_budget_seconds=settings.MPBRAZE_FORWARD_BUDGET_SECONDS,
        forward_concurrency=settings.MPBRAZE_FORWARD_CONCURRENCY,
        forward_lanes=settings.MPBRAZE_FORWARD_LANES,
        max_countdown_seconds=settings.MPBRAZE_MAX_COUNTDOWN_SECONDS,
        sweep_seconds=settings.MPBRAZE_SWEEP_SECONDS,
        mapping_grace_seconds=settings.MPBRAZE_MAPPING_GRACE_SECONDS,
        mapping_max_attempts=settings.MPBRAZE_MAPPING_MAX_ATTEMPTS,
        sent_retention=timedelta(days=settings.MPBRAZE_SENT_RETENTION_DAYS),
        discarded_retention=timedelta(days=settings.MPBRAZE_DISCARDED_RETENTION_DAYS),
        attempt_retention=timedelta(days=settings.MPBRAZE_ATTEMPT_RETENTION_DAYS),
        mapping_sample_retention=timedelta(days=settings.MPBRAZE_MAPPING_SAMPLE_RETENTION_DAYS),
        batch_retention=timedelta(days=settings.MPBRAZE_BATCH_RETENTION_DAYS),
        dedup_window=timedelta(days=settings.MPBRAZE_DEDUP_WINDOW_DAYS),
        rate_limit=settings.MPBRAZE_BRAZE_RATE_LIMIT,
        user_data_rate_limit=settings.MPBRAZE_BRAZE_USER_DATA_RATE_LIMIT,
    )
