"""Who the subject is on one connection: their MPIDs, every identity their batches carried,
their stored batches and identity records, and the Braze ids the Server output keys them by.

Starts from what the request names, looks in the identity store (with the Web SDK's aliases of
anonymous users to known ones) and in the batches (a batch
is one user's), then once more in the batches of every MPID found, so an email given for a
user whose customer id arrived in another batch still finds that customer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Q

from connections.delivery.models import InboundBatch
from connections.dsr.identities import KINDS, MPID, mpid_parse
from connections.identity.models import IdentityAlias, IdentityRecord
from connections.models import BrazeOutput, Connection
from mapping.identity import ALIAS_LABEL
from mapping.output_settings import AnonymousUsers, ExternalIdentityType

Identity = tuple[str, str]  # (batch key, value)


@dataclass
class Subject:
    """The subject as one connection knows them."""

    connection: Connection
    mpids: set[int] = field(default_factory=set)
    identities: set[Identity] = field(default_factory=set)
    batch_ids: set[int] = field(default_factory=set)
    external_ids: list[str] = field(default_factory=list)
    alias_names: list[str] = field(default_factory=list)  # MPIDs, as the user aliases name them

    @property
    def values(self) -> set[str]:
        """Every string that names the subject: to find them in samples and row keys."""
        return {value for _, value in self.identities} | {str(m) for m in self.mpids}

    @property
    def user_aliases(self) -> list[dict[str, str]]:
        return [{"alias_name": name, "alias_label": ALIAS_LABEL} for name in self.alias_names]


def subject_resolve(*, connection: Connection, given: Iterable[Identity]) -> Subject:
    """The subject of ``given`` (identities and ``mpid`` pairs) on ``connection``."""
    given = list(given)
    subject = Subject(connection)
    subject.identities = {(k, v) for k, v in given if k != MPID}
    subject.mpids = {m for k, v in given if k == MPID and (m := mpid_parse(v)) is not None}
    subject.mpids |= _stored_mpids(connection, subject.identities)
    subject.mpids |= _aliased_mpids(connection, subject.mpids)
    _absorb(subject, _batches(connection, subject.mpids, subject.identities))
    _absorb(subject, _batches(connection, subject.mpids, set()))
    _braze_ids(subject, connection.outputs.filter(platform="server").first())
    return subject


def _stored_mpids(connection: Connection, identities: set[Identity]) -> set[int]:
    if not identities:
        return set()
    wanted = [Q(identity_type=KINDS[k].store_type, value=v) for k, v in identities if k in KINDS]
    records = IdentityRecord.objects.filter(connection=connection).filter(reduce(or_, wanted))
    return set(records.values_list("mpid", flat=True))


def _aliased_mpids(connection: Connection, mpids: set[int]) -> set[int]:
    """The users the Web SDK aliased to or from these: the anonymous MPID a visitor had
    before logging in is the same person."""
    if not mpids:
        return set()
    pairs = IdentityAlias.objects.filter(connection=connection).filter(
        Q(source_mpid__in=mpids) | Q(destination_mpid__in=mpids)
    )
    return {mpid for pair in pairs.values_list("source_mpid", "destination_mpid") for mpid in pair}


def _batches(
    connection: Connection, mpids: set[int], identities: set[Identity]
) -> list[tuple[int, object, object]]:
    """(id, mpid, user_identities) of the connection's batches naming any of these."""
    clauses = [Q(payload__mpid__in=[*mpids, *(str(m) for m in mpids)])] if mpids else []
    for key, value in identities:
        names = (key, *KINDS[key].batch_spellings) if key in KINDS else (key,)
        clauses += [Q(**{f"payload__user_identities__{name}": value}) for name in names]
    if not clauses:
        return []
    batches = InboundBatch.objects.filter(connection=connection).filter(reduce(or_, clauses))
    return list(batches.values_list("pk", "payload__mpid", "payload__user_identities"))


def _absorb(subject: Subject, batches: list[tuple[int, object, object]]) -> None:
    for pk, mpid, user_identities in batches:
        subject.batch_ids.add(pk)
        number = mpid_parse(str(mpid)) if mpid is not None else None
        if number is not None:
            subject.mpids.add(number)
        if isinstance(user_identities, dict):
            subject.identities |= _known(user_identities)


def _known(user_identities: dict[str, object]) -> set[Identity]:
    found: set[Identity] = set()
    for key, kind in KINDS.items():
        for name in (key, *kind.batch_spellings):
            value = user_identities.get(name)
            if isinstance(value, str) and value.strip():
                found.add((key, value))
    return found


def _braze_ids(subject: Subject, output: BrazeOutput | None) -> None:
    """The ``external_id``s and user aliases the Server output sent this subject under."""
    if output is None:
        return
    kind = output.external_identity_type
    if kind == ExternalIdentityType.MPID.value:
        subject.external_ids = sorted(str(m) for m in subject.mpids)
    else:
        subject.external_ids = sorted(v for k, v in subject.identities if k == kind)
    if output.forwarding.anonymous_users is AnonymousUsers.USER_ALIAS:
        subject.alias_names = sorted(str(m) for m in subject.mpids)
