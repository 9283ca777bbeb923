"""CSV of failed sends, streamed: rows are read through a cursor a chunk at a time and
written as they come, so a 100,000-row export holds a chunk in memory, never the list."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from connections.audit.display import masked
from connections.delivery.models import Delivery

CHUNK = 2000
# A cell starting like a formula would run in a spreadsheet: data from apps is not trusted.
# Spreadsheets skip leading whitespace (and invisible characters) and read fullwidth and small
# forms (U+FF1D, U+FE62) as the ASCII sign, so the first visible character is compared after NFKC.
FORMULA_STARTS = frozenset("=+-@")
CONTROL_STARTS = ("\t", "\r", "\n")
COLUMNS = {
    "id": "pk",
    "failed_at": "failed_at",
    "connection": "connection__name",
    "kind": "kind",
    "event_name": "event_name",
    "user": "user_key",
    "status": "status",
    "http_status": "last_status_code",
    "error_class": "error_class",
    "braze_error": "failure_group__braze_error",
    "error": "last_error",
    "failure_group": "failure_group__title",
    "times_replayed": "replay_count",
    "object": "body",
}


class _Line:
    """A file-like that hands back what ``csv.writer`` writes."""

    def write(self, text: str) -> str:
        return text


def failed_sends_csv(rows: QuerySet[Delivery]) -> Iterator[str]:
    """The header, then one line per row, in id order; keys in the objects are masked."""
    writer = csv.writer(_Line())
    yield writer.writerow(list(COLUMNS))
    values = rows.order_by("pk").values_list(*COLUMNS.values())
    for record in values.iterator(chunk_size=CHUNK):
        yield writer.writerow(_cells(record))


def _cells(record: tuple[Any, ...]) -> list[Any]:
    cells = list(record)
    cells[1] = cells[1].isoformat() if cells[1] else ""
    cells[-1] = json.dumps(masked(cells[-1]), ensure_ascii=False, sort_keys=True)
    return [_inert(cell) for cell in cells]


def _inert(cell: Any) -> Any:
    """A text cell a spreadsheet would evaluate, with a leading apostrophe so it reads as text."""
    if isinstance(cell, str) and _formula_like(cell):
        return "'" + cell
    return cell


def _formula_like(text: str) -> bool:
    if text.startswith(CONTROL_STARTS):
        return True
    first = next((char for char in text if not _invisible(char)), "")
    return unicodedata.normalize("NFKC", first)[:1] in FORMULA_STARTS


def _invisible(char: str) -> bool:
    """Whitespace, controls and format characters (zero-width space, byte-order mark)."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
