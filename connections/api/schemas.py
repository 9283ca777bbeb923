"""What the REST API reads and answers. Input schemas forbid unknown fields; secrets are
write-only (a key goes in, only its masked form comes out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, create_model

from mapping.output_settings import OutputSettings


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


#: Every forwarding setting optional: an update changes only the settings it names.
OutputSettingsPatch: type[Strict] = create_model(  # type: ignore[call-overload]
    "OutputSettingsPatch",
    __base__=Strict,
    **{
        name: (info.annotation | None, None)  # type: ignore[operator]
        for name, info in OutputSettings.model_fields.items()
    },
)


class OutputPatch(Strict):
    """An output's fields; those left out keep their stored value (or the default)."""

    api_key: str = Field("", description="A new key; omit to keep the stored one.", max_length=1000)
    braze_instance: str | None = Field(None, max_length=20)
    custom_rest_endpoint: str | None = Field(None, max_length=300)
    custom_sdk_endpoint: str | None = Field(None, max_length=300)
    custom_js_endpoint: str | None = Field(None, max_length=300)
    external_identity_type: str | None = Field(None, max_length=30)
    email_identity_type: str | None = Field(None, max_length=30)
    delivery_mode: str | None = Field(
        None,
        description="App outputs: kit (default; the SDK's Braze kit sends, mpbraze stores the "
        "SDK's uploads without forwarding them) or server_side (mpbraze forwards them).",
        max_length=20,
    )
    allowed_origins: list[str] | None = Field(
        None,
        description="Web only: the sites (https://shop.example) whose pages may call the Web "
        "SDK endpoints with the web key. Empty: every browser is refused.",
        max_length=20,
    )
    settings: OutputSettingsPatch | None = None


class OutputIn(OutputPatch):
    platform: str = Field(description="ios, android, web or server.", max_length=10)
    api_key: str = Field(
        "",
        description="App identifier key (ios/android/web) or REST API key (server). Write-only.",
        max_length=1000,
    )


class OutputOut(Schema):
    platform: str
    api_key_masked: str
    braze_instance: str
    rest_host: str
    custom_rest_endpoint: str
    custom_sdk_endpoint: str
    custom_js_endpoint: str
    external_identity_type: str
    email_identity_type: str
    delivery_mode: str
    allowed_origins: list[str]
    settings: dict[str, Any]
    updated_at: datetime


class ConnectionIn(Strict):
    name: str = Field(max_length=1000)
    outputs: list[OutputIn] = Field(default_factory=list, max_length=4)


class ConnectionPatch(Strict):
    name: str | None = Field(None, max_length=1000)
    enabled: bool | None = None
    redact_live_events: bool | None = Field(
        None, description="Live events show identities and attributes as •••• but to Ops."
    )


HealthState = Literal[
    "healthy", "degraded", "retrying", "failing", "paused", "disabled", "incomplete", "untested"
]


class ConnectionHealthOut(Schema):
    """The status the pages show, derived the same way each time it is read."""

    state: HealthState = Field(
        description="The status, worst first: disabled, paused, "
        "incomplete, untested, failing, retrying, degraded, healthy."
    )
    label: str = Field(description="The status as the pages name it, e.g. “Retrying”.")
    reason: str = Field(
        description="What is wrong and what to do, as the pages say it; empty when healthy."
    )
    since: datetime | None = Field(
        description="When this state began, when the data tells (null otherwise)."
    )


class ConnectionOut(Schema):
    id: int
    name: str
    slug: str
    status: str = Field(description="Forwarding switch: active, paused or disabled.")
    health: ConnectionHealthOut
    enabled: bool
    redact_live_events: bool
    paused_reason: str
    paused_at: datetime | None
    inbound_key: str
    web_key: str = Field(description="The mParticle Web SDK's key for this connection (public).")
    created_at: datetime
    updated_at: datetime
    outputs: list[OutputOut]


class ConnectionCreated(ConnectionOut):
    inbound_secret: str = Field(description="Shown once: store it now.")


class SecretOut(Schema):
    inbound_key: str
    inbound_secret: str = Field(description="Shown once: store it now.")


class Page(Schema):
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")
