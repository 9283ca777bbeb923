"""The fake's API keys and their permissions, checked the way Braze does (reference §3)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from devtools.fakebraze.config import TRACK_PERMISSION

MALFORMED_HEADER = "Missing or malformed Authorization header"
INVALID_KEY = "Invalid API key"
ACCESS_DENIED = "Access Denied"


def fingerprint(key: str) -> str:
    """A short digest that names a key in logs and recordings without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def bearer_key(header: str | None) -> str | None:
    """The key of ``Authorization: Bearer <key>``; ``None`` when missing or malformed."""
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key or len(key.split()) != 1 or key != key.strip():
        return None
    return key


@dataclass(frozen=True)
class AuthOutcome:
    """``status`` is 0 when the key may call the endpoint, else the status to answer."""

    key: str | None
    status: int = 0
    message: str = ""


class KeyRing:
    """Thread-safe map of API key to permissions; editable at run time."""

    def __init__(self, keys: dict[str, frozenset[str]]) -> None:
        self._keys = dict(keys)
        self._lock = threading.Lock()

    def authorize(self, header: str | None, permission: str = TRACK_PERMISSION) -> AuthOutcome:
        """Whether the header's key exists (else 401) and holds ``permission`` (else 403)."""
        key = bearer_key(header)
        if key is None:
            return AuthOutcome(None, 401, MALFORMED_HEADER)
        with self._lock:
            permissions = self._keys.get(key)
        if permissions is None:
            return AuthOutcome(key, 401, INVALID_KEY)
        if permission not in permissions:
            return AuthOutcome(key, 403, ACCESS_DENIED)
        return AuthOutcome(key)

    def set(self, key: str, permissions: Iterable[str]) -> None:
        with self._lock:
            self._keys[key] = frozenset(permissions)

    def remove(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def describe(self) -> list[dict[str, object]]:
        """Keys by fingerprint, never in clear."""
        with self._lock:
            items = sorted(self._keys.items())
        return [{"fingerprint": fingerprint(k), "permissions": sorted(p)} for k, p in items]
