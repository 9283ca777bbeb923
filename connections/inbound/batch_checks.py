"""Checks of one parsed batch: values the database cannot hold, then the batch's structure.

Each check returns ``Problem``s that name a JSON path such as ``events[2].event_type`` (with a
``[3]`` prefix for the fourth batch of a bulk request), so a sender can find what to fix.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Final

from mapping.shape import validate_batch_shape

MAX_DEPTH: Final = 32
MAX_PROBLEMS: Final = 10
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
# PostgreSQL jsonb refuses NUL; lone surrogates are not Unicode and cannot be encoded as UTF-8.
_UNSTORABLE_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
_MISSING_EVENT_TYPE: Final = 'Required event field "event_type" is missing or empty.'


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def key_path(parent: str, key: str) -> str:
    """``parent.key``, or ``parent["odd key"]`` (ASCII-escaped) when the key is not plain."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key[:60])}]"


def batch_problems(batch: Any, path: str) -> list[Problem]:
    """Every reason, up to MAX_PROBLEMS, why one parsed batch cannot be accepted."""
    problems = (
        [] if _values_storable(batch) else list(islice(_value_problems(batch, path), MAX_PROBLEMS))
    )
    return problems or _shape_problems(batch, path)[:MAX_PROBLEMS]


def _values_storable(root: Any) -> bool:
    """Whether ``_value_problems`` would find nothing, without building a path for every value:
    the walk of an accepted batch (nearly every one) names no path, so it builds none."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH or _UNSTORABLE_TEXT.search("".join(value)):
                return False
            children: Any = value.values()
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return False
            children = value
        else:
            children = (value,)
            depth -= 1  # a scalar root is checked as its own child, at its own depth
        for child in children:
            if isinstance(child, str):
                if _UNSTORABLE_TEXT.search(child):
                    return False
            elif isinstance(child, float):
                if not math.isfinite(child):
                    return False
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return True


def _value_problems(root: Any, root_path: str) -> Iterator[Problem]:
    # Iterative walk: a recursive one would hit Python's recursion limit on hostile nesting.
    stack: list[tuple[Any, str, int]] = [(root, root_path, 1)]
    while stack:
        value, path, depth = stack.pop()
        problem = _node_problem(value, depth)
        if problem:
            yield Problem(path, problem)
            continue
        children = reversed(list(_children(value, path)))
        stack.extend((child, child_path, depth + 1) for child_path, child in children)


def _children(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, list):
        yield from ((f"{path}[{index}]", item) for index, item in enumerate(value))
    elif isinstance(value, dict):
        yield from ((key_path(path, key), child) for key, child in value.items())


def _node_problem(value: Any, depth: int) -> str | None:
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return f"Nested deeper than {MAX_DEPTH} levels; flatten this data."
    if isinstance(value, dict):
        # A NUL in a key breaks jsonb as much as one in a value.
        bad_key = next((key for key in value if _UNSTORABLE_TEXT.search(key)), None)
        return None if bad_key is None else "A key " + _text_problem(bad_key)
    if isinstance(value, str) and _UNSTORABLE_TEXT.search(value):
        return "Text " + _text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "Number is out of range for a double-precision float."
    return None


def _text_problem(text: str) -> str:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored."
    return "contains an unpaired UTF-16 surrogate escape, which is not valid Unicode."


def _shape_problems(batch: Any, path: str) -> list[Problem]:
    if type(batch) is not dict:
        return [Problem(path, "A batch must be a JSON object.")]
    events = batch.get("events")
    if events is not None and type(events) is not list:
        return [Problem(key_path(path, "events"), '"events" must be an array of events.')]
    problems = [
        problem
        for index, event in enumerate(events or [])
        for problem in _event_problems(event, f"{key_path(path, 'events')}[{index}]")
    ]
    return problems + _other_shape_problems(batch, path)


def _event_problems(event: Any, path: str) -> list[Problem]:
    if type(event) is not dict:
        return [Problem(path, "An event must be a JSON object.")]
    problems = []
    event_type = event.get("event_type")
    if event_type is None or (type(event_type) is str and not event_type.strip()):
        problems.append(Problem(key_path(path, "event_type"), _MISSING_EVENT_TYPE))
    elif type(event_type) is not str:
        problems.append(Problem(key_path(path, "event_type"), '"event_type" must be a string.'))
    data = event.get("data")
    if data is not None and type(data) is not dict:
        problems.append(Problem(key_path(path, "data"), '"data" must be a JSON object.'))
    return problems


def _other_shape_problems(batch: dict[str, Any], path: str) -> list[Problem]:
    """The mapping's own structural rules, so nothing accepted here fails as a whole later."""
    return [
        Problem(key_path(path, shape_path.removeprefix("$.")), _sentence(text))
        for shape_path, text in validate_batch_shape(batch)
        if not shape_path.startswith("$.events")  # checked above, with mParticle's messages
    ]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].rstrip(".") + "."
