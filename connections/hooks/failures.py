"""``delivery.dead_lettered`` and ``delivery.rejected``, aggregated per connection per minute.

The outbox counts failed rows in the transaction that fails them (one upsert, only while a
subscription wants the event); the hooks sweep turns each closed minute into one event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection as db
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from connections.hooks.events import (
    DELIVERY_DEAD_LETTERED,
    DELIVERY_REJECTED,
    absolute_link,
    connection_data,
)
from connections.hooks.models import HookFailureCount
from connections.hooks.services import hook_event_emit, hook_events_wanted

# A minute is flushed this long after it ended: a transaction that counted rows in its last
# second has committed by then.
CLOSE_AFTER = timedelta(minutes=1)

_UPSERT = """
INSERT INTO {table} AS c (event, connection_id, minute, kind, title, count)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (event, connection_id, minute, kind) DO UPDATE SET count = c.count + excluded.count
"""


def hook_failures_count(
    *, dead: bool, connection_id: int, kind: str, title: str, rows: int, at: datetime
) -> None:
    """Count ``rows`` failed rows of a connection under their minute and kind (one
    statement; none when nobody subscribes to the event)."""
    event = DELIVERY_DEAD_LETTERED if dead else DELIVERY_REJECTED
    if rows <= 0 or event not in hook_events_wanted():
        return
    minute = at.replace(second=0, microsecond=0)
    sql = _UPSERT.format(table=db.ops.quote_name(HookFailureCount._meta.db_table))
    with db.cursor() as cursor:
        cursor.execute(sql, [event, connection_id, minute, kind[:200], title[:300], rows])


def hook_failures_flush(*, now: datetime | None = None) -> int:
    """One event per (event, connection, minute) of the closed minutes; their counts are
    deleted in the same transaction. Returns the number of events recorded."""
    now = now or timezone.now()
    closed_before = now.replace(second=0, microsecond=0) - CLOSE_AFTER
    with transaction.atomic():
        counts = list(
            HookFailureCount.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("connection")
            .filter(minute__lt=closed_before)
            .order_by("minute", "connection_id", "event", "-count")
        )
        groups: dict[tuple[str, int, datetime], list[HookFailureCount]] = defaultdict(list)
        for row in counts:
            groups[(row.event, row.connection_id, row.minute)].append(row)
        for rows in groups.values():
            first = rows[0]
            hook_event_emit(event=first.event, connection=first.connection, data=_data(rows))
        HookFailureCount.objects.filter(pk__in=[row.pk for row in counts]).delete()
    return len(groups)


def _data(rows: list[HookFailureCount]) -> dict[str, Any]:
    first = rows[0]
    link = reverse("admin:connections_failedsend_changelist")
    return {
        "connection": connection_data(first.connection),
        "minute": first.minute.isoformat().replace("+00:00", "Z"),
        "count": sum(row.count for row in rows),
        "failures": [{"kind": row.title, "count": row.count} for row in rows],
        "link": absolute_link(f"{link}?{urlencode({'connection': first.connection_id})}"),
    }
