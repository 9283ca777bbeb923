"""Turning a stored batch into outbox rows, atomically: all of it or none of it.

The rows, the mapping issues and the batch's ``mapped`` mark are written in one transaction;
a crash anywhere leaves the batch ``received``, and the sweeper maps it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, JSONField, Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from connections import lifecycle
from connections.delivery import schedule
from connections.delivery.models import Delivery, InboundBatch
from connections.delivery.tuning import delivery_config
from connections.hooks import emit as hooks
from connections.merging.services import identify_rows_add
from connections.metrics.definitions import record_mapping
from connections.models import APP_PLATFORMS, BrazeOutput, Connection, Platform
from connections.profiles.wave import ProfileWave
from mapping.engine import map_batch
from mapping.issues import Issue
from mapping.objects import BrazeObject, MappingContext
from mapping.output_settings import EmailIdentityType, ExternalIdentityType
from mapping.requests import LIMITS
from mapping.services import mapping_issues_record
from mpbraze.jsoncodec import dumps, loads

logger = logging.getLogger(__name__)
GROUP_SIZE = 100  # batches mapped in one transaction
# A user's objects of one batch share a row up to this many: what a request holds in the
# smallest batch size mode, so a row is never more than one request (mapping.requests.LIMITS).
OBJECTS_PER_ROW = 50
NewRow = dict[str, Any]  # a new outbox row: the values of its fields, by attribute name
Contexts = dict[int, "tuple[BrazeOutput, MappingContext] | None"]  # by connection
NO_SERVER_OUTPUT = "Waiting for a Server output: batches are kept until one is configured."


def output_mapping_context(output: BrazeOutput, *, now: datetime | None = None) -> MappingContext:
    """The engine's inputs for ``output``; app ids come from the connection's app outputs.

    ``now`` dates undated events and ``$Age``: the batch's receipt time, as mParticle does.
    """
    app_outputs = output.connection.outputs.filter(platform__in=APP_PLATFORMS)
    return MappingContext(
        settings=output.forwarding,
        now=now or timezone.now(),
        external_identity_type=ExternalIdentityType(output.external_identity_type),
        email_identity_type=EmailIdentityType(output.email_identity_type),
        app_ids={app.platform: lifecycle.output_api_key(output=app) for app in app_outputs},
    )


def batches_map(*, batch_ids: Sequence[int], pull_seconds: float = 0.0) -> int:
    """Map these batches in one transaction (one by one if that fails, so a poison batch
    fails alone), then, for up to ``pull_seconds``, any other received batches: a backlog is
    mapped at database speed, and the messages of batches mapped here find nothing to do.
    Schedules forwarding for the outputs that got rows after each group. Returns the number
    of batches mapped."""
    deadline = time.monotonic() + pull_seconds
    config = delivery_config()
    linger = timedelta(seconds=config.forward_linger_seconds)
    ids = list(batch_ids)
    if not ids:
        return 0
    taken, others = _take_named(ids, config.mapping_max_attempts)
    mapped = 0
    contexts: Contexts = {}  # a connection's Server output and keys, looked up once a run
    while True:
        # A message whose batches were all mapped already (most of a backlog's messages: the
        # tasks before pulled them) skips straight to pulling, which keeps the mapping ahead
        # of the sending.
        if taken or others:
            done = _map_counted(ids, taken, contexts, others=others)
            mapped += done.mapped
            for output_id in sorted(done.outputs):  # sending starts while the backlog maps
                # at once when the group filled a request; else after the linger, for more
                wait = timedelta(0) if output_id in done.full else linger
                schedule.forward_schedule(output_id=output_id, at=timezone.now() + wait)
        if time.monotonic() >= deadline:
            return mapped
        ids = taken = _take_untried(GROUP_SIZE, config.mapping_max_attempts)
        others = False
        if not taken:
            return mapped


def _take_untried(limit: int, max_attempts: int) -> list[int]:
    """Take the oldest batches waiting to be mapped that nobody tried yet: one that failed,
    or that another task is mapping now, is retried by its own message or the sweeper, after
    a grace, never straight away in a loop (nor counted twice at once). On PostgreSQL, one
    statement finds and takes them, in id order from the ``batch_received`` index."""
    db = connections[InboundBatch.objects.db]
    if db.vendor == "postgresql":
        return _take_returning(db, None, limit, timezone.now())[0]
    received = InboundBatch.objects.filter(status=InboundBatch.Status.RECEIVED, map_attempts=0)
    return _take(list(received.order_by("pk").values_list("pk", flat=True)[:limit]), max_attempts)


@dataclass
class _Mapped:
    outputs: set[int] = field(default_factory=set)
    mapped: int = 0
    settled: set[int] = field(default_factory=set)  # batches mapped, or now waiting
    full: set[int] = field(default_factory=set)  # outputs given a full request or more


def _take(ids: Sequence[int], max_attempts: int) -> list[int]:
    """Count an attempt for each batch no other task is mapping, in a commit of its own (so a
    batch that crashes its worker is counted too); returns the batches this task took.

    The candidates are locked with ``skip_locked`` before the update: of two tasks racing for
    a batch, one takes it, and the other skips it or sees it taken. On PostgreSQL that is one
    statement (``UPDATE … RETURNING``), a round trip and a transaction fewer per group."""
    return _take_named(ids, max_attempts)[0]


def _take_named(ids: Sequence[int], max_attempts: int) -> tuple[list[int], bool]:
    """``_take``, and whether a batch of ``ids`` it did not take is still received (past its
    attempts, or another task's): only then has the caller exhausted batches to look for.
    On other databases than PostgreSQL that is not asked, and taken to be so."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    db = connections[InboundBatch.objects.db]
    if db.vendor == "postgresql":
        return _take_returning(db, (list(ids), max_attempts, stale), len(ids), now)
    return _take_locked(ids, max_attempts, stale, now), True


def _take_locked(
    ids: Sequence[int], max_attempts: int, stale: datetime, now: datetime
) -> list[int]:
    free = Q(map_started_at__isnull=True) | Q(map_started_at__lt=stale)
    with transaction.atomic():
        taken = list(
            InboundBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                free,
                pk__in=list(ids),
                status=InboundBatch.Status.RECEIVED,
                map_attempts__lt=max_attempts,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        InboundBatch.objects.filter(pk__in=taken).update(
            map_attempts=F("map_attempts") + 1, map_started_at=now
        )
    return taken


# Mapping's commits do not wait for their WAL to reach the disk (``synchronous_commit`` off,
# for the statement's own transaction only: 2 to 3 ms a commit on a disk that syncs). Nothing of
# it is lost that is not redone: if PostgreSQL stops before the WAL writer has flushed a
# mapping's commit (within three ``wal_writer_delay``s, 600 ms by default), its batches are
# still received and the sweeper maps them again; and any synchronous commit after it (a
# batch received, a row claimed or marked sent) flushes the WAL up to itself, mapping's
# commit with it. What is promised outside (a 202, a row sent) still waits for the disk.
_QUICK = "quick AS (SELECT set_config('synchronous_commit', 'off', true))"
_TAKE = (
    "WITH {quick}, taken AS (UPDATE {table}"
    " SET {attempts} = {attempts} + 1, {started} = %s"
    " WHERE EXISTS (SELECT FROM quick) AND {id} IN ("
    "SELECT {id} FROM {table} WHERE {status} = %s AND {which}"
    " ORDER BY {id} LIMIT %s FOR UPDATE SKIP LOCKED"
    ") RETURNING {id}) SELECT {id}, TRUE FROM taken"
)
_NAMED = "{id} = ANY(%s) AND {attempts} < %s AND ({started} IS NULL OR {started} < %s)"
_UNTRIED = "{attempts} = 0"
# The named batches still received that were not taken, as the statement found them (its
# snapshot: a batch it took still reads as received there).
_LEFT = (
    " UNION ALL SELECT {id}, FALSE FROM {table} WHERE {id} = ANY(%s) AND {status} = %s"
    " AND {id} NOT IN (SELECT {id} FROM taken)"
)


def _take_returning(
    db: Any, named: tuple[list[int], int, datetime] | None, limit: int, now: datetime
) -> tuple[list[int], bool]:
    """``named``: these ids, if under ``max_attempts`` and free or stale since, and whether
    one not taken is still received; else the oldest untried batches."""
    columns = {field.attname: field.column for field in InboundBatch._meta.concrete_fields}
    names = {
        "table": db.ops.quote_name(InboundBatch._meta.db_table),
        "id": db.ops.quote_name(columns["id"]),
        "attempts": db.ops.quote_name(columns["map_attempts"]),
        "started": db.ops.quote_name(columns["map_started_at"]),
        "status": db.ops.quote_name(columns["status"]),
    }
    which = (_UNTRIED if named is None else _NAMED).format(**names)
    sql = _TAKE.format(which=which, quick=_QUICK, **names)
    params: list[Any] = [now, InboundBatch.Status.RECEIVED, *(named or ()), limit]
    if named is not None:
        sql += _LEFT.format(**names)
        params += [named[0], InboundBatch.Status.RECEIVED]
    with db.cursor() as cursor:  # one statement: its own commit, outside a transaction
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return sorted(pk for pk, taken in found if taken), not all(taken for _, taken in found)


def _release(ids: Sequence[int]) -> None:
    """Free the batches taken that are still to be mapped (the mapped ones were freed by the
    update that marked them: no second row version)."""
    InboundBatch.objects.filter(
        pk__in=list(ids), status=InboundBatch.Status.RECEIVED, map_started_at__isnull=False
    ).update(map_started_at=None)


def _map_counted(
    ids: list[int], taken: list[int], contexts: Contexts, *, others: bool = True
) -> _Mapped:
    """Map the batches ``taken`` of ``ids``; free what was taken and not mapped, and fail
    the batches of ``ids`` past their last attempt (among those not taken, which are still
    received only when ``others``)."""
    config = delivery_config()
    try:
        done = _map_group(taken, config.mapping_max_attempts, contexts) if taken else _Mapped()
    except Exception:
        logger.warning("Mapping %s batches together failed: one by one", len(ids), exc_info=True)
        done = _Mapped()
        for batch_id in taken:
            output_id = batch_map(batch_id=batch_id, counted=True)
            if output_id is not None:
                done.outputs.add(output_id)
                done.mapped += 1
                done.settled.add(batch_id)
    unsettled = [pk for pk in taken if pk not in done.settled]
    if unsettled or others:  # as a rule each was taken and mapped: nothing to undo
        _release(unsettled)
        _fail_exhausted(ids, config.mapping_max_attempts)
    return done


def _map_group(ids: list[int], max_attempts: int, contexts: Contexts) -> _Mapped:
    """Every batch of ``ids`` still received, in one transaction: rows in one insert, the
    outputs and decrypted keys of each connection looked up once."""
    done = _Mapped()
    with transaction.atomic():
        now = timezone.now()
        batches = _mark_mapped(ids, max_attempts, now)
        for connection_id in {batch.connection_id for batch in batches} - set(contexts):
            contexts[connection_id] = _server_context(connection_id)
        profiles = _profiles(batches, contexts)
        rows: list[NewRow] = []
        objects: dict[int, int] = {}  # by output
        waiting: list[int] = []
        tally: dict[int, tuple[int, list[Issue]]] = {}  # objects and issues, by connection
        for batch in batches:
            found = contexts[batch.connection_id]
            if found is None:
                waiting.append(batch.pk)
                continue
            output, context = found
            context = replace(context, now=batch.received_at)
            new_rows = _mapped_rows(batch, output, context, now, profiles, tally)
            rows += new_rows
            done.outputs.add(output.pk)
            done.mapped += 1
            objects[output.pk] = objects.get(output.pk, 0) + sum(r["size"] for r in new_rows)
            if objects[output.pk] >= LIMITS[context.settings.batch_size_mode][0]:
                done.full.add(output.pk)
        outbox_rows_insert(rows)
        profiles.save(now=now)
        done.settled = {batch.pk for batch in batches}
        InboundBatch.objects.filter(pk__in=waiting).update(
            status=InboundBatch.Status.WAITING,
            error=NO_SERVER_OUTPUT,
            map_attempts=F("map_attempts") - 1,
            mapped_at=None,
        )
        transaction.on_commit(lambda: _record_metrics(tally))  # once: see _mapped_rows
    return done


def _mark_mapped(ids: list[int], max_attempts: int, now: datetime) -> list[InboundBatch]:
    """Mark the batches of ``ids`` still received and within their attempts mapped, and
    return them (the fields mapping reads), in order. Marked first, in the transaction that
    maps them: the update locks them before anything else is written (as a ``SELECT … FOR
    UPDATE`` did), and a failure rolls the mark back with the rows. A batch another
    transaction holds is waited for, then left out if that one changed it (a lease gone stale
    and taken again: the other mapped it). On PostgreSQL one statement, which also reads
    them, and lets the transaction commit without waiting for the disk (``_QUICK``)."""
    db = connections[InboundBatch.objects.db]
    if db.vendor == "postgresql":
        return _mark_returning(db, ids, max_attempts, now)
    batches = list(
        InboundBatch.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, status=InboundBatch.Status.RECEIVED, map_attempts__lte=max_attempts)
        .only(*_MAPPING_READS)
        .order_by("pk")
    )
    InboundBatch.objects.filter(pk__in=[batch.pk for batch in batches]).update(
        status=InboundBatch.Status.MAPPED, mapped_at=now, error="", map_started_at=None
    )
    return batches


_MAPPING_READS = ("id", "connection_id", "payload", "received_at", "map_attempts")
_MARK = (  # no FOR UPDATE: the update locks each row it writes (a second write of it, else)
    "WITH {quick} UPDATE {table}"
    " SET {status} = %s, {mapped} = %s, {error} = '', {started} = NULL"
    " WHERE EXISTS (SELECT FROM quick) AND {id} = ANY(%s) AND {status} = %s"
    " AND {attempts} <= %s RETURNING {reads}"
)


def _mark_returning(
    db: Any, ids: list[int], max_attempts: int, now: datetime
) -> list[InboundBatch]:
    quote = db.ops.quote_name
    table = quote(InboundBatch._meta.db_table)
    column = {f.attname: quote(f.column) for f in InboundBatch._meta.concrete_fields}
    reads = [name for name in column if name in _MAPPING_READS]  # from_db: in the model's order
    sql = _MARK.format(
        quick=_QUICK,
        table=table,
        id=column["id"],
        status=column["status"],
        attempts=column["map_attempts"],
        mapped=column["mapped_at"],
        error=column["error"],
        started=column["map_started_at"],
        reads=", ".join(f"{table}.{column[name]}" for name in reads),
    )
    received, mapped = InboundBatch.Status.RECEIVED, InboundBatch.Status.MAPPED
    with db.cursor() as cursor:
        cursor.execute(sql, [mapped, now, ids, received, max_attempts])
        found = cursor.fetchall()
    payload = reads.index("payload")
    batches = [
        InboundBatch.from_db(
            db.alias, reads, [loads(v) if n == payload else v for n, v in enumerate(row)]
        )
        for row in found
    ]
    return sorted(batches, key=lambda batch: batch.pk)


def _record_metrics(tally: dict[int, tuple[int, list[Issue]]]) -> None:
    """The mapping metrics of a transaction's batches: objects and issues, by connection."""
    for connection_id, (objects, issues) in tally.items():
        record_mapping(connection_id=connection_id, objects=objects, issues=issues)


def _profiles(
    batches: Sequence[InboundBatch], contexts: dict[int, tuple[BrazeOutput, MappingContext] | None]
) -> ProfileWave:
    """The stored profiles of the users of these batches, in one query."""
    return ProfileWave.load(
        (batch.pk, batch.connection_id, batch.payload, found[1])
        for batch in batches
        if (found := contexts[batch.connection_id]) is not None
    )


def outbox_rows_insert(rows: Sequence[NewRow]) -> None:
    """Insert new outbox rows, given as the values of their fields. On PostgreSQL with
    ``COPY``, tuples written straight from the values (no model instances, no per-field
    preparation: a backlog's rows went in four times faster than with ``bulk_create``, and
    building instances cost 25 µs a row). Rows that exist already (which a batch still being
    mapped never has) make it fail: the caller then maps batch by batch, with
    ``bulk_create``'s conflict handling."""
    if not rows:
        return
    db = connections[Delivery.objects.db]
    if db.vendor != "postgresql":
        Delivery.objects.bulk_create(
            [Delivery(**{**ROW_DEFAULTS, **row}) for row in rows],
            ignore_conflicts=True,
            batch_size=1000,
        )
        return
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    table = db.ops.quote_name(str(Delivery._meta.db_table))
    json_fields = {f.attname for f in fields if isinstance(f, JSONField)}
    names = [f.attname for f in fields]
    with db.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = {**ROW_DEFAULTS, **row}
            copy.write_row(
                [Jsonb(values[n], dumps) if n in json_fields else values[n] for n in names]
            )


def _fail_exhausted(ids: Sequence[int], max_attempts: int) -> None:
    exhausted = InboundBatch.objects.filter(
        pk__in=list(ids),
        status=InboundBatch.Status.RECEIVED,
        map_attempts__gte=max_attempts,
        map_started_at__isnull=True,
    )
    for batch_id in exhausted.values_list("pk", flat=True):
        _fail_if_exhausted(batch_id, max_attempts)


def _server_context(connection_id: int) -> tuple[BrazeOutput, MappingContext] | None:
    output = (
        BrazeOutput.objects.select_related("connection")
        .filter(connection_id=connection_id, platform=Platform.SERVER)
        .first()
    )
    return None if output is None else (output, output_mapping_context(output))


def batch_map(*, batch_id: int, counted: bool = False) -> int | None:
    """Map one batch; returns the forwarding output's id when rows were queued.

    The attempt is counted in a commit of its own first (unless the caller ``counted`` it),
    so a batch that crashes its worker (or fails for any reason) is counted too, and marked
    failed after the last attempt.
    """
    config = delivery_config()
    if not counted and not _take([batch_id], config.mapping_max_attempts):
        _fail_exhausted([batch_id], config.mapping_max_attempts)
        return None
    try:
        return _map_batch(batch_id)
    except Exception as error:  # recorded on the batch; the sweeper tries again
        logger.exception("Mapping batch %s failed", batch_id)
        _record_failure(batch_id, error, config.mapping_max_attempts)
        return None
    finally:
        if not counted:
            _release([batch_id])


def _map_batch(batch_id: int) -> int | None:
    with transaction.atomic():
        batch = (
            InboundBatch.objects.select_for_update(of=("self",))
            .filter(pk=batch_id, status=InboundBatch.Status.RECEIVED)
            .select_related("connection")
            .first()
        )
        if batch is None:
            return None
        output = batch.connection.outputs.filter(platform=Platform.SERVER).first()
        if output is None:
            _wait_for_server_output(batch)
            return None
        count = _map_into_outbox(batch, output)
    return output.pk if count else None


def _record_failure(batch_id: int, error: Exception, max_attempts: int) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    InboundBatch.objects.filter(pk=batch_id, status=InboundBatch.Status.RECEIVED).update(
        error=message, map_started_at=None
    )
    _fail_if_exhausted(batch_id, max_attempts)


def _fail_if_exhausted(batch_id: int, max_attempts: int) -> None:
    batch = InboundBatch.objects.filter(
        pk=batch_id, status=InboundBatch.Status.RECEIVED, map_attempts__gte=max_attempts
    )
    for error in batch.values_list("error", flat=True):
        reason = (
            f"Mapping failed {max_attempts} times; last error: {error or 'the worker was lost'}"
        )
        batch.update(status=InboundBatch.Status.FAILED, error=reason[:2000])


def batches_resume_waiting(*, connection: Connection) -> int:
    """A Server output now exists: map the batches that waited for one."""
    waiting = InboundBatch.objects.filter(connection=connection, status=InboundBatch.Status.WAITING)
    ids = list(waiting.values_list("pk", flat=True))
    InboundBatch.objects.filter(pk__in=ids).update(
        status=InboundBatch.Status.RECEIVED, error="", enqueued_at=timezone.now()
    )
    transaction.on_commit(lambda: schedule.batches_enqueue(batch_ids=ids), robust=True)
    return len(ids)


def _wait_for_server_output(batch: InboundBatch) -> None:
    """Not a failure: kept (and not retried) until a Server output is added."""
    batch.status = InboundBatch.Status.WAITING
    batch.error = NO_SERVER_OUTPUT
    batch.map_attempts = max(0, batch.map_attempts - 1)
    batch.map_started_at = None
    batch.save(update_fields=["status", "map_attempts", "error", "map_started_at"])


def _map_into_outbox(batch: InboundBatch, output: BrazeOutput) -> int:
    now = timezone.now()
    context = output_mapping_context(output, now=batch.received_at)
    profiles = ProfileWave.load([(batch.pk, batch.connection_id, batch.payload, context)])
    rows = _mapped_rows(batch, output, context, now, profiles)
    Delivery.objects.bulk_create(
        [Delivery(**{**ROW_DEFAULTS, **row}) for row in rows], ignore_conflicts=True
    )
    profiles.save(now=now)
    batch.status = InboundBatch.Status.MAPPED
    batch.mapped_at = now
    batch.error = ""
    batch.map_started_at = None
    batch.save(update_fields=["status", "mapped_at", "error", "map_started_at"])
    return len(rows)


def _mapped_rows(
    batch: InboundBatch,
    output: BrazeOutput,
    context: MappingContext,
    now: datetime,
    profiles: ProfileWave,
    tally: dict[int, tuple[int, list[Issue]]] | None = None,
) -> list[NewRow]:
    """The batch's outbox rows (not yet saved); its mapping issues recorded, its user's
    profile updated in ``profiles`` (saved by the caller, once per wave). Its objects and
    issues are added to the caller's ``tally`` for the metrics, if given (the caller records
    them on commit), else recorded on commit."""
    result = map_batch(batch.payload, context, profiles.input_for(batch.pk))
    profiles.keep(batch.pk, result.profile)
    mapping_issues_record(
        connection_id=batch.connection_id,
        output_id=output.pk,
        issues=result.issues,
        payload=batch.payload,
        objects=result.objects,
        now=now,
    )
    hooks.mapping_issues_detected(
        connection_id=batch.connection_id, output_id=output.pk, issues=result.issues, now=now
    )
    # Counted on commit, once: a group that fails is mapped again one by one.
    if tally is None:
        tally = {}
        transaction.on_commit(lambda: _record_metrics(tally))
    objects, issues = tally.get(batch.connection_id, (0, []))
    issues.extend(result.issues)
    tally[batch.connection_id] = (objects + len(result.objects), issues)
    rows = _user_rows(batch, output, result.objects, now)
    return identify_rows_add(batch=batch, output=output, context=context, rows=rows, now=now)


def _user_rows(
    batch: InboundBatch, output: BrazeOutput, objects: Sequence[BrazeObject], now: datetime
) -> list[NewRow]:
    """One row per user of the batch (a batch has one, as a rule), holding up to
    ``OBJECTS_PER_ROW`` of their objects in order: the first in the row's own fields, the
    others in ``more`` (connections/delivery/groups.py)."""
    rows: list[NewRow] = []
    for sequence, item in enumerate(objects):
        user_key = item.user_key[:1000]
        name = str(item.body.get("name") or item.body.get("product_id") or "")[:255]
        last = rows[-1] if rows else None
        if last is not None and last["user_key"] == user_key and last["size"] < OBJECTS_PER_ROW:
            last["more"].append(
                {
                    "sequence": sequence,
                    "kind": item.kind.value,
                    "event_index": item.event_index,
                    "event_name": name,
                    "body": item.body,
                }
            )
            last["size"] += 1
            continue
        rows.append(
            {
                "connection_id": batch.connection_id,
                "output_id": output.pk,
                "batch_id": batch.pk,
                "sequence": sequence,
                "kind": item.kind.value,
                "body": item.body,
                "more": [],
                "size": 1,
                "user_key": user_key,
                "event_index": item.event_index,
                "event_name": name,
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    return rows


def _row_defaults() -> dict[str, Any]:
    """What a new outbox row holds in the fields mapping does not set."""
    return {
        field.attname: field.get_default()
        for field in Delivery._meta.concrete_fields
        if not field.primary_key
    }


ROW_DEFAULTS = _row_defaults()
