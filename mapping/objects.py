"""The engine's inputs and outputs: the mapping context, Braze objects, the mapping result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from mapping.issues import Issue
from mapping.output_settings import EmailIdentityType, ExternalIdentityType, OutputSettings


class ObjectKind(StrEnum):
    """Which `/users/track` array an object goes in (the value is the array's name)."""

    ATTRIBUTES = "attributes"
    EVENTS = "events"
    PURCHASES = "purchases"


@dataclass(frozen=True, slots=True)
class MappingContext:
    """Everything the engine needs besides the batch; ``now`` dates ``$Age`` and undated events.

    ``app_ids`` maps a platform (``ios``, ``android``, ``web``) to that output's app identifier.
    """

    settings: OutputSettings
    now: datetime
    external_identity_type: ExternalIdentityType = ExternalIdentityType.CUSTOMER_ID
    email_identity_type: EmailIdentityType = EmailIdentityType.EMAIL
    app_ids: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Callers often hold the stored strings ("customer_id"); accept them as the enums.
        external = ExternalIdentityType(self.external_identity_type)
        object.__setattr__(self, "external_identity_type", external)
        email = EmailIdentityType(self.email_identity_type)
        object.__setattr__(self, "email_identity_type", email)


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """How much of a user's profile is kept (``MPBRAZE_PROFILE_MAX_*``): attributes past either
    bound are still sent with their batch, not kept for the next ones (a mapping issue)."""

    max_attributes: int = 100
    max_bytes: int = 50_000


@dataclass(frozen=True, slots=True)
class Profile:
    """A user's attributes as Braze holds them after every batch applied so far.

    ``attributes``: Braze name → value as sent (an unset attribute is absent, never None).
    ``stamps``: Braze name → the arrival order (batch id) of the batch that last set or removed
    it. A removed name keeps its stamp, so an older batch mapped later cannot bring it back.
    """

    attributes: dict[str, Any] = field(default_factory=dict)
    stamps: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProfileInput:
    """The stored profile of the batch's user and where the batch stands in arrival order."""

    stored: Profile
    order: int
    limits: ProfileLimits = ProfileLimits()


@dataclass(frozen=True, slots=True)
class BrazeObject:
    """One attributes, event or purchase object, tagged with where it came from.

    ``event_index`` is the position in the batch's ``events`` (None for batch-level attributes);
    ``user_key`` is the external_id or alias name, so requests can keep one user together.
    """

    kind: ObjectKind
    body: dict[str, Any]
    event_index: int | None
    event_id: str | None
    user_key: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item of the batch left out under the output's settings (not an issue), and why."""

    event_index: int | None  # None for the batch's own user attributes
    item: str  # e.g. 'screen view “Home”'
    why: str  # e.g. 'screen views are not forwarded by this output'


@dataclass(frozen=True, slots=True)
class MappingResult:
    objects: tuple[BrazeObject, ...]
    issues: tuple[Issue, ...]
    skipped: tuple[Skipped, ...]
    # The user's profile after this batch, when the caller passed one in and the batch had a
    # user to send for; None otherwise (nothing to store).
    profile: Profile | None = None

    @property
    def filtered_count(self) -> int:
        return len(self.skipped)

    def bodies(self, kind: ObjectKind) -> list[dict[str, Any]]:
        """The bodies of one kind, in order (what the preview page shows per array)."""
        return [item.body for item in self.objects if item.kind is kind]
