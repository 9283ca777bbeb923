"""Issuing MPIDs: a known identity maps to one MPID for ever, a device stamp to its own.

Every write is an insert that a unique constraint may refuse (``ignore_conflicts``), followed
by a read of what is stored: two requests for one new identity at once both insert, one row
survives, and both answer its MPID. No lock is taken in Python.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from connections.identity.models import DEVICE_STAMP, IdentityAlias, IdentityRecord
from connections.models import Connection

# The Web SDK's names of known identities, in the order that picks a user's MPID when a request
# carries several already known under different MPIDs.
KNOWN_IDENTITY_TYPES = (
    "customerid",
    "email",
    "other",
    *(f"other{n}" for n in range(2, 11)),
    "mobile_number",
    "phone_number_2",
    "phone_number_3",
    "facebook",
    "facebookcustomaudienceid",
    "google",
    "microsoft",
    "twitter",
    "yahoo",
)
LOGIN_IDENTITY_TYPES = frozenset({"customerid", "email"})
COUNT_FRESH_SECONDS = 60
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentityAnswer:
    mpid: int
    is_logged_in: bool
    matched_identities: dict[str, str]


class IdentityStoreFull(Exception):
    """The connection's identity store holds its maximum of identities
    (``MPBRAZE_IDENTITY_MAX_RECORDS``): new ones are refused, known ones still resolve."""


class UnknownUser(Exception):
    """An alias named an MPID this connection's identity store never issued."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class IdentityTaken(Exception):
    """A modify asked to give a user an identity that another MPID holds."""

    def __init__(self, identity_type: str) -> None:
        super().__init__(identity_type)
        self.identity_type = identity_type


def new_mpid() -> int:
    """A random positive 63-bit MPID (mParticle's are signed 64-bit; 0 means "none")."""
    return secrets.randbits(63) or 1


def identity_resolve(
    *, connection: Connection, known: Mapping[str, str], device_stamp: str | None
) -> IdentityAnswer:
    """The MPID of the user these identities name (identify, login, logout).

    Known identities: the MPID of the first of them already stored, else a new one; every one
    of them not stored yet is stored with it. None: the device stamp's own MPID."""
    if known:
        mpid = _known_user(connection, known)
    elif device_stamp:
        device = {DEVICE_STAMP: device_stamp}
        mpid = _claimed(connection, device, _stored(connection, device), new_mpid())[DEVICE_STAMP]
    else:
        mpid = new_mpid()  # nothing to remember it by: an MPID for this request only
    logged_in = any(name in LOGIN_IDENTITY_TYPES for name in known)
    return IdentityAnswer(mpid=mpid, is_logged_in=logged_in, matched_identities=dict(known))


def identity_modify(*, connection: Connection, mpid: int, changes: Mapping[str, str]) -> None:
    """Give the user ``mpid`` these identities; raises IdentityTaken for one another user has."""
    stored = _claimed(connection, changes, _stored(connection, changes), mpid)
    for name in changes:
        if stored[name] != mpid:
            raise IdentityTaken(name)


def _known_user(connection: Connection, known: Mapping[str, str]) -> int:
    stored = _stored(connection, known)
    first = next((stored[name] for name in known if name in stored), None)
    candidate = new_mpid() if first is None else first
    return _claimed(connection, known, stored, candidate)[next(iter(known))]


def _claimed(
    connection: Connection, identities: Mapping[str, str], stored: dict[str, int], candidate: int
) -> dict[str, int]:
    """The MPID of each identity, after storing with ``candidate`` those not ``stored`` yet
    (read again: another request may have stored one first)."""
    missing = {name: value for name, value in identities.items() if name not in stored}
    if not missing:
        return stored
    _insert(connection, missing, candidate)
    return _stored(connection, identities)


def _insert(connection: Connection, identities: Mapping[str, str], mpid: int) -> None:
    """Store new ``identities`` (another request may store one first: the constraint keeps
    its row)."""
    _ensure_room(connection, len(identities))
    records = [
        IdentityRecord(connection=connection, identity_type=name, value=value, mpid=mpid)
        for name, value in identities.items()
    ]
    IdentityRecord.objects.bulk_create(records, ignore_conflicts=True)
    with contextlib.suppress(ValueError):  # not counted yet: the next check counts
        cache.incr(_count_key(connection), len(records))


def _ensure_room(connection: Connection, new: int) -> None:
    """Raises IdentityStoreFull when ``new`` more identities would pass the maximum.

    The count is read from the store at most once a minute (a COUNT over millions of rows on
    every identify would cost more than the insert) and raised by every insert since; the store
    may pass its maximum by what other processes add within that minute, which the per-address
    identity throttle bounds. Known identities are never inserted again, so they still
    resolve when the store is full."""
    if _stored_count(connection) + new > settings.MPBRAZE_IDENTITY_MAX_RECORDS:
        logger.warning("The identity store of connection %s is full", connection.pk)
        raise IdentityStoreFull()


def _stored_count(connection: Connection) -> int:
    key = _count_key(connection)
    count = cache.get(key)
    if count is None:
        count = IdentityRecord.objects.filter(connection=connection).count()
        cache.set(key, count, COUNT_FRESH_SECONDS)
    return int(count)


def _count_key(connection: Connection) -> str:
    return f"mpbraze:identity-count:{connection.pk}"


def _stored(connection: Connection, identities: Mapping[str, str]) -> dict[str, int]:
    """The stored MPID of each of these identities that is stored."""
    found: dict[str, int] = {}
    for name, value in identities.items():
        record = IdentityRecord.objects.filter(
            connection=connection, identity_type=name, value=value
        ).values_list("mpid", flat=True)
        mpid = record.first()
        if mpid is not None:
            found[name] = mpid
    return found


def identity_order(known: Mapping[str, str]) -> dict[str, str]:
    """The identities in the order that picks the MPID (``KNOWN_IDENTITY_TYPES``)."""
    return {name: known[name] for name in KNOWN_IDENTITY_TYPES if name in known}


def identity_alias(
    *,
    connection: Connection,
    request_id: str,
    source_mpid: int,
    destination_mpid: int,
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    """Record that ``source_mpid`` is ``destination_mpid`` for the window, once per request
    id (the SDK may send a request again: the first one stands). Both MPIDs must be users of
    this connection: the web key is public, so a stranger must not alias made-up users.
    Raises UnknownUser naming the field."""
    users = IdentityRecord.objects.filter(connection=connection)
    for field, mpid in (("source_mpid", source_mpid), ("destination_mpid", destination_mpid)):
        if not users.filter(mpid=mpid).exists():
            raise UnknownUser(field)
    alias = IdentityAlias(
        connection=connection,
        request_id=request_id,
        source_mpid=source_mpid,
        destination_mpid=destination_mpid,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    IdentityAlias.objects.bulk_create([alias], ignore_conflicts=True)
