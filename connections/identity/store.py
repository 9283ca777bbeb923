"""Issuing MPIDs: a known identity maps to one MPID for ever, a device stamp to its own.

Every write is an insert that a unique constraint may refuse (``ignore_conflicts``), followed
by a read of what is stored: two requests for one new identity at once both insert, one row
survives, and both answer its MPID. No lock is taken in Python.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from connections.identity.models import DEVICE_STAMP, IdentityRecord
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


@dataclass(frozen=True)
class IdentityAnswer:
    mpid: int
    is_logged_in: bool
    matched_identities: dict[str, str]


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
        mpid = _claim(connection, {DEVICE_STAMP: device_stamp}, new_mpid())
    else:
        mpid = new_mpid()  # nothing to remember it by: an MPID for this request only
    logged_in = any(name in LOGIN_IDENTITY_TYPES for name in known)
    return IdentityAnswer(mpid=mpid, is_logged_in=logged_in, matched_identities=dict(known))


def identity_modify(*, connection: Connection, mpid: int, changes: Mapping[str, str]) -> None:
    """Give the user ``mpid`` these identities; raises IdentityTaken for one another user has."""
    _insert(connection, changes, mpid)
    stored = _stored(connection, changes)
    for name in changes:
        if stored[name] != mpid:
            raise IdentityTaken(name)


def _known_user(connection: Connection, known: Mapping[str, str]) -> int:
    stored = _stored(connection, known)
    first = next((stored[name] for name in known if name in stored), None)
    return _claim(connection, known, new_mpid() if first is None else first)


def _claim(connection: Connection, identities: Mapping[str, str], candidate: int) -> int:
    """Store each identity with ``candidate`` unless it is stored; the MPID of the first."""
    _insert(connection, identities, candidate)
    stored = _stored(connection, identities)
    return stored[next(iter(identities))]


def _insert(connection: Connection, identities: Mapping[str, str], mpid: int) -> None:
    records = [
        IdentityRecord(connection=connection, identity_type=name, value=value, mpid=mpid)
        for name, value in identities.items()
    ]
    IdentityRecord.objects.bulk_create(records, ignore_conflicts=True)


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
