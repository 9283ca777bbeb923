"""Order safety of a replay: an older attributes object never overwrites newer values.

Braze keeps the last value it was sent for each attribute. Replaying a user's old attributes
object after a newer one was accepted would put old values back; so each replayed attributes
object loses the attributes a newer accepted object of the same user set, and is skipped when
nothing but its identifiers is left. Events and purchases carry their own time: they replay as
they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from connections.delivery.models import Delivery

IDENTIFIERS = frozenset(
    {"external_id", "user_alias", "braze_id", "app_id", "_update_existing_only"}
)
# Also identifiers when the object has no stronger one (Braze identifies by email or phone).
FALLBACK_IDENTIFIERS = frozenset({"email", "phone"})


def identifiers_of(body: dict[str, Any]) -> frozenset[str]:
    if IDENTIFIERS & {"external_id", "user_alias", "braze_id"} & body.keys():
        return IDENTIFIERS
    return IDENTIFIERS | FALLBACK_IDENTIFIERS


def attributes_not_overwriting(
    rows: list[Delivery],
) -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
    """Split rows to replay into (kept, rewritten, superseded): kept rows are replayed (the
    rewritten ones among them with a narrower body), superseded rows are left as they are."""
    attributes = [row for row in rows if row.kind == Delivery.Kind.ATTRIBUTES]
    newer = _accepted_attributes(attributes)
    kept, rewritten, superseded = [], [], []
    for row in rows:
        if row.kind != Delivery.Kind.ATTRIBUTES:
            kept.append(row)
            continue
        overwritten = set().union(
            *(keys for position, keys in newer.get(row.user_key, []) if position > _at(row))
        )
        body = _without(row.body, overwritten)
        if body is None:
            superseded.append(row)
            continue
        if body != row.body:
            row.body = body
            rewritten.append(row)
        kept.append(row)
    return kept, rewritten, superseded


def _at(row: Delivery) -> tuple[int, int]:
    return (row.batch_id, row.sequence)


def _accepted_attributes(
    rows: Iterable[Delivery],
) -> dict[str, list[tuple[tuple[int, int], set[str]]]]:
    """Per user, the position and attribute names of each accepted attributes object."""
    rows = list(rows)
    if not rows:
        return {}
    accepted = Delivery.objects.filter(
        Q(kind=Delivery.Kind.ATTRIBUTES) | Q(size__gt=1),  # a row of several may hold one
        output_id__in={row.output_id for row in rows},
        user_key__in={row.user_key for row in rows},
        status=Delivery.Status.SENT,
        batch_id__gte=min(row.batch_id for row in rows),
    ).only("user_key", "batch_id", "sequence", "kind", "event_index", "event_name", "body", "more")
    newer: dict[str, list[tuple[tuple[int, int], set[str]]]] = {}
    for row in accepted:
        for held in row.held_objects():
            if held.kind == Delivery.Kind.ATTRIBUTES:
                keys = set(held.body) - identifiers_of(held.body)
                newer.setdefault(row.user_key, []).append(((row.batch_id, held.sequence), keys))
    return newer


def _without(body: dict[str, Any], overwritten: set[str]) -> dict[str, Any] | None:
    """``body`` less the overwritten attributes, or None if only identifiers remain."""
    identifiers = identifiers_of(body)
    left = {
        key: value for key, value in body.items() if key not in overwritten or key in identifiers
    }
    return left if set(left) - identifiers else None
