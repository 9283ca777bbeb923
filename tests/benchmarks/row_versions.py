"""Row versions PostgreSQL wrote, per table, from ``pg_stat_user_tables``: what an object costs
the database, whatever the outbox's schema.

Statistics reach the shared view asynchronously (PostgreSQL 15: a backend flushes at most once
a second, and always when it exits), so a snapshot is taken only when no other client is
connected to the benchmark's database: the stopped web and worker processes have flushed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.benchmarks.report import BenchmarkRow

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

QUIET_TIMEOUT = 30.0


@dataclass(frozen=True)
class Writes:
    inserted: int
    updated: int
    hot_updated: int

    @property
    def versions(self) -> int:
        return self.inserted + self.updated

    def __add__(self, other: Writes) -> Writes:
        return Writes(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.hot_updated + other.hot_updated,
        )

    def __sub__(self, other: Writes) -> Writes:
        return Writes(
            self.inserted - other.inserted,
            self.updated - other.updated,
            self.hot_updated - other.hot_updated,
        )


Snapshot = dict[str, Writes]


def snapshot() -> Snapshot | None:
    """Inserts and updates per table so far; None on SQLite (no such statistics)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        _wait_until_alone(cursor)
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this process's own writes
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
        )
        return {name: Writes(ins, upd, hot) for name, ins, upd, hot in cursor.fetchall()}


def _wait_until_alone(cursor: CursorWrapper) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + QUIET_TIMEOUT
    while True:
        cursor.execute(query)
        if cursor.fetchone()[0] == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"other clients still connected after {QUIET_TIMEOUT:.0f} s")
        time.sleep(0.1)


def rows(
    case: str, before: Snapshot | None, after: Snapshot | None, objects: int, what: str
) -> list[BenchmarkRow]:
    """One row: row versions (inserted + updated) per delivered object, top 3 tables named."""
    if before is None or after is None:
        return []
    empty = Writes(0, 0, 0)
    tables = {name: writes - before.get(name, empty) for name, writes in after.items()}
    total = sum(tables.values(), empty)
    top = sorted(tables.items(), key=lambda item: item[1].versions, reverse=True)[:3]
    named = "; ".join(
        f"{name} {w.versions / objects:.2f} ({w.inserted:,} ins, {w.updated:,} upd)"
        for name, w in top
        if w.versions
    )
    note = (
        f"{what}; {total.inserted:,} inserted + {total.updated:,} updated"
        f" ({total.hot_updated:,} HOT) over {objects:,} objects; top: {named}"
    )
    return [BenchmarkRow("SQL row versions", case, total.versions / objects, "per object", note)]
