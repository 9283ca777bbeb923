"""Carrying out an accepted erasure, connection by connection: resolve the subject, wait for
any object of theirs already in flight, ask Braze to delete them (``/users/delete``), then
delete their data here. A connection finished is recorded, so a retry goes on from the next.

Braze's 429s and 5xx come back later (the delivery retry backoff, for up to
``MPBRAZE_RETRY_MAX_AGE_HOURS``); a refusal ends the request as failed, with the reason.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections import lifecycle
from connections.crypto.encryption import EncryptionKeyError
from connections.delivery.models import Delivery
from connections.delivery.tuning import delivery_config
from connections.dsr.braze_delete import DeleteResult, braze_users_delete
from connections.dsr.erasers import subject_erase_here
from connections.dsr.models import RUNNING, DataSubjectRequest
from connections.dsr.resolve import Subject, subject_resolve
from connections.dsr.services import dsr_request_finish, dsr_request_publish, dsr_request_status_set
from connections.models import Connection

Status = DataSubjectRequest.Status
LEASE = timedelta(minutes=10)
IN_FLIGHT_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Later:
    """Come back at ``at`` (None: after the next backoff step)."""

    reason: str
    at: datetime | None = None


def dsr_request_process(*, request_id: int) -> None:
    """One pass over the request's connections (quietly nothing when it is done or taken)."""
    request = _claim(request_id)
    if request is None:
        return
    outcome: Later | str | None = None
    for connection in Connection.objects.order_by("pk"):
        if request.results.get(str(connection.pk), {}).get("done"):
            continue
        outcome = _connection_erase(request, connection)
        if outcome is not None:
            break
    _settle(request, outcome)


def _claim(request_id: int) -> DataSubjectRequest | None:
    """Lease the request (two messages for it run it once) and mark it in progress."""
    now = timezone.now()
    with transaction.atomic():
        request = (
            DataSubjectRequest.objects.select_for_update()
            .filter(pk=request_id, status__in=RUNNING, next_attempt_at__lte=now)
            .first()
        )
        if request is None:
            return None
        request.attempts += 1
        request.next_attempt_at = now + LEASE
        request.save(update_fields=["attempts", "next_attempt_at"])
        if request.status == Status.PENDING:
            request.started_at = now
            dsr_request_status_set(request=request, status=Status.IN_PROGRESS)
    return request


def _connection_erase(request: DataSubjectRequest, connection: Connection) -> Later | str | None:
    """None when the connection is done; a ``Later`` to come back; a string: failed."""
    subject = subject_resolve(connection=connection, given=[(k, v) for k, v in request.identities])
    _widen_keys(request, subject)
    if _in_flight(subject):
        at = timezone.now() + timedelta(seconds=IN_FLIGHT_WAIT_SECONDS)
        return Later("an object of the subject is being sent; waiting for its answer", at)
    deleted = _at_braze(connection, subject)
    if isinstance(deleted, DeleteResult):
        return deleted.failure or Later(
            f"Braze did not take the deletes yet ({connection})", deleted.retry_at
        )
    with transaction.atomic():
        erased = subject_erase_here(subject)
        request.results[str(connection.pk)] = {
            "name": connection.name,
            "external_ids": len(subject.external_ids),
            "user_aliases": len(subject.alias_names),
            "braze_deleted": deleted,
            "erased_here": erased,
            "done": True,
        }
        request.save(update_fields=["results"])
    return None


def _widen_keys(request: DataSubjectRequest, subject: Subject) -> None:
    """Everything found of the subject joins what the forwarder's guard refuses to send."""
    mpids = sorted({*request.keys.get("mpids", []), *(str(m) for m in subject.mpids)})
    known = {tuple(pair) for pair in request.keys.get("identities", [])}
    identities = sorted(known | subject.identities)
    request.keys = {"mpids": mpids, "identities": [list(pair) for pair in identities]}
    DataSubjectRequest.objects.filter(pk=request.pk).update(keys=request.keys)


def _in_flight(subject: Subject) -> bool:
    """An object of the subject is in a request to Braze right now (claimed, lease alive):
    its answer comes first, so Braze deletes after it, never before."""
    keys = {*subject.external_ids, *subject.alias_names, *subject.values}
    sending = Delivery.objects.filter(
        connection=subject.connection,
        status=Delivery.Status.SENDING,
        lease_until__gt=timezone.now(),
    )
    return (
        sending.filter(batch_id__in=subject.batch_ids).exists()
        or sending.filter(user_key__in=keys).exists()
    )


def _at_braze(connection: Connection, subject: Subject) -> int | DeleteResult:
    """The count Braze queued for deletion, or the result that was not done."""
    output = connection.outputs.filter(platform="server").first()
    if output is None or not (subject.external_ids or subject.alias_names):
        return 0
    try:
        api_key = lifecycle.output_api_key(output=output)
    except EncryptionKeyError as error:
        return DeleteResult(failure=f"The Server output's API key cannot be decrypted ({error}).")
    result = braze_users_delete(
        output=output,
        api_key=api_key,
        external_ids=subject.external_ids,
        aliases=subject.user_aliases,
    )
    return result.deleted if result.done else result


def _settle(request: DataSubjectRequest, outcome: Later | str | None) -> None:
    with transaction.atomic():
        if outcome is None:
            dsr_request_finish(request=request, status=Status.COMPLETED, reason="")
        elif isinstance(outcome, str):
            dsr_request_finish(request=request, status=Status.FAILED, reason=outcome)
        else:
            _later(request, outcome)


def _later(request: DataSubjectRequest, later: Later) -> None:
    config = delivery_config()
    if timezone.now() - request.received_time > config.retry_max_age:
        hours = config.retry_max_age.total_seconds() / 3600
        reason = f"Not finished within {hours:g} h: {later.reason}."
        dsr_request_finish(request=request, status=Status.FAILED, reason=reason)
        return
    at = later.at or timezone.now() + _backoff(request.attempts, config.retry_backoff_seconds)
    request.next_attempt_at = at
    request.status_reason = later.reason
    request.save(update_fields=["next_attempt_at", "status_reason"])
    countdown = max(0.0, (at - timezone.now()).total_seconds())
    if countdown <= 300:
        transaction.on_commit(
            lambda: dsr_request_publish(request_id=request.pk, countdown=countdown)
        )


def _backoff(attempt: int, schedule: tuple[float, ...]) -> timedelta:
    seconds = schedule[min(attempt, len(schedule)) - 1] if schedule else 30.0
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def summary(request: DataSubjectRequest) -> dict[str, Any]:
    """Per connection, what was asked of Braze and erased here (for the API and the admin)."""
    return {k: v for k, v in request.results.items() if k.isdigit()}
