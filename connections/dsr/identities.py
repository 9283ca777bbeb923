"""The identity types an erasure may name, under OpenDSR's, mParticle's and the SDKs' names,
and where each is found: a batch's ``user_identities`` key, the identity store's type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MPID: Final = "mpid"
PROCESSOR_EXTENSION: Final = "opendsr.mparticle.com"  # mParticle's extension, accepted as is
MAX_VALUE_LENGTH: Final = 512


@dataclass(frozen=True)
class IdentityKind:
    """One identity: its name in a batch (``ExternalIdentityType`` values) and in the store."""

    batch_key: str
    store_type: str
    batch_spellings: tuple[str, ...] = ()  # the SDKs spell customer_id without the underscore


CUSTOMER_ID = IdentityKind("customer_id", "customerid", ("customerid",))
KINDS: Final[dict[str, IdentityKind]] = {
    "customer_id": CUSTOMER_ID,
    "email": IdentityKind("email", "email"),
    "other": IdentityKind("other", "other"),
    **{f"other_id_{n}": IdentityKind(f"other_id_{n}", f"other{n}") for n in range(2, 11)},
    **{
        name: IdentityKind(name, name)
        for name in ("mobile_number", "phone_number_2", "phone_number_3")
    },
}
# Every accepted name → the batch key above (or ``mpid``).
ALIASES: Final[dict[str, str]] = {
    "controller_customer_id": "customer_id",  # OpenDSR's name
    "customerid": "customer_id",
    "other1": "other",  # mParticle's extension example
    **{f"other{n}": f"other_id_{n}" for n in range(2, 11)},  # mParticle's extension names
    MPID: MPID,
    **{name: name for name in KINDS},
}
# What discovery lists: OpenDSR's own names first, then mParticle's extension names.
DISCOVERY_TYPES: Final = (
    "controller_customer_id",
    "email",
    MPID,
    "other",
    *(f"other{n}" for n in range(2, 11)),
    "mobile_number",
    "phone_number_2",
    "phone_number_3",
)


def canonical_type(name: str) -> str | None:
    """The batch key (or ``mpid``) an accepted identity type name stands for."""
    return ALIASES.get(name.strip().lower())


def mpid_parse(value: str) -> int | None:
    """An MPID as mParticle gives it (a signed 64-bit integer, as a string); 0 is "none"."""
    text = value.strip()
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 20):
        return None
    number = int(text)
    return number if number and -(2**63) <= number < 2**63 else None
