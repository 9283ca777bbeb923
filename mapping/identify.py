"""Anonymous → known: what a batch says of its MPID, and the ``/users/identify`` that merges an
alias-only profile into the known one (docs/mapping.md "Anonymous users, then known").

Pure: a batch and the output's context in, plain data out. The forwarder decides when to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from mapping.identity import (
    ALIAS_LABEL,
    MAX_EXTERNAL_ID_BYTES,
    identity_value,
    mpid_of,
)
from mapping.objects import MappingContext
from mapping.output_settings import AnonymousUsers, ExternalIdentityType
from mapping.state import BatchState

IDENTIFY_ARRAY: Final = "aliases_to_identify"
IDENTIFY_CAP: Final = 50  # aliases per /users/identify request (Braze reference §6)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One batch's MPID and, when it carried one, the external id; ``None``: anonymous, so its
    objects went out under the alias ``{alias_name: mpid, alias_label: mparticle_id}``."""

    mpid: str
    external_id: str | None

    @property
    def anonymous(self) -> bool:
        return self.external_id is None


def batch_sighting(batch: Any, context: MappingContext) -> Sighting | None:
    """The batch's sighting when the output can merge (anonymous users as a user alias, an
    external identity other than the MPID), else ``None``. Never raises, never records issues:
    the engine reports whatever is wrong with the identities."""
    if context.settings.anonymous_users is not AnonymousUsers.USER_ALIAS:
        return None
    identity_type = context.external_identity_type
    if identity_type is ExternalIdentityType.MPID or type(batch) is not dict:
        return None
    scratch = BatchState(context)  # issues found here are the engine's to report
    mpid = mpid_of(batch, scratch)
    if mpid is None:
        return None
    external_id = identity_value(batch, identity_type.value, scratch)
    if external_id is not None and len(external_id.encode()) > MAX_EXTERNAL_ID_BYTES:
        return None  # the engine drops the batch's objects: nothing to merge into
    return Sighting(mpid, external_id)


def alias_to_identify(*, external_id: str, mpid: str) -> dict[str, Any]:
    """One ``aliases_to_identify`` item: the known user and the alias its anonymous objects
    were sent under."""
    return {
        "external_id": external_id,
        "user_alias": {"alias_name": mpid, "alias_label": ALIAS_LABEL},
    }


def identify_bodies(items: Sequence[dict[str, Any]]) -> list[dict[str, list[dict[str, Any]]]]:
    """``/users/identify`` bodies of at most ``IDENTIFY_CAP`` aliases each, in order."""
    return [
        {IDENTIFY_ARRAY: list(items[start : start + IDENTIFY_CAP])}
        for start in range(0, len(items), IDENTIFY_CAP)
    ]
