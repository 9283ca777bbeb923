"""Pack Braze objects into `/users/track` request bodies (docs/mapping.md "Requests").

Rules: at most 75 objects combined (50 combined, or 75 per array, per the batch size mode);
a body well under Braze's 4 MB; no object over 100 KB (refused, never sent); the objects of one
source event in one request; one user's objects together and in order. Used by the preview
page and the forwarder alike, so both show and send the same requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from mapping.objects import BrazeObject, ObjectKind
from mapping.output_settings import BatchSizeMode

MAX_OBJECT_BYTES: Final = 100 * 1024
MAX_REQUEST_BYTES: Final = 3 * 1024 * 1024  # Braze answers 413 over 4 MB; keep a wide margin
# {"attributes":[],"events":[],"purchases":[]} plus separators between objects.
_ENVELOPE_BYTES: Final = 64
# (objects per request, objects per array) for each mode.
LIMITS: Final[dict[BatchSizeMode, tuple[int, int]]] = {
    BatchSizeMode.COMBINED_75: (75, 75),
    BatchSizeMode.COMBINED_50: (50, 50),
    BatchSizeMode.PER_ARRAY_75: (225, 75),
}
ARRAY_NAMES: Final[tuple[str, ...]] = tuple(kind.value for kind in ObjectKind)

SizedObject = tuple[BrazeObject, str]  # an object and its compact JSON


@dataclass(frozen=True, slots=True)
class TrackRequest:
    """One request body and, for Braze's per-object errors, what each (array, index) was."""

    body: dict[str, list[dict[str, Any]]]
    index_map: dict[tuple[str, int], BrazeObject]
    size_bytes: int  # the body as compact JSON: json.dumps(body, separators=(",", ":"))
    # That JSON itself, from each object's own encoding (each object is encoded once, to be
    # measured, and sent as it was measured); empty when only ``body`` was given.
    content: bytes = b""


@dataclass(frozen=True, slots=True)
class TrackPlan:
    requests: tuple[TrackRequest, ...]
    refused: tuple[BrazeObject, ...]  # each over MAX_OBJECT_BYTES: Braze would reject it


def build_track_requests(
    objects: Sequence[BrazeObject], batch_size_mode: BatchSizeMode
) -> TrackPlan:
    """Requests in order of each user's first object; see the module docstring for the rules."""
    sized = [(item, _compact(item.body)) for item in objects]
    refused = tuple(item for item, text in sized if len(text) + 1 > MAX_OBJECT_BYTES)
    accepted = [pair for pair in sized if len(pair[1]) + 1 <= MAX_OBJECT_BYTES]
    packer = _Packer(*LIMITS[batch_size_mode])
    for units in _units_by_user(accepted):
        packer.add_user(units)
    return TrackPlan(tuple(packer.finish()), refused)


def _compact(value: Any) -> str:
    """Compact JSON, ASCII only (so its length is its size in bytes; an object counts one
    byte more, for the comma after it).

    orjson writes it, in a tenth of the standard library's time (encoding the objects was a
    tenth of a forwarder's CPU). Where orjson writes text beyond ASCII, or refuses the value
    (a key that is not a string, an integer past 64 bits), the standard library writes it,
    escaped. The text may differ from ``json``'s, the value not: orjson writes DEL as it is
    and exponents without a leading zero (``1e-7``, not ``1e-07``). The one difference in
    value, NaN and the infinities as ``null``, cannot occur: the engine drops them.
    """
    try:
        text = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _escaped(value)
    return text.decode("ascii") if text.isascii() else _escaped(value)


def _escaped(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _units_by_user(sized: Iterable[SizedObject]) -> list[list[list[SizedObject]]]:
    """Per user, in first-seen order: runs of consecutive objects from one source event."""
    users: dict[str, list[list[SizedObject]]] = {}
    for pair in sized:
        units = users.setdefault(pair[0].user_key, [])
        if units and units[-1][-1][0].event_index == pair[0].event_index:
            units[-1].append(pair)
        else:
            units.append([pair])
    return list(users.values())


class _Packer:
    def __init__(self, total_cap: int, array_cap: int) -> None:
        self.total_cap, self.array_cap = total_cap, array_cap
        self.done: list[TrackRequest] = []
        self._start()

    def _start(self) -> None:
        self.pending: list[SizedObject] = []
        self.counts = dict.fromkeys(ARRAY_NAMES, 0)
        self.size = _ENVELOPE_BYTES

    def add_user(self, units: list[list[SizedObject]]) -> None:
        # A user who fits in a fresh request should not start at the tail of a full one; a
        # user too big for any one request fills the current one instead (fuller requests).
        pairs = [pair for unit in units for pair in unit]
        if self.pending and not self._fits(pairs) and self._fits(pairs, fresh=True):
            self._flush()
        for unit in units:
            self._add_unit(unit)

    def _add_unit(self, unit: list[SizedObject]) -> None:
        if self._fits(unit):
            self._take(unit)
            return
        self._flush()
        if self._fits(unit):
            self._take(unit)
            return
        for pair in unit:  # one event with more objects than a request holds: split it
            if not self._fits([pair]):
                self._flush()
            self._take([pair])

    def _fits(self, pairs: list[SizedObject], *, fresh: bool = False) -> bool:
        counts = dict.fromkeys(ARRAY_NAMES, 0) if fresh else dict(self.counts)
        for item, _text in pairs:
            counts[item.kind.value] += 1
        within_arrays = all(count <= self.array_cap for count in counts.values())
        total = sum(counts.values())
        size = (_ENVELOPE_BYTES if fresh else self.size) + sum(len(t) + 1 for _i, t in pairs)
        return within_arrays and total <= self.total_cap and size <= MAX_REQUEST_BYTES

    def _take(self, pairs: list[SizedObject]) -> None:
        for item, text in pairs:
            self.pending.append((item, text))
            self.counts[item.kind.value] += 1
            self.size += len(text) + 1

    def _flush(self) -> None:
        if self.pending:
            self.done.append(_request(self.pending, self.size))
        self._start()

    def finish(self) -> list[TrackRequest]:
        self._flush()
        return self.done


def _request(pending: list[SizedObject], size: int) -> TrackRequest:
    body: dict[str, list[dict[str, Any]]] = {}
    texts: dict[str, list[str]] = {}
    index_map: dict[tuple[str, int], BrazeObject] = {}
    for item, text in pending:
        array = body.setdefault(item.kind.value, [])
        index_map[(item.kind.value, len(array))] = item
        array.append(item.body)
        texts.setdefault(item.kind.value, []).append(text)
    names = [name for name in ARRAY_NAMES if name in body]
    # json.dumps(ordered, separators=(",", ":")), from the objects' own encodings
    content = "{" + ",".join(f"{_escaped(n)}:[{','.join(texts[n])}]" for n in names) + "}"
    ordered = {name: body[name] for name in names}
    return TrackRequest(ordered, index_map, size, content.encode("ascii"))
