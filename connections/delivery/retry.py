"""Retry now: after a fix, objects waiting in backoff need not wait for their schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from connections.delivery.models import Delivery
from connections.delivery.schedule import forward_schedule
from connections.models import Connection, Platform

RETRY_NOW = "Retry now"


@dataclass(frozen=True)
class RetryNow:
    """One use of Retry now, as the connection's history records it."""

    objects: int
    at: datetime
    by: str  # a user name, or "mpbraze" when it followed a passing test by itself


def connection_retry_now(
    *, connection: Connection, user: Any = None, after_test: bool = False
) -> RetryNow:
    """Make every object of the connection that waits for a later attempt due at once,
    record who did it and when in the connection's history, and start forwarding.

    ``after_test``: a passing connectivity check resumed the connection and does this by
    itself; it is recorded only when objects were waiting."""
    now = timezone.now()
    person = user if isinstance(user, User) else None
    with transaction.atomic():
        due = Delivery.objects.filter(
            connection_id=connection.pk, status=Delivery.Status.QUEUED, next_attempt_at__gt=now
        ).update(next_attempt_at=now)
        if due or not after_test:
            _record(connection, person, due, after_test=after_test)
        for output_id in _server_outputs(connection):
            forward_schedule(output_id=output_id, at=now)
    return RetryNow(objects=due, at=now, by=person.get_username() if person else "mpbraze")


def _record(connection: Connection, user: User | None, due: int, *, after_test: bool) -> None:
    """A history row of the connection (its fields as they are, read under a lock)."""
    fresh = Connection.objects.select_for_update().get(pk=connection.pk)
    cause = " after a passing test" if after_test else ""
    fresh._change_reason = f"{RETRY_NOW}{cause}: {due} waiting object{'' if due == 1 else 's'}"  # type: ignore[attr-defined]
    fresh._history_user = user  # type: ignore[attr-defined]
    fresh.save(update_fields=["updated_at"])


def _server_outputs(connection: Connection) -> list[int]:
    return list(connection.outputs.filter(platform=Platform.SERVER).values_list("pk", flat=True))
