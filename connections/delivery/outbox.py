"""Outbox row state changes: claim, sent, rejected, retry with backoff, dead, released.

A claim stamps its rows with a token. Every later change is a conditional update on rows
still ``sending`` under that token, so a worker whose lease expired (and whose rows another
worker claimed since) changes nothing: a row is never finished by two workers.
"""

from __future__ import annotations

import enum
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import F, JSONField, Min, Q, QuerySet
from django.utils import timezone

from connections.audit import failures
from connections.delivery import groups
from connections.delivery.models import Delivery
from connections.delivery.tuning import delivery_config
from connections.hooks.failures import hook_failures_count
from connections.metrics.definitions import DEAD, REJECTED, RETRIED, record_rows
from connections.models import BrazeOutput
from mpbraze.jsoncodec import loads

Status = Delivery.Status
JITTER = 0.2
# A user's later rows wait this long for an earlier row another worker is sending.
ORDER_HOLD = timedelta(seconds=1)
Position = tuple[int, int]  # a row's (batch, sequence): the order a user's objects keep
# A claim's first look assumes rows of this many objects (a 10-event batch's row holds 11).
FIRST_PAGE_OBJECTS_PER_ROW = 16
# What choosing the rows needs (the first statement of a claim), and what sending them needs
# (returned by the second, which takes them). Loading no more (no error text, no other
# timestamps, which Django parses in Python) keeps the claim's cost per row low.
CHOSEN_FIELDS = ("batch_id", "sequence", "kind", "user_key", "event_index", "size")
CLAIMED_FIELDS = (
    "connection_id",
    "output_id",
    *CHOSEN_FIELDS,
    "event_name",
    "body",
    "more",
    "attempts",
    "created_at",
    "split_depth",
    "status",
    "claim_token",
    "lease_until",
)


@dataclass
class Claim:
    """Rows one worker holds under ``token`` until ``lease_until``."""

    token: str
    rows: list[Delivery]
    full: bool = False  # the claim reached its limit: more due rows are waiting
    held_until: datetime | None = None  # the soonest a row held back for order comes due
    follows: bool = False  # taken ahead: to be checked for order before it is sent
    # Rows held back for order behind rows in flight, by the token of the claim sending those
    # (``HeldBehind``: another lane of this task wakes them when it has its answers).
    behind: dict[str, list[int]] = field(default_factory=dict)
    lease_until: datetime | None = None
    taken_at: datetime | None = None

    @property
    def lease_left(self) -> float:
        if self.lease_until is None:
            return 0.0
        return (self.lease_until - timezone.now()).total_seconds()


@dataclass(frozen=True)
class Failure:
    """Why a request failed, as stored on its rows."""

    status_code: int | None
    error_class: str
    error: str
    fields: dict[str, object] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fields",
            {
                "lease_until": None,
                "attempts": F("attempts") + 1,
                "last_status_code": self.status_code,
                "error_class": self.error_class[:40],
                "last_error": self.error[:2000],
            },
        )


def outbox_claim_batch(
    *, output: BrazeOutput, limit: int | None = None, following: Claim | None = None
) -> Claim:
    """Claim due rows of ``output`` in (batch, sequence) order, never cutting an event in two.

    Only the rows are locked (``of=("self",)``), with ``skip_locked``: other workers claim
    the next rows of the same output meanwhile. A user's rows wait while an earlier row of
    theirs is still pending (in backoff, or being sent by another worker or lane), so Braze
    sees each user's objects in order; except behind ``following``, the claim the caller is
    still sending and sends this one after (see ``outbox_confirm_order``).
    """
    config = delivery_config()
    limit = limit or config.claim_size
    now = timezone.now()
    claim = Claim(uuid.uuid4().hex, [], taken_at=now)
    with transaction.atomic():
        chosen, claim.full, mid_user = _choose(output, now, limit)
        chosen = _whole_users(chosen) if mid_user else chosen
        chosen = _hold_for_order(output, chosen, now, claim, following)
        claim.lease_until = now + timedelta(seconds=config.lease_seconds)
        rows = _take(chosen, claim)
    claim.rows = rows
    return claim


def _choose(output: BrazeOutput, now: datetime, limit: int) -> tuple[list[Delivery], bool, bool]:
    """Lock due rows in (batch, sequence) order until they hold ``limit`` objects, a page at
    a time: a row may hold one object or fifty, and locking ``limit`` rows to take a tenth of
    them cost more than the claim's own update. Returns the rows holding at most ``limit``
    objects (at least one row), whether more rows are due behind them, and whether the next
    of those may belong to the last row's user (the claim would end mid-user)."""
    chosen: list[Delivery] = []
    objects, page = 0, max(1, -(-limit // FIRST_PAGE_OBJECTS_PER_ROW))
    while True:
        found = _due_page(output, now, chosen[-1] if chosen else None, page)
        chosen += found
        objects += sum(row.size for row in found)
        if len(found) < page or objects >= limit:
            break
        page = -(-(limit - objects) * len(chosen) // objects) + 1  # rows still needed, about
    kept: list[Delivery] = []
    objects = 0
    for row in chosen:
        objects += row.size
        if objects > limit and kept:
            return kept, True, bool(row.user_key) and row.user_key == kept[-1].user_key
        kept.append(row)
    more = len(found) == page  # the last page was full: more may be due, of anyone
    return kept, more, more


def _due_page(
    output: BrazeOutput, now: datetime, after: Delivery | None, size: int
) -> list[Delivery]:
    """Lock the next ``size`` due rows of ``output`` after ``after`` in (batch, sequence)
    order, skipping those locked by others. On PostgreSQL through a statement written once:
    what the queryset compiles to, without compiling it for each page and building each row
    through it (with the order hold's, about a quarter of a claim's time, in one process)."""
    db = connections[Delivery.objects.db]
    if db.vendor != "postgresql":
        due = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(output=output, status=Status.QUEUED, next_attempt_at__lte=now)
            .only(*CHOSEN_FIELDS)
            .order_by("batch_id", "sequence")
        )
        if after is not None:
            due = due.filter(
                Q(batch_id__gt=after.batch_id)
                | Q(batch_id=after.batch_id, sequence__gt=after.sequence)
            )
        return list(due[:size])
    params: list[Any] = [output.pk, Status.QUEUED, now]
    if after is not None:
        params += [after.batch_id, after.batch_id, after.sequence]
    with db.cursor() as cursor:
        cursor.execute(_DUE_AFTER if after is not None else _DUE, [*params, size])
        found = cursor.fetchall()
    return [Delivery.from_db(db.alias, _CHOSEN_NAMES, values) for values in found]


# The columns the claim chooses by, in the model's order (as ``Model.from_db`` takes them).
_CHOSEN = [
    field
    for field in Delivery._meta.concrete_fields
    if field.primary_key or field.attname in CHOSEN_FIELDS
]
_CHOSEN_NAMES = frozenset(field.attname for field in _CHOSEN)
_DUE_SQL = (
    "SELECT {fields} FROM {table} WHERE output_id = %s AND status = %s"
    " AND next_attempt_at <= %s{after} ORDER BY batch_id, sequence LIMIT %s"
    " FOR UPDATE OF {table} SKIP LOCKED"
)
_DUE_FIELDS = {
    "table": f'"{Delivery._meta.db_table}"',
    "fields": ", ".join(f'"{field.column}"' for field in _CHOSEN),
}
_DUE = _DUE_SQL.format(after="", **_DUE_FIELDS)
_DUE_AFTER = _DUE_SQL.format(
    after=" AND (batch_id > %s OR (batch_id = %s AND sequence > %s))", **_DUE_FIELDS
)


_TAKE = (
    "UPDATE {table} SET status = %s, lease_until = %s, claim_token = %s"
    " WHERE id IN ({ids}) RETURNING {fields}"
)
# What the claim's update sets is known without reading it back (Django parses every
# timestamp it reads in Python: the lease's cost as much as a row's other fields together).
SET_BY_TAKE = ("status", "claim_token", "lease_until")


def _take(chosen: list[Delivery], claim: Claim) -> list[Delivery]:
    """Mark the chosen rows ``sending`` under the claim and read what sending them needs, in
    one statement (``UPDATE … RETURNING``), in (batch, sequence) order."""
    if not chosen:
        return []
    db = connections[Delivery.objects.db]
    ids = [row.pk for row in chosen]
    if db.vendor != "postgresql":  # SQLite: one writer at a time, inside the claim's transaction
        taken = Delivery.objects.filter(pk__in=ids)
        taken.update(status=Status.SENDING, lease_until=claim.lease_until, claim_token=claim.token)
        return list(taken.only(*CLAIMED_FIELDS).order_by("batch_id", "sequence"))
    sql = _TAKE.format(
        table=db.ops.quote_name(Delivery._meta.db_table),
        ids=", ".join(["%s"] * len(chosen)),
        fields=", ".join(db.ops.quote_name(str(field.column)) for field in _RETURNED),
    )
    params = [Status.SENDING, claim.lease_until, claim.token, *ids]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = [_taken_row(db, values, claim) for values in found]
    rows.sort(key=lambda row: (row.batch_id, row.sequence))
    return rows


# The columns the claim reads back, in the model's order (as ``Model.from_db`` takes them).
_RETURNED = [
    field
    for field in Delivery._meta.concrete_fields
    if field.primary_key or (field.attname in CLAIMED_FIELDS and field.attname not in SET_BY_TAKE)
]
_RETURNED_NAMES = frozenset(field.attname for field in _RETURNED)
_JSON_AT = [n for n, column in enumerate(_RETURNED) if isinstance(column, JSONField)]


def _taken_row(db: Any, values: tuple[Any, ...], claim: Claim) -> Delivery:
    """A claimed row from the columns read back and what the claim set: a model instance
    built as a queryset would (``from_db``), without the queryset's per-column machinery."""
    cells = list(values)
    for n in _JSON_AT:  # PostgreSQL's JSON comes as text (Django's loader), decoded here
        cells[n] = loads(cells[n]) if isinstance(cells[n], str) else cells[n]
    row = Delivery.from_db(db.alias, _RETURNED_NAMES, cells)
    row.status, row.claim_token, row.lease_until = Status.SENDING, claim.token, claim.lease_until
    return row


def _whole_users(rows: list[Delivery]) -> list[Delivery]:
    """A claim that would end mid-user leaves the last user's rows to the next claim, so two
    workers claiming one after the other never split a user (and hold nobody back). A user
    with more rows than a claim holds is cut between events instead."""
    last_user = rows[-1].user_key
    kept = [row for row in rows if row.user_key != last_user]
    if kept:
        return kept
    last_event = (rows[-1].batch_id, rows[-1].event_index)
    return [row for row in rows if (row.batch_id, row.event_index) != last_event] or rows


@dataclass
class OrderHolds:
    """Users whose rows in a claim must wait for an earlier row of theirs: from which
    position (``cut``), until when (``until``), and behind which claims in flight."""

    until: dict[str, datetime] = field(default_factory=dict)
    cut: dict[str, Position] = field(default_factory=dict)
    behind: dict[str, set[str]] = field(default_factory=dict)  # claim token → users
    follows: bool = False  # an earlier row in the claim being sent before it was passed over

    def waits(self, row: Delivery) -> bool:
        return row.user_key in self.cut and (row.batch_id, row.sequence) > self.cut[row.user_key]

    def apply(self, rows: list[Delivery], claim: Claim) -> dict[str, list[Delivery]]:
        """Note the holds on ``claim`` (the soonest, the rows behind each claim in flight)
        and return the rows that wait, by user."""
        waiting: dict[str, list[Delivery]] = {}
        for row in rows:
            if self.waits(row):
                waiting.setdefault(row.user_key, []).append(row)
        soonest = [*self.until.values(), *([claim.held_until] if claim.held_until else [])]
        claim.held_until = min(soonest, default=None)
        for token, users in self.behind.items():
            pks = [row.pk for user in users for row in waiting.get(user, [])]
            claim.behind.setdefault(token, []).extend(pks)
        return waiting


def _hold_for_order(
    output: BrazeOutput,
    rows: list[Delivery],
    now: datetime,
    claim: Claim,
    following: Claim | None,
) -> list[Delivery]:
    """Drop from the claim each user's rows behind an earlier row of theirs still pending
    elsewhere (``_order_holds``). The rows dropped (locked by this transaction) get a new due
    time. Returns the rows kept."""
    holds = _order_holds(output, rows, now, following)
    for user, held in holds.apply(rows, claim).items():
        pks = [row.pk for row in held]
        Delivery.objects.filter(pk__in=pks).update(next_attempt_at=holds.until[user])
    claim.follows = holds.follows
    return [row for row in rows if not holds.waits(row)]


def _order_holds(
    output: BrazeOutput, rows: list[Delivery], now: datetime, following: Claim | None = None
) -> OrderHolds:
    """Each user's rows behind an earlier row of theirs still pending elsewhere, and the
    users whose identify waits for earlier rows of the alias it merges (even in this claim).

    An earlier row may lie before the user's first row in the claim, or between two of them:
    the claim's pages skip rows locked by another claim or not due yet (in backoff, or held),
    so a user's rows in a claim need not follow each other. The claim keeps what comes before
    the first such row; the rest wait until the earlier row's due time, or a moment from now
    when it is being sent.

    Rows of ``following`` hold nobody: the lane sends this claim only once that one is
    answered, so its users' objects keep their order without a wait. A row of it that does
    not get through is pending again when the claim is checked before it is sent
    (``outbox_confirm_order``).
    """
    holds = OrderHolds()
    first: dict[str, Position] = {}
    last: dict[str, Position] = {}
    for row in rows:
        if row.user_key:
            first.setdefault(row.user_key, (row.batch_id, row.sequence))
            last[row.user_key] = (row.batch_id, row.sequence)
    if not first:
        return holds
    aliases = _alias_waits(rows)
    claimed = {row.pk for row in rows}
    ahead_of = following.token if following is not None else None
    positions = [*last.values(), *((batch, seq) for _user, (batch, seq), _pk in aliases.values())]
    pending = _pending_of(output, [*first, *aliases], max(batch for batch, _ in positions))
    waits: dict[str, dict[_Wait, datetime]] = {}
    for pk, user, batch_id, sequence, status, due, token, tried in pending:
        waiting: list[tuple[str, Position, bool]] = []  # waiter, from where, behind an alias
        if user in last and pk not in claimed and (batch_id, sequence) < last[user]:
            waiting.append((user, (batch_id, sequence), False))
        if user in aliases and pk != aliases[user][2] and (batch_id, sequence) < aliases[user][1]:
            waiting.append((aliases[user][0], (0, -1), True))  # the whole user waits
        if waiting and status == Status.SENDING and token == ahead_of:
            holds.follows = True
            continue
        for waiter, position, alias in waiting:
            reason = _Wait.of(status, alone_first=bool(tried) or alias)
            at = reason.until(due, now)
            waits.setdefault(waiter, {})
            waits[waiter][reason] = max(waits[waiter].get(reason, at), at)
            holds.cut[waiter] = min(holds.cut.get(waiter, position), position)
            if reason == _Wait.SENT:
                holds.behind.setdefault(token, set()).add(waiter)
    holds.until = {waiter: _wait_until(reasons) for waiter, reasons in waits.items()}
    return holds


class _Wait(enum.Enum):
    """Why, and so until when, a user's later rows wait for an earlier row."""

    SENT = "sent"  # it is being sent: ``ORDER_HOLD`` from now, for its answer
    # It goes alone first (in backoff after a failure; an alias's object the identify merges,
    # sent before it): until a moment after it is due.
    AFTER = "after"
    WITH = "with"  # queued untried (itself held, or put back): when it is due, with it

    @classmethod
    def of(cls, status: str, *, alone_first: bool) -> _Wait:
        if status == Status.SENDING:
            return cls.SENT
        return cls.AFTER if alone_first else cls.WITH

    def until(self, due: datetime, now: datetime) -> datetime:
        if self == _Wait.SENT:
            return now + ORDER_HOLD
        return max(due, now) + (ORDER_HOLD if self == _Wait.AFTER else timedelta(0))


def _wait_until(reasons: dict[_Wait, datetime]) -> datetime:
    """When the later rows come due. Behind a row that is itself waiting, untried, they come
    due with it, even while an earlier row is in flight: a claim then takes them together
    (held together, or sent in order), where a hold behind a hold would add a second for
    each of a busy user's batches."""
    untried = reasons.get(_Wait.WITH) or reasons.get(_Wait.SENT)
    return max(at for at in (untried, reasons.get(_Wait.AFTER)) if at is not None)


def outbox_confirm_order(*, output: BrazeOutput, claim: Claim) -> None:
    """Just before a claim taken ahead is sent: where it followed the claim before it (its
    users' rows were not held for that claim's rows), a row of that claim that did not get
    through (sent back to retry, or still out) now holds its user's later rows, which go back
    to the queue until then, as a claim taken now would have left them."""
    if not claim.follows:
        return
    claim.follows = False
    holds = _order_holds(output, claim.rows, timezone.now())
    for user, held in holds.apply(claim.rows, claim).items():
        outbox_release(rows=held, at=holds.until[user])
    claim.rows = [row for row in claim.rows if not holds.waits(row)]


def outbox_wake(*, pks: Sequence[int]) -> int:
    """Rows held for order behind a claim now answered are due at once: the claim that takes
    them checks their order again (``_order_holds``), so waking one too early only holds it
    again. Woken by the lane that sent the claim (``HeldBehind``)."""
    if not pks:
        return 0
    now = timezone.now()
    return Delivery.objects.filter(
        pk__in=pks, status=Status.QUEUED, next_attempt_at__gt=now
    ).update(next_attempt_at=now)


class HeldBehind:
    """Rows a task's lanes held for order behind claims in flight, by claim token: the lane
    sending a claim takes (and wakes) the rows held behind it once its answers are in,
    instead of their waiting out ``ORDER_HOLD``. Shared by the lanes of one task; rows held
    behind another worker's claim wait out the hold."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, list[int]] = {}

    def note(self, claim: Claim) -> None:
        with self._lock:
            for token, pks in claim.behind.items():
                self._rows.setdefault(token, []).extend(pks)
        claim.behind = {}

    def take(self, token: str) -> list[int]:
        with self._lock:
            return self._rows.pop(token, [])


def _pending_of(
    output: BrazeOutput, users: list[str], last_batch: int
) -> list[tuple[int, str, int, int, str, datetime, str, int]]:
    """(id, user, batch, sequence, status, due, claim token, attempts) of the users' pending
    rows up to ``last_batch``: on PostgreSQL through a statement written once, as
    ``_due_page``."""
    db = connections[Delivery.objects.db]
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(_PENDING, [output.pk, Status.QUEUED, Status.SENDING, users, last_batch])
            found: list[tuple[int, str, int, int, str, datetime, str, int]] = cursor.fetchall()
            return found
    return list(
        Delivery.objects.filter(
            output=output,
            status__in=(Status.QUEUED, Status.SENDING),
            user_key__in=users,
            batch_id__lte=last_batch,
        )
        .order_by()
        .values_list(
            "pk",
            "user_key",
            "batch_id",
            "sequence",
            "status",
            "next_attempt_at",
            "claim_token",
            "attempts",
        )
    )


_PENDING_SQL = (
    "SELECT id, user_key, batch_id, sequence, status, next_attempt_at, claim_token, attempts"
    " FROM {table}"
    " WHERE output_id = %s AND status IN (%s, %s) AND user_key = ANY(%s) AND batch_id <= %s"
)
_PENDING = _PENDING_SQL.format(**_DUE_FIELDS)


def _alias_waits(rows: list[Delivery]) -> dict[str, tuple[str, tuple[int, int], int]]:
    """Alias name → (known user, position, pk) of each identify row of the claim: the merge
    waits until Braze has the alias's earlier objects (connections/delivery/identify.py)."""
    return {
        str(row.body["user_alias"]["alias_name"]): (
            row.user_key,
            (row.batch_id, row.sequence),
            row.pk,
        )
        for row in rows
        if row.kind == Delivery.Kind.IDENTIFY
    }


def _claimed(rows: Sequence[Delivery]) -> QuerySet[Delivery]:
    """The rows still held by the claim they were taken under (none if it was lost)."""
    if not rows:
        return Delivery.objects.none()
    return Delivery.objects.filter(
        pk__in=[row.pk for row in rows], status=Status.SENDING, claim_token=rows[0].claim_token
    )


def outbox_renew_lease(*, claim: Claim) -> int:
    """Extend the lease of what the claim still holds (long rate-limit waits, bisections)."""
    claim.lease_until = timezone.now() + timedelta(seconds=delivery_config().lease_seconds)
    return _claimed(claim.rows).update(lease_until=claim.lease_until)


def outbox_has_due_rows(*, output: BrazeOutput) -> bool:
    """Rows of the output are due and unclaimed (one probe of the claim index)."""
    return Delivery.objects.filter(
        output=output, status=Status.QUEUED, next_attempt_at__lte=timezone.now()
    ).exists()


def outbox_next_due(*, output_id: int) -> datetime | None:
    """When the output's soonest queued row comes due (one probe of its due index)."""
    queued = Delivery.objects.filter(output_id=output_id, status=Status.QUEUED)
    due: datetime | None = queued.aggregate(due=Min("next_attempt_at"))["due"]
    return due


def outbox_still_held(*, rows: Sequence[Delivery]) -> bool:
    return _claimed(rows).count() == len(rows)


def outbox_mark_sent(*, rows: Sequence[Delivery], status_code: int | None) -> int:
    return _claimed(rows).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        lease_until=None,
        last_status_code=status_code,
        attempts=F("attempts") + 1,
        error_class="",
        last_error="",
    )


def outbox_reject(*, rows: Sequence[Delivery], failure: Failure) -> int:
    """Braze refused these objects for what they hold: final, kept for the audit and
    counted in their failure group."""
    rejected = _fail(list(rows), failure, Status.REJECTED, Q())
    record_rows(REJECTED, connection_id=_connection_of(rows), rows=rejected)
    return rejected


def _fail(rows: list[Delivery], failure: Failure, status: str, condition: Q) -> int:
    """Rows that end here, with their failure group, in two statements."""
    if not rows:
        return 0
    rows = groups.split_whole(rows)  # a failed row holds one object (connections/delivery/groups)
    now = timezone.now()
    kind = failures.failure_kind(
        dead=status == Status.DEAD,
        status_code=failure.status_code,
        error_class=failure.error_class,
        error=failure.error,
        identify=rows[0].kind == Delivery.Kind.IDENTIFY,
    )
    group_id = failures.failure_group_record(rows=rows, kind=kind, message=failure.error, at=now)
    failed = (
        _claimed(rows)
        .filter(condition)
        .update(status=status, failed_at=now, failure_group_id=group_id, **failure.fields)
    )
    failures.failure_group_uncount(group_id=group_id, rows=len(rows) - failed)
    hook_failures_count(
        dead=status == Status.DEAD,
        connection_id=rows[0].connection_id,
        kind=kind.key,
        title=kind.title,
        rows=failed,
        at=now,
    )
    return failed


def outbox_release(*, rows: Sequence[Delivery], at: datetime | None = None) -> int:
    """Put rows back in the queue without spending a retry (rate limits, pauses, deadlines)."""
    return _claimed(rows).update(
        status=Status.QUEUED, lease_until=None, next_attempt_at=at or timezone.now()
    )


def backoff_delay(attempt: int) -> timedelta:
    schedule = delivery_config().retry_backoff_seconds
    base = schedule[min(max(attempt, 1), len(schedule)) - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))


def outbox_retry_later(*, rows: Sequence[Delivery], failure: Failure) -> tuple[int, int]:
    """Schedule a retry with backoff, or dead-letter rows past the retry window or budget.

    One update per group of rows sharing an attempt count (usually the whole request), so a
    failing request costs a query or two, not one per object. Returns (retried, dead).
    """
    config = delivery_config()
    now = timezone.now()
    too_old = now - config.retry_max_age
    last_try = config.retry_max_attempts - 1
    exhausted = Q(created_at__lte=too_old) | Q(attempts__gte=last_try)
    dying = [row for row in rows if row.created_at <= too_old or row.attempts >= last_try]
    dead = _fail(dying, failure, Status.DEAD, exhausted)
    retried = 0
    for attempts in {row.attempts for row in rows}:
        retried += (
            _claimed(rows)
            .filter(attempts=attempts)
            .exclude(exhausted)
            .update(
                status=Status.QUEUED,
                next_attempt_at=now + backoff_delay(attempts + 1),
                **failure.fields,
            )
        )
    record_rows(RETRIED, connection_id=_connection_of(rows), rows=retried)
    record_rows(DEAD, connection_id=_connection_of(rows), rows=dead)
    return retried, dead


def _connection_of(rows: Sequence[Delivery]) -> int | None:
    """The connection of a claim's rows (one output's, so one connection's), for metrics."""
    return rows[0].connection_id if rows else None


def outbox_isolate(*, rows: Sequence[Delivery]) -> int:
    """Halve the request these queued rows travel in next (they failed while others passed)."""
    return Delivery.objects.filter(
        pk__in=[row.pk for row in rows], status=Status.QUEUED, claim_token=rows[0].claim_token
    ).update(split_depth=F("split_depth") + 1)
