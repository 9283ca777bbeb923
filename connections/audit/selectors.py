"""Reading failed sends: one set of filters for the admin list, its CSV and replays.

The filters take the admin's query-string values, so "everything matching the current
filter" means the same rows on the page, in the CSV, in the dry run and in the replay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from connections.audit.models import ReplayRun
from connections.delivery.models import FAILED_STATUSES, Delivery
from connections.models import Connection, Platform
from connections.rules.field_errors import FieldError
from connections.rules.ids import parse_id

Status = Delivery.Status
OPEN = FAILED_STATUSES
STATES: dict[str, Q] = {
    "open": Q(status__in=OPEN),
    "replayed": Q(replay_count__gt=0) & ~Q(status__in=[*OPEN, Status.DISCARDED]),
    "discarded": Q(status=Status.DISCARDED),
    "all": Q(),
}
DEFAULT_STATE = "open"
# The platform of a row is that of its source batch (mParticle's device_info.platform).
SOURCE_PLATFORM = "batch__payload__device_info__platform"


class SelectionError(FieldError):
    """A filter value that cannot be used, named by its field."""


def _integer(field: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SelectionError(field, f"expected a whole number, got {value[:40]!r}") from None


def _id(field: str, value: str) -> int:
    try:
        return parse_id(field, value)
    except FieldError as error:
        raise SelectionError(field, error.message) from None


def parse_moment(field: str, value: str) -> datetime:
    """A date (its start, in the site's zone) or a full ISO 8601 time."""
    try:
        moment = parse_datetime(value)
        day = None if moment else parse_date(value)
    except ValueError:
        moment = day = None
    if day is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise SelectionError(field, f"expected a date such as 2026-12-01, got {value[:40]!r}")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _state(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    if value not in STATES:
        raise SelectionError("state", f"expected one of {', '.join(STATES)}")
    return rows.filter(STATES[value])


def _platform(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    if value == Platform.SERVER:  # no device: sent by a server SDK or the Events API alone
        return rows.filter(**{f"{SOURCE_PLATFORM}__isnull": True})
    if value not in Platform.values:
        raise SelectionError("platform", f"expected one of {', '.join(Platform.values)}")
    return rows.filter(**{f"{SOURCE_PLATFORM}__iexact": value})


def _status(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    if value not in Status.values:
        raise SelectionError("status", f"expected one of {', '.join(Status.values)}")
    return rows.filter(status=value)


def _search(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    text = value.strip()[:200]
    return rows.filter(
        Q(user_key__icontains=text) | Q(event_name__icontains=text) | Q(last_error__icontains=text)
    )


def _since(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    return rows.filter(failed_at__gte=parse_moment("failed_since", value))


def _before(rows: QuerySet[Delivery], value: str) -> QuerySet[Delivery]:
    moment = parse_moment("failed_before", value)
    if len(value) <= 10:  # a date: the whole day is included
        moment += timedelta(days=1)
    return rows.filter(failed_at__lt=moment)


FILTERS: dict[str, Callable[[QuerySet[Delivery], str], QuerySet[Delivery]]] = {
    "connection": lambda rows, v: rows.filter(connection_id=_id("connection", v)),
    "group": lambda rows, v: rows.filter(failure_group_id=_id("group", v)),
    "kind": lambda rows, v: rows.filter(failure_group__kind=v),
    "error_class": lambda rows, v: rows.filter(error_class=v),
    "status_code": lambda rows, v: rows.filter(last_status_code=_integer("status_code", v)),
    "braze_error": lambda rows, v: rows.filter(failure_group__braze_error=v),
    "platform": _platform,
    "state": _state,
    "status": _status,
    "failed_since": _since,
    "failed_before": _before,
    "q": _search,
}


def failed_sends(
    params: Mapping[str, str], *, base: QuerySet[Delivery] | None = None
) -> QuerySet[Delivery]:
    """Rows that ever failed, narrowed by ``params`` (unknown names are ignored; the state
    is "open", dead or rejected, unless asked). Raises ``SelectionError`` for a bad value."""
    rows = Delivery.objects.filter(failed_at__isnull=False) if base is None else base
    values = {"state": DEFAULT_STATE, **{k: v for k, v in params.items() if v != ""}}
    for name, value in values.items():
        if name in FILTERS:
            rows = FILTERS[name](rows, str(value))
    return rows


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of a selection would do, counted before anything changes."""

    matched: int
    users: int
    accepted: int  # Braze took them already: skipped unless forced
    pending: int  # queued or being sent right now: skipped
    paused: dict[str, str]  # connection name → why its rows cannot be replayed now

    @property
    def to_send(self) -> int:
        return self.matched - self.accepted - self.pending

    def summary(self, *, force: bool = False) -> str:
        if not self.matched:
            return "No failed send matches this filter."
        skipped = "will be resent (forced)" if force else "will be skipped"
        return (
            f"{self.matched} rows, {self.users} users; {self.accepted} already accepted by Braze"
            f" {skipped}; {self.pending} already queued will be skipped."
        )


def replay_plan(rows: QuerySet[Delivery]) -> ReplayPlan:
    """Counts of a selection in two aggregate queries, and the connections that refuse."""
    totals = rows.aggregate(
        matched=Count("pk"),
        accepted=Count("pk", filter=Q(status=Status.SENT)),
        pending=Count("pk", filter=Q(status__in=[Status.QUEUED, Status.SENDING])),
    )
    users = rows.order_by().values("connection_id", "user_key").distinct().count()
    connection_ids = rows.order_by().values("connection_id").distinct()
    refusals = {
        c.name: connection_refusal(c) for c in Connection.objects.filter(pk__in=connection_ids)
    }
    paused = {name: why for name, why in refusals.items() if why}
    return ReplayPlan(totals["matched"], users, totals["accepted"], totals["pending"], paused)


def connection_refusal(connection: Connection) -> str | None:
    """Why rows of ``connection`` cannot be replayed now, or None."""
    if not connection.enabled:
        return f"{connection} is disabled: enable it before replaying its rows."
    if connection.paused_reason:
        return (
            f"{connection} is paused ({connection.paused_reason}). Fix the cause and pass a"
            " connectivity test to resume it, then replay."
        )
    return None


def replay_run_progress(run: ReplayRun) -> dict[str, int]:
    """Where the rows a run acted on stand now (sent, queued, failed again, discarded)."""
    counts = run.deliveries.order_by().values("status").annotate(n=Count("pk"))
    return {row["status"]: row["n"] for row in counts}
