"""Failure groups: every dead or rejected row is counted under its connection and error kind.

The forwarder calls ``failure_group_record`` in the transaction that fails the rows, so a
group's count, first and last seen always agree with its rows. A resolved group that fails
again is reopened; ``failure_groups_settle`` resolves groups left without failed rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection as db
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from connections.audit.models import FailureGroup
from connections.delivery.models import FAILED_STATUSES, Delivery

OBJECT_ERROR = "braze_object_error"  # Braze refused one object of a request (errors[])
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class FailureKind:
    """What failures of one group share: how they ended and what Braze said."""

    kind: str
    status_class: str
    braze_error: str
    title: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.status_class}:{self.braze_error}"[:200]


def failure_kind(
    *, dead: bool, status_code: int | None, error_class: str, error: str, identify: bool = False
) -> FailureKind:
    """Dead rows group by HTTP status class (or network error); rejected rows by Braze's
    error type (per object) or by status and message (a whole request refused). Failed
    identifies (``/users/identify``) group apart from the objects of ``/users/track``."""
    kind = _failure_kind(dead, status_code, error_class, error)
    if not identify:
        return kind
    return FailureKind(
        kind.kind,
        kind.status_class,
        f"identify: {kind.braze_error}"[:200],
        f"Identify (merge of an anonymous profile): {kind.title}",
    )


def _failure_kind(dead: bool, status_code: int | None, error_class: str, error: str) -> FailureKind:
    if dead:
        status_class = f"{status_code // 100}xx" if status_code else error_class or "error"
        return FailureKind(
            FailureGroup.Kind.DEAD,
            status_class,
            "",
            f"Retries exhausted: {_describe(status_class)}",
        )
    if error_class == OBJECT_ERROR:
        braze_error = error[:200] or "rejected by Braze"
        return FailureKind(
            FailureGroup.Kind.REJECTED,
            str(status_code or ""),
            braze_error,
            f"Braze rejected the object: {braze_error}",
        )
    # Numbers inside a message (sizes, indexes) would make every request a group of its own.
    reason = _NUMBERS.sub("#", error)[:120] or error_class
    status_class = str(status_code) if status_code else error_class
    return FailureKind(
        FailureGroup.Kind.REJECTED,
        status_class,
        reason,
        f"Braze refused the request ({_describe(status_class)}): {reason}",
    )


def _describe(status_class: str) -> str:
    if status_class[:1].isdigit():
        return f"HTTP {status_class}"
    return status_class.replace("_", " ")


# One statement, on PostgreSQL and SQLite alike: the group is created or counted, its sample
# and last seen refreshed, and reopened if it had been resolved.
_UPSERT = """
INSERT INTO {table} AS g (connection_id, output_id, key, kind, status_class, braze_error,
    title, status, first_seen, last_seen, count, sample_delivery_id, sample_user,
    sample_message)
VALUES (%s, %s, %s, %s, %s, %s, %s, 'open', %s, %s, %s, %s, %s, %s)
ON CONFLICT (connection_id, key) DO UPDATE SET
    last_seen = excluded.last_seen,
    count = g.count + excluded.count,
    sample_delivery_id = excluded.sample_delivery_id,
    sample_user = excluded.sample_user,
    sample_message = excluded.sample_message,
    status = CASE WHEN g.status = 'resolved' THEN 'reopened' ELSE g.status END,
    resolved_at = NULL
RETURNING id
"""


def failure_group_record(
    *, rows: list[Delivery], kind: FailureKind, message: str, at: datetime
) -> int:
    """Count ``rows`` (of one output) under their group; returns the group's id."""
    sample = rows[0]
    sql = _UPSERT.format(table=db.ops.quote_name(FailureGroup._meta.db_table))
    params: list[Any] = [
        sample.connection_id,
        sample.output_id,
        kind.key,
        kind.kind,
        kind.status_class,
        kind.braze_error,
        kind.title[:300],
        at,
        at,
        len(rows),
        sample.pk,
        sample.user_key[:200],
        message[:2000],
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def failure_group_uncount(*, group_id: int, rows: int) -> None:
    """Rows counted that another worker had taken meanwhile (a lost claim): not failed here."""
    if rows:
        FailureGroup.objects.filter(pk=group_id).update(count=F("count") - rows)


def failure_groups_settle(*, group_ids: Iterable[int], now: datetime | None = None) -> int:
    """Resolve the groups none of whose rows is still failed (replayed or discarded)."""
    still_failed = Delivery.objects.filter(failure_group=OuterRef("pk"), status__in=FAILED_STATUSES)
    return (
        FailureGroup.objects.filter(pk__in=list(group_ids))
        .exclude(status=FailureGroup.Status.RESOLVED)
        .exclude(Exists(still_failed))
        .update(status=FailureGroup.Status.RESOLVED, resolved_at=now or timezone.now())
    )
