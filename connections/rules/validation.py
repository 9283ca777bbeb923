"""The configuration rules (docs/configuration.md), shared by the marketer forms and the REST API.

Plain values in, field errors and notices out; callers map errors onto their own fields.
Error keys are the field names of ``BrazeOutput`` (``__all__`` for the whole output).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from connections.crypto import encryption
from connections.models import APP_PLATFORMS, DeliveryMode, Platform
from connections.rules import hosts, instances
from connections.rules.origins import OriginError, origins_normalise
from mapping.output_settings import EmailIdentityType, ExternalIdentityType
from mpbraze.addresses import EndpointPolicy

NON_FIELD = "__all__"
ENDPOINT_FIELDS = {
    "custom_sdk_endpoint": "Custom SDK endpoint",
    "custom_rest_endpoint": "Custom REST endpoint",
    "custom_js_endpoint": "Custom JavaScript endpoint",
}
ENDPOINT_KINDS = {
    "custom_sdk_endpoint": hosts.EndpointKind.SDK,
    "custom_rest_endpoint": hosts.EndpointKind.REST,
    "custom_js_endpoint": hosts.EndpointKind.JS,
}


@dataclass(frozen=True)
class OutputDraft:
    """An output as someone wants to save it. ``api_key`` empty means "keep the stored key"."""

    platform: str
    api_key: str = ""
    stored_key_fingerprint: str = ""
    external_identity_type: str = ExternalIdentityType.CUSTOMER_ID.value
    email_identity_type: str = EmailIdentityType.EMAIL.value
    braze_instance: str = instances.DEFAULT_INSTANCE
    custom_sdk_endpoint: str = ""
    custom_rest_endpoint: str = ""
    custom_js_endpoint: str = ""
    allowed_origins: str = ""  # Web only: one origin per line
    delivery_mode: str = DeliveryMode.KIT.value  # app outputs only

    @property
    def key_fingerprint(self) -> str:
        return encryption.fingerprint(self.api_key) if self.api_key else self.stored_key_fingerprint

    @property
    def rest_host(self) -> str:
        named = instances.get(self.braze_instance)
        return named.rest_host if named else self.custom_rest_endpoint

    @property
    def sdk_host(self) -> str:
        named = instances.get(self.braze_instance)
        return named.sdk_host if named else self.custom_sdk_endpoint

    @property
    def js_host(self) -> str:
        named = instances.get(self.braze_instance)
        return named.js_host if named else self.custom_js_endpoint


@dataclass(frozen=True)
class SiblingOutput:
    """Another output of the same connection, as far as the rules need to know it."""

    platform: str
    key_fingerprint: str
    rest_host: str


@dataclass
class Validation:
    draft: OutputDraft
    errors: dict[str, list[str]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors


def platform_label(platform: str) -> str:
    return dict(Platform.choices).get(platform, platform)


def instance_finder_error(pasted: str, braze_instance: str) -> str | None:
    """What is wrong with a "Find my instance" value, if anything. The finder only helps pick
    the instance (the page's script selects it): an address on another instance than the one
    chosen is an error naming both, never a reason to save another instance."""
    if not pasted.strip():
        return None
    found = instances.find_instance(pasted)
    if found is None:
        return "No Braze instance matches that address; choose Custom for other endpoints."
    if found.code == braze_instance:
        return None
    what = "dashboard URL" if instances.is_dashboard_address(pasted) else "endpoint"
    chosen = instances.label(braze_instance)
    return f"The {what} you pasted is on {found.label}, but {chosen} is selected."


def validate_output(
    draft: OutputDraft,
    siblings: list[SiblingOutput],
    policy: EndpointPolicy,
    *,
    key_required: bool,
) -> Validation:
    """Every configuration rule (docs/configuration.md) for one output; ``draft`` in the
    result is normalised."""
    result = Validation(draft)
    _check_platform(result, siblings)
    _check_api_key(result, key_required)
    _check_identity_types(result)
    _check_instance_and_endpoints(result, policy)
    _check_allowed_origins(result)
    _check_delivery_mode(result)
    if not result.errors:
        _check_against_siblings(result, siblings)
    return result


def _check_platform(result: Validation, siblings: list[SiblingOutput]) -> None:
    platform = result.draft.platform
    if platform not in Platform.values:
        result.add(
            "platform", f"Unknown platform “{platform}”; choose iOS, Android, Web or Server."
        )
    elif any(s.platform == platform for s in siblings):
        result.add(
            "platform", f"This connection already has an output for {platform_label(platform)}."
        )
    elif platform == Platform.SERVER and not any(s.platform in APP_PLATFORMS for s in siblings):
        result.add(
            "platform",
            "A Server output needs an iOS, Android or Web output on the same connection first: "
            "the server-to-server integration is an add-on to the embedded kit, which is needed "
            "regardless of approach.",
        )


def _check_api_key(result: Validation, key_required: bool) -> None:
    key = result.draft.api_key.strip()
    result.draft = dataclasses.replace(result.draft, api_key=key)
    if not key:
        if key_required:
            result.add("api_key", "API key is required.")
        return
    if any(ch.isspace() for ch in key):
        result.add("api_key", "API key must not contain spaces, tabs or line breaks.")
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        result.add("api_key", "API key must not contain control characters.")
    elif len(key) > 255:
        result.add("api_key", f"API key is {len(key)} characters long; the limit is 255.")


def _check_identity_types(result: Validation) -> None:
    if result.draft.external_identity_type not in ExternalIdentityType._value2member_map_:
        result.add("external_identity_type", "Choose one of the listed external identity types.")
    if result.draft.email_identity_type not in EmailIdentityType._value2member_map_:
        result.add("email_identity_type", "Choose one of the listed email identity types.")


def _check_instance_and_endpoints(result: Validation, policy: EndpointPolicy) -> None:
    draft = result.draft
    if draft.braze_instance != instances.CUSTOM and instances.get(draft.braze_instance) is None:
        result.add("braze_instance", f"Unknown Braze instance “{draft.braze_instance}”.")
        return
    if draft.braze_instance != instances.CUSTOM:
        for name, label in ENDPOINT_FIELDS.items():
            if getattr(draft, name).strip():
                result.add(name, f"{label} must be empty unless the instance is Custom.")
        return
    for name, label in ENDPOINT_FIELDS.items():
        _normalise_endpoint(result, name, label, policy)
    _check_custom_endpoint_platforms(result)


def _normalise_endpoint(result: Validation, name: str, label: str, policy: EndpointPolicy) -> None:
    raw = getattr(result.draft, name)
    if not raw.strip():
        result.draft = dataclasses.replace(result.draft, **{name: ""})
        if name == "custom_rest_endpoint":
            result.add(name, "Custom REST endpoint is required when the instance is Custom.")
        return
    try:
        normalised = hosts.endpoint_check(raw, ENDPOINT_KINDS[name], policy, label)
    except hosts.HostError as error:
        result.add(name, str(error))
        return
    result.draft = dataclasses.replace(result.draft, **{name: normalised.host})
    if normalised.notice:
        result.notices.append(normalised.notice)


def _check_custom_endpoint_platforms(result: Validation) -> None:
    draft = result.draft
    if draft.custom_js_endpoint and draft.platform != Platform.WEB:
        result.add("custom_js_endpoint", "The JavaScript endpoint applies to the Web output only.")
    if draft.custom_sdk_endpoint and draft.platform == Platform.SERVER:
        result.add(
            "custom_sdk_endpoint", "The SDK endpoint applies to iOS, Android and Web outputs only."
        )


def _check_allowed_origins(result: Validation) -> None:
    draft = result.draft
    if draft.allowed_origins.strip() and draft.platform != Platform.WEB:
        result.add("allowed_origins", "Allowed origins apply to the Web output only.")
        return
    try:
        origins = origins_normalise(draft.allowed_origins.split())
    except OriginError as error:
        result.add("allowed_origins", str(error))
        return
    result.draft = dataclasses.replace(draft, allowed_origins="\n".join(origins))


def _check_delivery_mode(result: Validation) -> None:
    mode = result.draft.delivery_mode
    if mode not in DeliveryMode.values:
        result.add("delivery_mode", "Choose kit or server-side delivery.")
    elif mode != DeliveryMode.KIT and result.draft.platform == Platform.SERVER:
        result.add("delivery_mode", "The delivery mode applies to iOS, Android and Web outputs.")


def _check_against_siblings(result: Validation, siblings: list[SiblingOutput]) -> None:
    draft = result.draft
    for sibling in siblings:
        if draft.key_fingerprint and sibling.key_fingerprint == draft.key_fingerprint:
            result.add(
                "api_key",
                f"This key is already used by the {platform_label(sibling.platform)} output; "
                "each platform needs its own key.",
            )
        if sibling.rest_host and sibling.rest_host != draft.rest_host:
            field_name = (
                "custom_rest_endpoint"
                if draft.braze_instance == instances.CUSTOM
                else "braze_instance"
            )
            result.add(field_name, _workspace_mismatch(draft, sibling))
            return


#: Where a marketer refused by the one-workspace rule can move every output at once.
MOVE_THEM_ALL = "“Change Braze instance…” on the connection page moves every output at once."


def _workspace_mismatch(draft: OutputDraft, sibling: SiblingOutput) -> str:
    other = platform_label(sibling.platform)
    if draft.platform == Platform.SERVER:
        return (
            f"The server output's REST endpoint {draft.rest_host} must match the event "
            f"configuration's REST endpoint {sibling.rest_host} (from the {other} output). "
            + MOVE_THEM_ALL
        )
    return (
        f"REST endpoint {draft.rest_host} differs from {sibling.rest_host} used by the {other} "
        f"output; all outputs of a connection must use the same Braze workspace. {MOVE_THEM_ALL}"
    )
