"""An API key typed into a form that failed on another field, kept without entering the page.

The browser gets back only a Fernet token (encrypted and signed with
``MPBRAZE_ENCRYPTION_KEYS``, timestamped) bound to the person and the connection, and the
next post may use it for ``KEPT_FOR_SECONDS``: long enough to fix a field, short enough that a
copied page is soon useless. A stored key's ciphertext is not such a token: the payload
names its purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from connections.crypto import encryption

KEPT_FOR_SECONDS = 600
_PURPOSE = "typed-api-key"


@dataclass(frozen=True)
class KeyScope:
    """Who typed the key and for which connection: a token opens only in the same scope."""

    user_id: int | None  # ``None`` for no one signed in: pages that take keys require sign-in
    connection_id: int

    def as_list(self) -> list[int | None]:
        return [self.user_id, self.connection_id]


def typed_key_seal(key: str, *, scope: KeyScope) -> str:
    payload = {"purpose": _PURPOSE, "scope": scope.as_list(), "key": key}
    return encryption.encrypt(json.dumps(payload))


def typed_key_open(token: str, *, scope: KeyScope) -> str | None:
    """The key sealed in ``token``; ``None`` when it expired, was altered or is another's."""
    plaintext = encryption.decrypt_recent(token, max_age_seconds=KEPT_FOR_SECONDS)
    if plaintext is None:
        return None
    try:
        payload = json.loads(plaintext)
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("purpose") != _PURPOSE:
        return None
    key = payload.get("key")
    if payload.get("scope") != scope.as_list() or not isinstance(key, str):
        return None
    return key
