"""Forgetting a subject here, one eraser per kind of data that names users.

A table another part of mpbraze adds that is keyed by user joins the list with one line:
``keyed_rows("connections.UserProfile", mpid="mpid", external_id="external_id")`` deletes its
rows of the connection whose MPID or external id is the subject's. Each eraser returns how
many rows it deleted (or cleared) and runs in the transaction of the connection's erasure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q

from connections.audit.models import FailureGroup
from connections.delivery.models import Delivery, InboundBatch
from connections.dsr.resolve import Subject
from connections.identity.models import IdentityAlias
from connections.merging.models import AnonymousProfile
from mapping.models import MappingIssue


@dataclass(frozen=True)
class Eraser:
    name: str
    erase: Callable[[Subject], int]


def keyed_rows(
    model_label: str, *, mpid: str | None = None, external_id: str | None = None
) -> Eraser:
    """Rows of ``model_label`` (``app.Model``, with a ``connection`` foreign key) whose
    ``mpid`` field is one of the subject's MPIDs or ``external_id`` field one of their ids."""

    def erase(subject: Subject) -> int:
        model = apps.get_model(model_label)
        clauses = Q(pk__in=[])
        if mpid:
            clauses |= Q(**{f"{mpid}__in": subject.mpids})
        if external_id:
            names = {*subject.external_ids, *subject.values}
            clauses |= Q(**{f"{external_id}__in": names})
        deleted, _ = model.objects.filter(connection=subject.connection).filter(clauses).delete()
        return int(deleted)

    return Eraser(model_label.split(".")[-1], erase)


def outbox_rows(subject: Subject) -> int:
    """Every outbox row of the subject, whatever its state (queued, failed, sent)."""
    keys = {*subject.external_ids, *subject.alias_names, *subject.values}
    rows = Delivery.objects.filter(connection=subject.connection).filter(
        Q(batch_id__in=subject.batch_ids) | Q(user_key__in=keys)
    )
    deleted, _ = rows.delete()
    return int(deleted)


def stored_batches(subject: Subject) -> int:
    """The subject's batches as received (a batch is one user's)."""
    deleted, _ = InboundBatch.objects.filter(pk__in=subject.batch_ids).delete()
    return int(deleted)


def identity_aliases(subject: Subject) -> int:
    """The Web SDK's alias requests naming any of the subject's MPIDs."""
    mpids = subject.mpids
    aliases = IdentityAlias.objects.filter(connection=subject.connection).filter(
        Q(source_mpid__in=mpids) | Q(destination_mpid__in=mpids)
    )
    deleted, _ = aliases.delete()
    return int(deleted)


def anonymous_profiles(subject: Subject) -> int:
    """What the outputs remember of the subject's anonymous MPIDs (their identify at login)."""
    rows = AnonymousProfile.objects.filter(output__connection=subject.connection).filter(
        Q(mpid__in=[str(mpid) for mpid in subject.mpids])
        | Q(external_id__in={*subject.external_ids, *subject.values})
    )
    deleted, _ = rows.delete()
    return int(deleted)


def mapping_issue_samples(subject: Subject) -> int:
    """Mapping issues keep counts; a sample that names the subject is cleared."""
    cleared = 0
    for issue in MappingIssue.objects.filter(connection=subject.connection):
        if _names(subject, issue.example_value, issue.sample_event, issue.sample_sent):
            MappingIssue.objects.filter(pk=issue.pk).update(
                example_value="", sample_event=None, sample_sent=None
            )
            cleared += 1
    return cleared


def failure_group_samples(subject: Subject) -> int:
    """Failure groups keep counts; a sample row of the subject is forgotten."""
    groups = FailureGroup.objects.filter(
        connection=subject.connection,
        sample_user__in={*subject.external_ids, *subject.alias_names, *subject.values},
    )
    return groups.update(sample_user="", sample_message="", sample_delivery_id=None)


def _names(subject: Subject, *samples: Any) -> bool:
    text = json.dumps(samples, ensure_ascii=False, default=str)
    return any(value in text for value in subject.values)


ERASERS: list[Eraser] = [
    Eraser("outbox rows", outbox_rows),
    Eraser("stored batches", stored_batches),
    keyed_rows("connections.IdentityRecord", mpid="mpid"),
    Eraser("identity aliases", identity_aliases),
    keyed_rows("connections.UserProfile", mpid="mpid", external_id="external_id"),
    Eraser("anonymous profiles", anonymous_profiles),
    Eraser("mapping issue samples", mapping_issue_samples),
    Eraser("failure group samples", failure_group_samples),
]


def subject_erase_here(subject: Subject) -> dict[str, int]:
    """Run every eraser; the count of each by name."""
    return {eraser.name: eraser.erase(subject) for eraser in ERASERS}
