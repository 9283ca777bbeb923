"""Braze API keys at rest: MultiFernet encryption, rotation and masking.

Keys come from ``MPBRAZE_ENCRYPTION_KEYS`` (comma-separated, newest first). Encryption always
uses the newest key; decryption tries each. A token no key can open raises
``EncryptionKeyError``: ciphertext is never handed back as if it were an API key.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MASK = "••••"


class EncryptionKeyError(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("MPBRAZE_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as error:
        raise ImproperlyConfigured(
            "MPBRAZE_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes)."
        ) from error


def _configured() -> MultiFernet:
    return _fernet(tuple(settings.MPBRAZE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _configured().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _configured().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise EncryptionKeyError(
            "A stored API key cannot be decrypted with MPBRAZE_ENCRYPTION_KEYS: "
            "the key it was encrypted with is missing from the list."
        ) from error


def decrypt_recent(token: str, *, max_age_seconds: int) -> str | None:
    """The plaintext of a token ``encrypt`` made at most ``max_age_seconds`` ago; ``None`` when
    it is older, altered, not a token, or made with a key no longer configured."""
    try:
        return _configured().decrypt(token.encode(), ttl=max_age_seconds).decode()
    except (InvalidToken, UnicodeError):
        return None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the newest key."""
    try:
        return _configured().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise EncryptionKeyError("cannot be decrypted with MPBRAZE_ENCRYPTION_KEYS") from error


def mask(last4: str) -> str:
    return f"{MASK}{last4}" if last4 else ""


def fingerprint(plaintext: str) -> str:
    """A stable, non-reversible identifier for comparing keys without decrypting them."""
    return hashlib.sha256(plaintext.encode()).hexdigest()[:32]
