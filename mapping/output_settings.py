"""Typed, per-output forwarding settings: the one shape mapping and delivery read.

Stored as JSON on ``connections.BrazeOutput.settings`` and always read back through
``OutputSettings.model_validate``; no other module reads the raw dict.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mapping.subscription_settings import SubscriptionGroupMapping


class ExternalIdentityType(StrEnum):
    """mParticle identity forwarded as Braze ``external_id`` (value = batch identity key)."""

    CUSTOMER_ID = "customer_id"
    EMAIL = "email"
    OTHER = "other"
    OTHER_2 = "other_id_2"
    OTHER_3 = "other_id_3"
    OTHER_4 = "other_id_4"
    OTHER_5 = "other_id_5"
    OTHER_6 = "other_id_6"
    OTHER_7 = "other_id_7"
    OTHER_8 = "other_id_8"
    OTHER_9 = "other_id_9"
    OTHER_10 = "other_id_10"
    MPID = "mpid"
    MOBILE_NUMBER = "mobile_number"
    PHONE_NUMBER_2 = "phone_number_2"
    PHONE_NUMBER_3 = "phone_number_3"
    FACEBOOK = "facebook"
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    TWITTER = "twitter"
    YAHOO = "yahoo"
    ALIAS = "alias"

    @property
    def label(self) -> str:
        return EXTERNAL_IDENTITY_LABELS[self]


EXTERNAL_IDENTITY_LABELS: dict[ExternalIdentityType, str] = {
    ExternalIdentityType.CUSTOMER_ID: "Customer ID",
    ExternalIdentityType.EMAIL: "Email",
    ExternalIdentityType.OTHER: "Other",
    **{ExternalIdentityType(f"other_id_{n}"): f"Other {n}" for n in range(2, 11)},
    ExternalIdentityType.MPID: "MPID",
    ExternalIdentityType.MOBILE_NUMBER: "Mobile number",
    ExternalIdentityType.PHONE_NUMBER_2: "Phone number 2",
    ExternalIdentityType.PHONE_NUMBER_3: "Phone number 3",
    ExternalIdentityType.FACEBOOK: "Facebook",
    ExternalIdentityType.GOOGLE: "Google",
    ExternalIdentityType.MICROSOFT: "Microsoft",
    ExternalIdentityType.TWITTER: "Twitter",
    ExternalIdentityType.YAHOO: "Yahoo",
    ExternalIdentityType.ALIAS: "Alias",
}


class EmailIdentityType(StrEnum):
    """mParticle identity forwarded as Braze ``email``."""

    EMAIL = "email"
    OTHER = "other"
    OTHER_2 = "other_id_2"
    OTHER_3 = "other_id_3"
    OTHER_4 = "other_id_4"
    OTHER_5 = "other_id_5"
    OTHER_6 = "other_id_6"
    OTHER_7 = "other_id_7"
    OTHER_8 = "other_id_8"
    OTHER_9 = "other_id_9"
    OTHER_10 = "other_id_10"

    @property
    def label(self) -> str:
        return EXTERNAL_IDENTITY_LABELS[ExternalIdentityType(self.value)]


class TypeDetection(StrEnum):
    NONE = "none"
    USER_ATTRIBUTES = "user_attributes"
    EVENT_ATTRIBUTES = "event_attributes"
    BOTH = "both"


class CommerceMode(StrEnum):
    PURCHASE_PER_PRODUCT = "purchase_per_product"
    BUNDLED = "bundled"
    RECOMMENDED_EVENTS = "recommended_events"


class ProductIdSource(StrEnum):
    SKU = "sku"
    NAME = "name"


class UserTagsValue(StrEnum):
    TRUE = "true"
    NULL = "null"


class AnonymousUsers(StrEnum):
    DROP = "drop"
    USER_ALIAS = "user_alias"


class BatchSizeMode(StrEnum):
    COMBINED_75 = "combined_75"
    COMBINED_50 = "combined_50"
    PER_ARRAY_75 = "per_array_75"


class OutputSettings(BaseModel):
    """What one Braze output forwards and how.

    The settings as users read them: docs/configuration.md "Per-output forwarding settings".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    forward_screen_views: bool = False
    forward_session_events: bool = False
    type_detection: TypeDetection = TypeDetection.NONE
    commerce_mode: CommerceMode = CommerceMode.PURCHASE_PER_PRODUCT
    product_id_source: ProductIdSource = ProductIdSource.SKU
    send_user_attribute_lists_as_arrays: bool = False
    include_enriched_user_attributes: bool = True
    user_tags_value: UserTagsValue = UserTagsValue.TRUE
    anonymous_users: AnonymousUsers = AnonymousUsers.DROP
    event_allowlist: tuple[str, ...] = ()
    event_denylist: tuple[str, ...] = ()
    attribute_allowlist: tuple[str, ...] = ()
    attribute_denylist: tuple[str, ...] = ()
    subscription_group_mapping: SubscriptionGroupMapping = ()
    batch_size_mode: BatchSizeMode = BatchSizeMode.COMBINED_75
    max_attribute_array_length: int = Field(default=500, ge=1, le=500)


EXTERNAL_IDENTITY_CHOICES = [(t.value, t.label) for t in ExternalIdentityType]
EMAIL_IDENTITY_CHOICES = [(t.value, t.label) for t in EmailIdentityType]
