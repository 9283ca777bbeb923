"""Structural checks that make a batch unusable as a whole: the inbound API answers 400 for them.

Anything subtler (bad values, unknown event types) is left to the mapping, which records issues.
"""

from __future__ import annotations

from typing import Final

MAX_PROBLEMS: Final = 20
_TOP_LEVEL_OBJECTS: Final = ("user_identities", "user_attributes", "device_info")


def validate_batch_shape(batch: object) -> list[tuple[str, str]]:
    """(JSONPath, message) for each structural problem, at most MAX_PROBLEMS; [] when usable."""
    if type(batch) is not dict:
        return [("$", "a batch must be a JSON object")]
    problems = [
        (f"$.{key}", "must be an object")
        for key in _TOP_LEVEL_OBJECTS
        if batch.get(key) is not None and type(batch[key]) is not dict
    ]
    deleted = batch.get("deleted_user_attributes")
    if deleted is not None and type(deleted) is not list:
        problems.append(("$.deleted_user_attributes", "must be an array"))
    events = batch.get("events")
    if events is not None and type(events) is not list:
        problems.append(("$.events", "must be an array"))
    elif events:
        for index, event in enumerate(events):
            problems.extend(_event_problems(f"$.events[{index}]", event))
            if len(problems) >= MAX_PROBLEMS:
                break
    return problems[:MAX_PROBLEMS]


def _event_problems(path: str, event: object) -> list[tuple[str, str]]:
    if type(event) is not dict:
        return [(path, "an event must be a JSON object")]
    problems = []
    event_type = event.get("event_type")
    if event_type is None:
        problems.append((f"{path}.event_type", "event_type is required"))
    elif type(event_type) is not str:
        problems.append((f"{path}.event_type", "event_type must be a string"))
    data = event.get("data")
    if data is not None and type(data) is not dict:
        problems.append((f"{path}.data", "data must be a JSON object"))
    return problems
