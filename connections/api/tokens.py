"""Issuing and checking API tokens. A token is ``mpb_<prefix>_<secret>``: the prefix finds
the row, the secret is compared by its SHA-256 (a token has 256 bits of entropy, so a fast
hash is enough, as for session keys), and the plain token exists only in the answer that
created it."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from connections.api.models import ApiToken
from connections.rules.field_errors import FieldError

PREFIX = "mpb"
TOKEN = re.compile(r"^mpb_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
DURATION = re.compile(r"^(\d+)([hd])$")
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


class TokenError(FieldError):
    """A token request that cannot be honoured, with the field at fault."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scopes_parse(text: str | Iterable[str]) -> list[str]:
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    unknown = sorted(set(names) - set(ApiToken.Scope.values))
    if unknown or not names:
        allowed = ", ".join(ApiToken.Scope.values)
        raise TokenError(
            "scope", f"expected one or more of {allowed}, got {', '.join(unknown) or 'none'}"
        )
    return [s for s in ApiToken.Scope.values if s in names]


def expiry_parse(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """``30d`` or ``12h`` from now; None (or empty) never expires."""
    if not text:
        return None
    found = DURATION.match(text.strip())
    if found is None or int(found[1]) == 0:
        raise TokenError("expires", f"expected a duration such as 30d or 12h, got {text[:20]!r}")
    amount = int(found[1])
    delta = timedelta(days=amount) if found[2] == "d" else timedelta(hours=amount)
    return (now or timezone.now()) + delta


def api_token_create(
    *, user: User, scopes: list[str], expires_at: datetime | None = None, name: str = ""
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the plain token (shown once)."""
    if not user.is_active:
        raise TokenError("user", f"{user} is not active")
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        secret_hash=_digest(secret),
        scopes=scopes_parse(scopes),
        expires_at=expires_at,
    )
    return token, f"{PREFIX}_{prefix}_{secret}"


def token_prefix(raw: str) -> str:
    """The prefix a well-formed token names (the row it would be), else ``""``."""
    found = TOKEN.match(raw.strip())
    return found[1] if found else ""


def api_token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token ``raw`` names (its user active), or None; notes when it was used."""
    found = TOKEN.match(raw.strip())
    if found is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=found[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(found[2])):
        return None
    if not token.usable or not token.user.is_active:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
