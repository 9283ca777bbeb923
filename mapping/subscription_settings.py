"""The Server output's subscription group mapping: user attribute key → Braze subscription group.

mParticle's ``subscriptionGroupMapping`` (reference mparticle_braze_kit.md §1a, §4.9). The rules
live on the types below, so every writer meets them: ``OutputSettings.model_validate`` (the REST
API) and ``subscription_group_mapping_validate`` (the output form) run the same validators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticError
from pydantic_core import PydanticCustomError

MAX_ATTRIBUTE_KEY_LENGTH: Final = 255
MAX_LINKS: Final = 100  # far above any workspace's groups; bounds what one setting can cost
# Braze shows a subscription group's id as a canonical UUID (Audience → Subscriptions).
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_EXAMPLE_ID: Final = "6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77"


class SubscriptionGroupLink(BaseModel):
    """One row: the user attribute (as the batch spells it) and the group it drives."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: str
    subscription_group_id: str

    @field_validator("attribute")
    @classmethod
    def _attribute(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("empty_attribute", "Name the user attribute.")
        if len(value) > MAX_ATTRIBUTE_KEY_LENGTH:
            raise PydanticCustomError(
                "attribute_too_long", "A user attribute key is at most 255 characters."
            )
        return value

    @field_validator("subscription_group_id")
    @classmethod
    def _group_id(cls, value: str) -> str:
        text = value.strip()
        if not _UUID.fullmatch(text):
            raise PydanticCustomError(
                "not_a_uuid",
                "“{value}” is not a subscription group id: Braze shows it as a UUID such as "
                "{example} (Audience → Subscriptions).",
                {"value": value[:60], "example": _EXAMPLE_ID},
            )
        return text.lower()


def _unique_attributes(
    links: tuple[SubscriptionGroupLink, ...],
) -> tuple[SubscriptionGroupLink, ...]:
    if len(links) > MAX_LINKS:
        raise PydanticCustomError(
            "too_many_links",
            "At most {limit} subscription groups can be mapped.",
            {"limit": MAX_LINKS},
        )
    seen: dict[str, int] = {}
    for row, link in enumerate(links, start=1):
        if link.attribute in seen:
            raise PydanticCustomError(
                "duplicate_attribute",
                "“{attribute}” is mapped twice (rows {first} and {second}): a user attribute "
                "drives one subscription group.",
                {"attribute": link.attribute[:60], "first": seen[link.attribute], "second": row},
            )
        seen[link.attribute] = row
    return links


#: The setting's type on ``OutputSettings``: its validators are the one validation.
SubscriptionGroupMapping = Annotated[
    tuple[SubscriptionGroupLink, ...], AfterValidator(_unique_attributes)
]
_ADAPTER: Final = TypeAdapter(SubscriptionGroupMapping)


def subscription_group_mapping_validate(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[tuple[SubscriptionGroupLink, ...], list[tuple[int | None, str]]]:
    """The links, or the problems as (row number from 1, or None for the whole list, message).

    The output form calls this; the REST API meets the same validators through
    ``OutputSettings.model_validate``.
    """
    try:
        return _ADAPTER.validate_python(list(rows)), []
    except PydanticError as error:
        return (), [(_row_of(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]


def _row_of(location: tuple[int | str, ...]) -> int | None:
    return location[0] + 1 if location and isinstance(location[0], int) else None
