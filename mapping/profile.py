"""A user's profile: what a batch adds to it, and what of it travels with the batch
(docs/mapping.md "User profile").

Pure: the delivery path loads the stored ``Profile``, passes it in (``ProfileInput``) and
stores the one the result carries. The rules:

- A batch's changes apply in the order Braze receives them: its ``user_attributes``, then its
  ``deleted_user_attributes``, then its ``user_attribute_change`` events. A value is kept as
  it was sent (Braze names, after the output's type rules); a removal (a deletion, a deleted
  change, a user tag sent as null) unsets it.
- Batches apply by arrival order, attribute by attribute: each name is stamped with the order
  of the batch that last set or removed it, and a batch never overwrites a later stamp. So two
  batches of one user mapped at once, or an early batch mapped late, end the same way as if
  they had been mapped one after the other (``profile_join`` merges two such outcomes).
- Bounded: past ``ProfileLimits`` the newest attributes of the batch are sent but not kept
  (a ``profile_full`` issue); removals are remembered for as many names, the oldest forgotten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from mapping.identity import mpid_of, resolve_user
from mapping.issues import IssueAction, IssueKind
from mapping.objects import MappingContext, Profile, ProfileInput, ProfileLimits
from mapping.reserved import RESERVED_ATTRIBUTES
from mapping.state import BatchState, attribute_filter_key

MPID_MIN: Final = -(2**63)  # an MPID is a signed 64-bit number
MPID_MAX: Final = 2**63 - 1

# A stored Braze name and the mParticle keys that map to it, as the attribute lists name them.
_SOURCE_KEYS: Final[dict[str, tuple[str, ...]]] = {}
for _key, (_braze, _convert) in RESERVED_ATTRIBUTES.items():
    _SOURCE_KEYS[_braze] = (*_SOURCE_KEYS.get(_braze, (_braze,)), _key)


@dataclass(frozen=True, slots=True)
class ProfileKey:
    """Whose profile: the MPID when the batch has one, else its external identity alone.
    ``external_id`` is the Braze external_id the batch is sent with ("" while anonymous)."""

    mpid: int | None
    external_id: str


def profile_key(batch: Any, context: MappingContext) -> ProfileKey | None:
    """The profile a batch changes; None when the output sends nothing for it (no user)."""
    if type(batch) is not dict:
        return None
    state = BatchState(context)  # a look-up: the mapping itself reports what is wrong
    user = resolve_user(batch, state)
    if user is None:
        return None
    external_id = user.attribute_ids.get("external_id", "")
    text = mpid_of(batch, state)
    mpid = int(text) if text is not None else None
    if mpid is not None and not MPID_MIN <= mpid <= MPID_MAX:
        mpid = None
    return ProfileKey(mpid, external_id) if mpid is not None or external_id else None


def enriched_fields(
    stored: Profile, own: Mapping[str, Any], touched: set[str], state: BatchState
) -> dict[str, Any]:
    """The batch-level fields with enrichment on: the stored attributes this batch leaves
    alone (its change events carry their own), then the batch's own fields."""
    fields = {
        name: value
        for name, value in stored.attributes.items()
        if name not in touched and _listed(name, state)
    }
    fields.update(own)
    return fields


def _listed(name: str, state: BatchState) -> bool:
    """The output's attribute lists as they stand now: a stored attribute is held to a list
    changed since it was kept. Quiet: the attribute was reported when it arrived."""
    plan = state.plan
    if plan.attribute_allow is None and not plan.attribute_deny:
        return True
    keys = {attribute_filter_key(key) for key in _SOURCE_KEYS.get(name, (name,))}
    if plan.attribute_allow is not None and not keys & plan.attribute_allow:
        return False
    return not keys & plan.attribute_deny


def profile_apply(
    given: ProfileInput, changes: Iterable[tuple[str, Any]], state: BatchState
) -> Profile:
    """The stored profile with this batch's changes, bounded; what is not kept is reported."""
    stored, order = given.stored, given.order
    attributes, stamps = dict(stored.attributes), dict(stored.stamps)
    kept: list[str] = []  # set by this batch, oldest first: the newest go first when over
    for name, value in changes:
        if stamps.get(name, order) > order:
            continue  # a later batch already set or removed it
        stamps[name] = order
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = value
            kept.append(name)
    if kept:
        _bound(attributes, stamps, kept, stored, given.limits, state)
    _forget_old_removals(attributes, stamps, given.limits.max_attributes)
    return Profile(attributes, stamps)


def _bound(
    attributes: dict[str, Any],
    stamps: dict[str, int],
    kept: list[str],
    stored: Profile,
    limits: ProfileLimits,
    state: BatchState,
) -> None:
    newest_first = [name for name in dict.fromkeys(reversed(kept)) if name in attributes]
    while len(attributes) > limits.max_attributes or _size(attributes) > limits.max_bytes:
        new = [name for name in newest_first if name not in stored.attributes]
        over_count = len(attributes) > limits.max_attributes
        candidates = new if over_count else newest_first
        if not candidates:
            return  # over only by what earlier batches kept (a lowered limit): left as it is
        name = candidates[0]
        newest_first.remove(name)
        path = f"profile.{name}"
        state.issue(IssueKind.PROFILE_FULL, path, attributes.pop(name), IssueAction.NOT_KEPT)


def _size(attributes: Mapping[str, Any]) -> int:
    """Bytes of the attributes as stored (JSON, UTF-8)."""
    return len(json.dumps(attributes, ensure_ascii=False, separators=(",", ":")).encode())


def _forget_old_removals(attributes: dict[str, Any], stamps: dict[str, int], keep: int) -> None:
    removals = [name for name in stamps if name not in attributes]
    if len(removals) > keep:
        for name in sorted(removals, key=stamps.__getitem__)[: len(removals) - keep]:
            del stamps[name]


def profile_join(stored: Profile, ours: Profile, limits: ProfileLimits) -> Profile:
    """Two outcomes of the same stored profile (another worker stored ``stored`` while this one
    computed ``ours``): attribute by attribute, the later stamp wins, so the result is the same
    whichever was stored first. Over the bounds, ours gives way (quietly: this is a race)."""
    attributes, stamps = dict(stored.attributes), dict(stored.stamps)
    gained: list[str] = []
    for name, stamp in ours.stamps.items():
        if stamp <= stamps.get(name, -1):
            continue
        stamps[name] = stamp
        if name in ours.attributes:
            if name not in attributes:
                gained.append(name)
            attributes[name] = ours.attributes[name]
        else:
            attributes.pop(name, None)
    while gained and (
        len(attributes) > limits.max_attributes or _size(attributes) > limits.max_bytes
    ):
        del attributes[gained.pop()]
    _forget_old_removals(attributes, stamps, limits.max_attributes)
    return Profile(attributes, stamps)
