"""What retention forgets of the user profiles: those of users no batch came for in
``MPBRAZE_PROFILE_RETENTION_DAYS``, counted from ``updated_at`` (written at least daily while
batches come, ``connections.profiles.wave``). A user who comes back starts a new profile.
``connections.delivery.retention`` walks these in chunks, beside the outbox's kinds.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from connections.profiles.models import UserProfile


def profiles_due(cutoff: datetime) -> QuerySet[UserProfile]:
    """Profiles last written before ``cutoff``."""
    return UserProfile.objects.filter(updated_at__lt=cutoff)
