"""The profiles of one wave of batches, for the mapping service: read in one query before the
wave is mapped, handed to the engine batch by batch (a user's second batch in the wave sees
what the first changed), and written after it in one upsert per kind of key, inside the
wave's transaction: a wave that fails leaves every profile as it was."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from connections.profiles.store import (
    StoredProfile,
    UserKey,
    profiles_load,
    profiles_save,
    user_key,
)
from connections.profiles.tuning import TOUCH_INTERVAL, profile_limits
from mapping.objects import MappingContext, Profile, ProfileInput
from mapping.profile import profile_key


class ProfileWave:
    """Batches are identified by id, which is also their arrival order (``ProfileInput.order``)."""

    def __init__(self, keys: dict[int, tuple[UserKey, str]]) -> None:
        self._keys = keys  # batch id → (user, the external identity it was sent with)
        self._stored = profiles_load(keys=[key for key, _external_id in keys.values()])
        self._current: dict[UserKey, StoredProfile] = {}
        self._limits = profile_limits()

    @classmethod
    def load(cls, batches: Iterable[tuple[int, int, Any, MappingContext]]) -> ProfileWave:
        """``batches``: (batch id, connection id, payload, the output's mapping context)."""
        keys = {}
        for batch_id, connection_id, payload, context in batches:
            key = profile_key(payload, context)
            if key is not None:
                keys[batch_id] = (user_key(connection_id, key), key.external_id)
        return cls(keys)

    def input_for(self, batch_id: int) -> ProfileInput | None:
        found = self._keys.get(batch_id)
        if found is None:
            return None
        current = self._latest(found[0])
        return ProfileInput(current.profile, batch_id, self._limits)

    def keep(self, batch_id: int, profile: Profile | None) -> None:
        """The profile after batch ``batch_id``; the external identity of the newest batch
        that had one is kept beside it."""
        found = self._keys.get(batch_id)
        if found is None or profile is None:
            return
        key, external_id = found
        before = self._latest(key)
        newest = batch_id >= before.last_batch_id or not before.external_id
        self._current[key] = replace(
            before,
            profile=profile,
            external_id=external_id if external_id and newest else before.external_id,
            last_batch_id=max(batch_id, before.last_batch_id),
        )

    def save(self, *, now: datetime) -> None:
        writes = [write for write in self._current.values() if self._changed(write, now)]
        if writes:
            profiles_save(writes=writes, now=now)

    def _latest(self, key: UserKey) -> StoredProfile:
        found = self._current.get(key) or self._stored.get(key)
        return found or StoredProfile(key, Profile(), "", 0, 0, None)

    def _changed(self, write: StoredProfile, now: datetime) -> bool:
        """Unchanged profiles are written again only now and then, so that retention, which
        counts inactivity from ``updated_at``, sees their user is still active."""
        stored = self._stored.get(write.key)
        if stored is None or stored.updated_at is None:
            return True
        same = (stored.profile, stored.external_id) == (write.profile, write.external_id)
        return not same or stored.updated_at < now - TOUCH_INTERVAL
