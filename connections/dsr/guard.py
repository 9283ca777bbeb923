"""The forwarder's guard: no object of a subject whose erasure was accepted leaves for Braze.

Read by the delivery path just before it plans requests and again just before it records and
sends them. While no erasure runs it costs one query of an index that holds only running
requests. A row belongs to the subject when its batch (a batch is one user's) carries one of
the subject's MPIDs or identities, or when the row itself is keyed by one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connections.delivery.models import Delivery, InboundBatch
from connections.dsr.identities import KINDS
from connections.dsr.models import RUNNING, DataSubjectRequest


class SubjectKeys:
    """The MPIDs and typed identities of the subjects of every running erasure."""

    def __init__(self, mpids: Iterable[str], identities: Iterable[tuple[str, str]]) -> None:
        self.mpids = frozenset(mpids)
        self.identities = frozenset(identities)
        self.values = frozenset(value for _, value in self.identities) | self.mpids

    def __bool__(self) -> bool:
        return bool(self.mpids or self.identities)

    def batch_matches(self, mpid: Any, user_identities: Any) -> bool:
        """Whether a batch with this ``mpid`` and ``user_identities`` is the subject's."""
        if mpid is not None and str(mpid).strip() in self.mpids:
            return True
        if not isinstance(user_identities, Mapping):
            return False
        for key, value in self.identities:
            kind = KINDS.get(key)
            names = (key, *kind.batch_spellings) if kind else (key,)
            if any(user_identities.get(name) == value for name in names):
                return True
        return False

    def row_matches(self, row: Delivery) -> bool:
        """A row keyed by the subject: its external id, or the MPID of its user alias."""
        alias = row.body.get("user_alias") if isinstance(row.body, dict) else None
        alias_name = alias.get("alias_name") if isinstance(alias, dict) else None
        return row.user_key in self.values or alias_name in self.mpids


def running_subject_keys() -> SubjectKeys:
    """What every running erasure's subject is known by so far."""
    mpids: list[str] = []
    identities: list[tuple[str, str]] = []
    for keys in DataSubjectRequest.objects.filter(status__in=RUNNING).values_list(
        "keys", flat=True
    ):
        mpids += [str(m) for m in keys.get("mpids", [])]
        identities += [(str(k), str(v)) for k, v in keys.get("identities", [])]
    return SubjectKeys(mpids, identities)


def erased_row_ids(rows: Sequence[Delivery]) -> set[int]:
    """The ids of ``rows`` whose subject's erasure runs (empty at once while none does)."""
    if not rows:
        return set()
    keys = running_subject_keys()
    if not keys:
        return set()
    erased = {row.pk for row in rows if keys.row_matches(row)}
    batches = (
        InboundBatch.objects.filter(pk__in={row.batch_id for row in rows})
        .values_list("pk", "payload__mpid", "payload__user_identities")
        .iterator()
    )
    subject_batches = {pk for pk, mpid, ids in batches if keys.batch_matches(mpid, ids)}
    return erased | {row.pk for row in rows if row.batch_id in subject_batches}


def erased_rows_drop(rows: Sequence[Delivery]) -> list[Delivery]:
    """``rows`` without those of a subject being erased, which are deleted here and now."""
    erased = erased_row_ids(rows)
    if erased:
        Delivery.objects.filter(pk__in=erased).delete()
    return [row for row in rows if row.pk not in erased]
