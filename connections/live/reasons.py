"""Why a mapped event produced no Braze object: the pure mapping engine run again on the
stored batch, with the Server output's current settings (so the reason is as they map it).

It reads only what is stored and sends nothing; it runs for the rows shown, never at ingest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Final

from connections.delivery.mapping_service import output_mapping_context
from connections.delivery.models import InboundBatch
from connections.models import BrazeOutput, Connection, Platform
from mapping.engine import map_batch
from mapping.issues import Issue, IssueAction
from mapping.objects import MappingContext

AS_MAPPED_NOW: Final = "as the output's current settings map it: "
DROPPING = (IssueAction.DROPPED_OBJECT, IssueAction.SKIPPED_EVENT)


@dataclass
class MappedAgain:
    """One batch mapped again: per event index (None: the batch's attributes)."""

    issues: dict[int | None, list[Issue]] = field(default_factory=lambda: defaultdict(list))
    skipped: dict[int | None, list[str]] = field(default_factory=lambda: defaultdict(list))
    objects_at: set[int | None] = field(default_factory=set)
    user_dropped: str = ""  # the whole batch: no user Braze can be sent

    def why_nothing(self, event_index: int | None) -> str:
        """Why the event at ``event_index`` produced no object, in words."""
        if self.user_dropped:
            return AS_MAPPED_NOW + self.user_dropped
        dropping = [i for i in self.issues.get(event_index, []) if i.action in DROPPING]
        if dropping:
            issue = dropping[0]
            return AS_MAPPED_NOW + f"mapping issue: {issue.kind.label} at {issue.field_path}"
        if self.skipped.get(event_index):
            return AS_MAPPED_NOW + "; ".join(self.skipped[event_index])
        if event_index in self.objects_at:
            return "its Braze objects are no longer stored (pruned by retention)"
        return AS_MAPPED_NOW + "nothing in it to send"


def server_mapping_context(connection: Connection) -> MappingContext | None:
    output = (
        BrazeOutput.objects.select_related("connection")
        .filter(connection=connection, platform=Platform.SERVER)
        .first()
    )
    return None if output is None else output_mapping_context(output)


def batch_map_again(batch: InboundBatch, context: MappingContext | None) -> MappedAgain:
    mapped = MappedAgain()
    if context is None:
        mapped.user_dropped = "there is no Server output now"
        return mapped
    result = map_batch(batch.payload, _dated(context, batch))
    for issue in result.issues:
        mapped.issues[issue.event_index].append(issue)
        if issue.event_index is None and issue.action is IssueAction.DROPPED_OBJECT:
            mapped.user_dropped = _user_dropped(issue)
    for skipped in result.skipped:
        mapped.skipped[skipped.event_index].append(f"{skipped.item} {skipped.why}")
    mapped.objects_at = {item.event_index for item in result.objects}
    return mapped


def _user_dropped(issue: Issue) -> str:
    if issue.field_path.startswith(("user_identities", "mpid")):
        return f"anonymous user dropped ({issue.kind.label} at {issue.field_path})"
    return f"mapping issue: {issue.kind.label} at {issue.field_path}"


def _dated(context: MappingContext, batch: InboundBatch) -> MappingContext:
    return replace(context, now=batch.received_at)  # undated events dated as at mapping
