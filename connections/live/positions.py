"""Where a live event sits: its batch and its slot in the batch, as event ids and cursors.

A slot is the event's index in the batch's ``events``, or ``ATTRIBUTES_SLOT`` for the batch's
own user attributes object. Rows are ordered newest first by (batch id, slot): batch ids grow
with each batch received, and within a batch the later events come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.core import signing

from connections.rules.field_errors import FieldError
from connections.rules.ids import MAX_ID

ATTRIBUTES_SLOT: Final = -1
# A cursor at (batch, WHOLE_BATCH) is past every row of that batch: a scan stopped after it.
WHOLE_BATCH: Final = -2
ATTRIBUTES_NAME: Final = "attributes"
MAX_SLOT: Final = 100_000  # more events than any batch can hold (inbound limits)
MAX_TOKEN_LENGTH: Final = 200
_SALT: Final = "mpbraze.live-events.cursor"


@dataclass(frozen=True, order=True)
class Position:
    batch_id: int
    slot: int

    @property
    def event_index(self) -> int | None:
        return None if self.slot == ATTRIBUTES_SLOT else self.slot


def event_id(position: Position) -> str:
    """The id a page or the API names one row by: ``1234-5`` or ``1234-attributes``."""
    slot = ATTRIBUTES_NAME if position.slot == ATTRIBUTES_SLOT else str(position.slot)
    return f"{position.batch_id}-{slot}"


def event_id_parse(text: str, *, field: str = "event_id") -> Position:
    """The position an event id names, else ``FieldError`` naming ``field``."""
    batch, _, slot = text[:MAX_TOKEN_LENGTH].partition("-")
    problem = f"expected an event id such as 1234-0 or 1234-{ATTRIBUTES_NAME}"
    if not (_is_number(batch, MAX_ID) and batch != "0"):
        raise FieldError(field, problem)
    if slot == ATTRIBUTES_NAME:
        return Position(int(batch), ATTRIBUTES_SLOT)
    if not _is_number(slot, MAX_SLOT):
        raise FieldError(field, problem)
    return Position(int(batch), int(slot))


def cursor_encode(position: Position) -> str:
    """An opaque, signed token: a client cannot forge one that points anywhere odd."""
    return signing.dumps([position.batch_id, position.slot], salt=_SALT, compress=False)


def cursor_decode(token: str, *, field: str = "cursor") -> Position:
    problem = "not a cursor this page or API gave; pass next_cursor (or newest) as it is"
    if len(token) > MAX_TOKEN_LENGTH:
        raise FieldError(field, f"longer than {MAX_TOKEN_LENGTH} characters; {problem}")
    try:
        batch_id, slot = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        raise FieldError(field, problem) from None
    valid = type(batch_id) is int and type(slot) is int and 0 <= batch_id <= MAX_ID
    if not valid or not WHOLE_BATCH <= slot <= MAX_SLOT:
        raise FieldError(field, problem)
    return Position(batch_id, slot)


def _is_number(text: str, highest: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= highest
