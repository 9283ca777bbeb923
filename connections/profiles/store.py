"""Reading and writing user profiles: one select and one upsert per wave of batches, and the
erasure of one user's profile.

A write names the ``version`` it read (``INSERT … ON CONFLICT … DO UPDATE … WHERE version =
read``, on PostgreSQL and SQLite alike). A row another worker stored meanwhile is not written:
it is read again and merged with ``mapping.profile.profile_join`` (attribute by attribute, the
later batch wins), then written under its new version. On PostgreSQL the first statement left
those rows locked, so the second one finds them unchanged; SQLite runs one writer at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from itertools import chain
from operator import or_
from typing import Any, Final

from django.db import connections
from django.db.models import Q

from connections.profiles.models import UserProfile
from connections.profiles.tuning import profile_limits
from mapping.objects import Profile
from mapping.profile import ProfileKey, profile_join
from mpbraze.sql import json_recordset

# (connection id, MPID, external identity when there is no MPID): one user's profile.
UserKey = tuple[int, int | None, str]
COLUMNS: Final = (
    "connection_id",
    "mpid",
    "external_id",
    "attributes",
    "stamps",
    "version",
    "last_batch_id",
    "updated_at",
)
ROUNDS: Final = 3  # a conflict resolves in one more round; more means something else is wrong


def user_key(connection_id: int, key: ProfileKey) -> UserKey:
    return (connection_id, key.mpid, "" if key.mpid is not None else key.external_id)


@dataclass(frozen=True)
class StoredProfile:
    """A profile as read (``version`` 0: none stored yet) or as it is to be written."""

    key: UserKey
    profile: Profile
    external_id: str
    version: int
    last_batch_id: int
    updated_at: datetime | None


def profiles_load(*, keys: Iterable[UserKey]) -> dict[UserKey, StoredProfile]:
    """The stored profiles of these users, in one query; users without one are left out."""
    by_connection: dict[int, tuple[set[int], set[str]]] = {}
    for connection_id, mpid, external_id in keys:
        mpids, external_ids = by_connection.setdefault(connection_id, (set(), set()))
        if mpid is not None:
            mpids.add(mpid)
        else:
            external_ids.add(external_id)
    if not by_connection:
        return {}
    found = UserProfile.objects.filter(
        reduce(or_, (_users_of(c, m, e) for c, (m, e) in by_connection.items()))
    )
    return {stored.key: stored for stored in map(_stored, found)}


def _users_of(connection_id: int, mpids: set[int], external_ids: set[str]) -> Q:
    by_mpid = Q(mpid__in=sorted(mpids)) if mpids else Q(pk__in=[])
    by_external_id = Q(mpid__isnull=True, external_id__in=sorted(external_ids))
    return Q(connection_id=connection_id) & (by_mpid | by_external_id if external_ids else by_mpid)


def _stored(row: UserProfile) -> StoredProfile:
    key = (row.connection_id, row.mpid, "" if row.mpid is not None else row.external_id)
    return StoredProfile(
        key=key,
        profile=Profile(row.attributes, row.stamps),
        external_id=row.external_id,
        version=row.version,
        last_batch_id=row.last_batch_id,
        updated_at=row.updated_at,
    )


def profiles_save(*, writes: Sequence[StoredProfile], now: datetime) -> None:
    """Write each profile if its row is still at the version it was read at (``version`` is
    the one read, 0 for a new user); merge and write again the rows another worker changed."""
    pending = list(writes)
    for _round in range(ROUNDS):
        written = _upsert(pending, now)
        pending = [write for write in pending if write.key not in written]
        if not pending:
            return
        pending = _merged(pending)
    raise RuntimeError(f"{len(pending)} user profiles kept changing while being written")


def _merged(writes: Sequence[StoredProfile]) -> list[StoredProfile]:
    """Ours joined with what is stored now (a row can also be gone: erased meanwhile)."""
    stored = profiles_load(keys=[write.key for write in writes])
    limits = profile_limits()
    merged = []
    for ours in writes:
        theirs = stored.get(ours.key)
        if theirs is None:
            merged.append(replace(ours, version=0))
            continue
        newer = ours.last_batch_id >= theirs.last_batch_id and ours.external_id
        merged.append(
            replace(
                theirs,
                profile=profile_join(theirs.profile, ours.profile, limits),
                external_id=ours.external_id if newer else theirs.external_id,
                last_batch_id=max(ours.last_batch_id, theirs.last_batch_id),
            )
        )
    return merged


def _upsert(writes: Sequence[StoredProfile], now: datetime) -> set[UserKey]:
    """One statement for the users keyed by MPID, one for the others; returns those written.
    Rows go in key order, so two workers lock shared users in the same order."""
    written: set[UserKey] = set()
    by_mpid = sorted((w for w in writes if w.key[1] is not None), key=lambda w: w.key)
    by_external_id = sorted((w for w in writes if w.key[1] is None), key=lambda w: w.key)
    if by_mpid:
        for connection_id, mpid in _execute(by_mpid, "mpid", "mpid IS NOT NULL", now):
            written.add((connection_id, mpid, ""))
    if by_external_id:
        target = "external_id"
        for connection_id, external_id in _execute(by_external_id, target, "mpid IS NULL", now):
            written.add((connection_id, None, external_id))
    return written


def _execute(
    writes: Sequence[StoredProfile], key: str, predicate: str, now: datetime
) -> list[tuple[Any, ...]]:
    db = connections[UserProfile.objects.db]
    table = db.ops.quote_name(str(UserProfile._meta.db_table))
    by_attname = {field.attname: field for field in UserProfile._meta.concrete_fields}
    fields = [by_attname[name] for name in COLUMNS]
    columns = ", ".join(db.ops.quote_name(str(field.column)) for field in fields)
    updated = ", ".join(f"{name} = excluded.{name}" for name in COLUMNS[2:])
    if db.vendor == "postgresql":
        rows, params = json_recordset(db, fields, (_values(w, now) for w in writes), "profile")
    else:
        preps = [field.get_db_prep_save for field in fields]
        cells = [  # by row, then by column
            [prep(value, db) for prep, value in zip(preps, _values(write, now), strict=True)]
            for write in writes
        ]
        row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        rows, params = f"VALUES {', '.join([row] * len(writes))}", list(chain(*cells))
    # Names from the model's metadata and this module; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) {rows}"
        f" ON CONFLICT (connection_id, {key}) WHERE {predicate}"
        f" DO UPDATE SET {updated} WHERE {table}.version = excluded.version - 1"
        f" RETURNING connection_id, {key}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(found) for found in cursor.fetchall()]


def _values(write: StoredProfile, now: datetime) -> tuple[Any, ...]:
    connection_id, mpid, _external_id = write.key
    profile = write.profile
    return (
        connection_id,
        mpid,
        write.external_id,
        profile.attributes,
        profile.stamps,
        write.version + 1,
        write.last_batch_id,
        now,
    )


def profile_erase(*, connection_id: int, mpid: int | None = None, external_id: str = "") -> int:
    """Forget one user's profile on one connection: the one of this MPID, and any of this
    external identity (keyed by it, or by an MPID the identity was last seen with). For the
    erasure of a data subject; returns the number of profiles deleted."""
    if mpid is None and not external_id:
        raise ValueError("Name the user to erase: an MPID, an external identity or both.")
    who = Q(mpid=mpid) if mpid is not None else Q(pk__in=[])
    if external_id:
        who |= Q(external_id=external_id)
    deleted, _by_model = UserProfile.objects.filter(who, connection_id=connection_id).delete()
    return deleted
