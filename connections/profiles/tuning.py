"""The profile settings, typed and read in one place (defaults live in ``mpbraze.settings``)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from mapping.objects import ProfileLimits

# An unchanged profile is written again (its ``updated_at`` moved) at most this often: retention
# counts a user's inactivity from it, and a write per batch that changes nothing would be waste.
TOUCH_INTERVAL = timedelta(days=1)


def profile_limits() -> ProfileLimits:
    """Read on every call: cheap, and tests that override settings see their values."""
    return ProfileLimits(
        max_attributes=settings.MPBRAZE_PROFILE_MAX_ATTRIBUTES,
        max_bytes=settings.MPBRAZE_PROFILE_MAX_BYTES,
    )


def profile_retention() -> timedelta:
    return timedelta(days=settings.MPBRAZE_PROFILE_RETENTION_DAYS)
