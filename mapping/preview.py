"""Dry-run preview: what would be sent for a batch, with nothing stored or sent.

Pure: the marketer page and the REST preview endpoint both call ``preview_batch``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mapping.engine import map_batch
from mapping.issues import Issue
from mapping.objects import BrazeObject, MappingContext, Skipped
from mapping.requests import build_track_requests
from mapping.shape import validate_batch_shape


@dataclass(frozen=True)
class Preview:
    problems: list[tuple[str, str]]  # structural: the batch would be refused with a 400
    requests: list[dict[str, list[dict[str, Any]]]]  # /users/track bodies, chunked as sent
    issues: list[Issue]
    refused: list[BrazeObject]  # over 100 KB: never sent
    skipped: list[Skipped]  # left out under the output's settings, each with why

    @property
    def filtered_count(self) -> int:
        return len(self.skipped)


def preview_batch(payload: Any, context: MappingContext) -> Preview:
    problems = validate_batch_shape(payload)
    if problems:
        return Preview(problems, [], [], [], [])
    result = map_batch(payload, context)
    plan = build_track_requests(result.objects, context.settings.batch_size_mode)
    return Preview(
        problems=[],
        requests=[request.body for request in plan.requests],
        issues=list(result.issues),
        refused=list(plan.refused),
        skipped=list(result.skipped),
    )
