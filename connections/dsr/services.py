"""Accepting, cancelling and finishing data subject requests (docs/erasure.md).

Accepting is the cut-off: the request is committed with the subject's MPIDs and identities as
``keys``, which the forwarder's guard (``connections.dsr.guard``) reads before every send, so
no object of the subject leaves for Braze once the answer is given. The work itself
(``connections.dsr.processing``) runs in a task published after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import suppress
from functools import reduce
from operator import or_
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connections.delivery.tuning import delivery_config
from connections.dsr.callbacks import dsr_callbacks_record
from connections.dsr.identities import KINDS, MPID
from connections.dsr.models import DataSubjectRequest
from connections.dsr.parsing import DsrDraft
from connections.hooks import events
from connections.hooks.services import hook_event_emit
from connections.identity.models import IdentityRecord
from mpbraze.publish import publish

logger = logging.getLogger(__name__)
Status = DataSubjectRequest.Status
PROCESS_TASK = "mpbraze.dsr_request_process"


class DsrConflict(Exception):
    """The id names an existing request that asked something else, or a change not allowed."""


def body_digest(body: dict[str, Any]) -> str:
    """The same request sent again digests alike, whatever its key order or spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dsr_request_create(
    *, draft: DsrDraft, body: dict[str, Any], user: User | None
) -> tuple[DataSubjectRequest, bool]:
    """Accept an erasure, or answer the existing request of the same id (``created`` False);
    ``DsrConflict`` when that id asked for something else."""
    digest = body_digest(body)
    existing = DataSubjectRequest.objects.filter(subject_request_id=draft.subject_request_id)
    if (found := existing.first()) is not None:
        return _repeat(found, digest), False
    try:
        with transaction.atomic():
            request = _create(draft, digest, user)
    except IntegrityError:  # the same id accepted at the same moment by another process
        return _repeat(existing.get(), digest), False
    return request, True


def _repeat(found: DataSubjectRequest, digest: str) -> DataSubjectRequest:
    if found.body_digest != digest:
        raise DsrConflict(
            f"Subject request {found.subject_request_id} exists already with another body;"
            " a new request needs a new subject_request_id."
        )
    return found


def _create(draft: DsrDraft, digest: str, user: User | None) -> DataSubjectRequest:
    now = timezone.now()
    request = DataSubjectRequest.objects.create(
        subject_request_id=draft.subject_request_id,
        subject_request_type=draft.subject_request_type,
        regulation=draft.regulation,
        api_version=draft.api_version,
        submitted_time=draft.submitted_time,
        expected_completion_time=now + delivery_config().retry_max_age,
        requested_by=user,
        body_digest=digest,
        identities=[list(pair) for pair in draft.identities],
        keys=initial_keys(draft.identities),
        callback_urls=draft.callback_urls,
        next_attempt_at=now,
    )
    dsr_callbacks_record(request=request)
    transaction.on_commit(lambda: dsr_request_publish(request_id=request.pk), robust=True)
    return request


def initial_keys(identities: list[tuple[str, str]]) -> dict[str, list[Any]]:
    """What the guard knows the subject by from the moment of acceptance: the MPIDs given,
    the MPIDs the identity store holds for the identities given, and the identities."""
    typed = [(k, v) for k, v in identities if k != MPID]
    mpids = {int(v) for k, v in identities if k == MPID}
    wanted = [Q(identity_type=KINDS[k].store_type, value=v) for k, v in typed if k in KINDS]
    if wanted:
        stored = IdentityRecord.objects.filter(reduce(or_, wanted))
        mpids |= set(stored.values_list("mpid", flat=True))
    return {"mpids": sorted(str(m) for m in mpids), "identities": [list(p) for p in typed]}


def dsr_request_publish(*, request_id: int, countdown: float = 0) -> None:
    """Publish the processing task; a broker outage leaves it to the beat's sweep."""
    with suppress(Exception):
        publish(PROCESS_TASK, args=(request_id,), countdown=countdown)


def dsr_request_cancel(*, request: DataSubjectRequest) -> DataSubjectRequest:
    """OpenDSR's cancellation: only while the request is still pending."""
    with transaction.atomic():
        locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != Status.PENDING:
            raise DsrConflict(
                f"Subject request {locked.subject_request_id} is {locked.status}; only a"
                " pending request can be cancelled."
            )
        dsr_request_finish(request=locked, status=Status.CANCELLED, reason="")
    return locked


def dsr_request_status_set(*, request: DataSubjectRequest, status: str) -> None:
    """Move to ``status`` (saved) and owe the callbacks; in the caller's transaction."""
    request.status = status
    request.save(update_fields=["status", "started_at"])
    dsr_callbacks_record(request=request)


def dsr_request_finish(*, request: DataSubjectRequest, status: str, reason: str) -> None:
    """End the request: completed, failed (with the reason) or cancelled. The subject's
    identities are forgotten, only their counts kept; callbacks and REST hooks follow."""
    request.status = status
    request.status_reason = reason[:2000]
    request.finished_at = timezone.now()
    request.next_attempt_at = None
    request.results = {**request.results, "identities_given": len(request.identities)}
    request.identities, request.keys = [], {}
    request.save()
    dsr_callbacks_record(request=request)
    _hook(request)


def _hook(request: DataSubjectRequest) -> None:
    event = {Status.COMPLETED: events.DSR_COMPLETED, Status.FAILED: events.DSR_FAILED}.get(
        Status(request.status)
    )
    if event is None:
        return
    data = {
        "subject_request_id": str(request.subject_request_id),
        "status": request.status,
        "reason": request.status_reason,
        "connections": [
            {"id": int(pk), **{k: v for k, v in result.items() if k != "done"}}
            for pk, result in request.results.items()
            if pk.isdigit()
        ],
    }
    hook_event_emit(event=event, data=data, dedupe_key=f"dsr:{request.pk}:{request.status}")
