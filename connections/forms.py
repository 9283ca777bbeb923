"""Marketer forms: validation and normalisation only; the rules live in ``validation``."""

from __future__ import annotations

from typing import Any

from django import forms

from connections import hosts, instances
from connections.models import BrazeOutput, Platform
from connections.validation import NON_FIELD, OutputDraft, SiblingOutput, validate_output
from mapping.settings import (
    EMAIL_IDENTITY_CHOICES,
    EXTERNAL_IDENTITY_CHOICES,
    AnonymousUsers,
    BatchSizeMode,
    CommerceMode,
    OutputSettings,
    ProductIdSource,
    TypeDetection,
    UserTagsValue,
)

LIST_FIELDS = ("event_allowlist", "event_denylist", "attribute_allowlist", "attribute_denylist")
#: Output fields edited as they are stored (the key and the platform are handled apart).
OUTPUT_CONFIG_FIELDS = (
    "braze_instance",
    "custom_rest_endpoint",
    "custom_sdk_endpoint",
    "custom_js_endpoint",
    "external_identity_type",
    "email_identity_type",
)


class ConnectionCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For example “Shop app — production”.")


class ConnectionEditForm(forms.Form):
    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, help_text="Disabled connections forward nothing.")


class SecretRotationForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label="Keep the current secret working for",
        choices=[(0, "No time: it stops now"), (1, "1 hour"), (24, "24 hours"), (168, "7 days")],
        coerce=int,
        initial=24,
        widget=forms.RadioSelect,
        help_text="Time to give every sender the new secret; both work until then.",
    )


def _choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    return list(labels.items())


def _name_list(help_text: str) -> forms.CharField:
    """A list of names, one per line (read back as a tuple by ``output_settings``)."""
    textarea = forms.Textarea(attrs={"rows": 2})
    return forms.CharField(required=False, widget=textarea, help_text=help_text)


class OutputSettingsFields(forms.Form):
    """The per-output forwarding settings, read back as a typed ``OutputSettings``."""

    forward_screen_views = forms.BooleanField(required=False)
    forward_session_events = forms.BooleanField(
        required=False, help_text="Send “Session Start” / “Session End” custom events."
    )
    type_detection = forms.ChoiceField(
        choices=_choices(
            {
                TypeDetection.NONE: "None",
                TypeDetection.USER_ATTRIBUTES: "User attributes",
                TypeDetection.EVENT_ATTRIBUTES: "Event attributes",
                TypeDetection.BOTH: "User and event attributes",
            }
        ),
        label="Custom attribute type detection",
    )
    commerce_mode = forms.ChoiceField(
        choices=_choices(
            {
                CommerceMode.PURCHASE_PER_PRODUCT: "One purchase per product",
                CommerceMode.BUNDLED: "Bundle commerce event data",
                CommerceMode.RECOMMENDED_EVENTS: "Braze recommended eCommerce events",
            }
        )
    )
    product_id_source = forms.ChoiceField(
        choices=_choices({ProductIdSource.SKU: "SKU", ProductIdSource.NAME: "Product name"}),
        label="Product ID source",
    )
    send_user_attribute_lists_as_arrays = forms.BooleanField(required=False)
    include_enriched_user_attributes = forms.BooleanField(
        required=False, help_text="Braze recommends off: every attribute sent is a data point."
    )
    user_tags_value = forms.ChoiceField(
        choices=_choices({UserTagsValue.TRUE: "true", UserTagsValue.NULL: "null"})
    )
    anonymous_users = forms.ChoiceField(
        choices=_choices(
            {
                AnonymousUsers.DROP: "Drop users without the external identity",
                AnonymousUsers.USER_ALIAS: "Send with a user_alias (label mparticle_id)",
            }
        )
    )
    event_allowlist = _name_list("Only these event names are sent (one per line; empty sends all).")
    event_denylist = _name_list("These event names are never sent (one per line).")
    attribute_allowlist = _name_list(
        "Only these user attributes are sent (one per line; empty sends all)."
    )
    attribute_denylist = _name_list("These user attributes are never sent (one per line).")
    batch_size_mode = forms.ChoiceField(
        choices=_choices(
            {
                BatchSizeMode.COMBINED_75: "75 objects combined",
                BatchSizeMode.COMBINED_50: "50 objects combined (MAU plans)",
                BatchSizeMode.PER_ARRAY_75: "75 per array (legacy)",
            }
        )
    )
    max_attribute_array_length = forms.IntegerField(min_value=1, max_value=500, initial=500)

    @staticmethod
    def initial_from(settings: OutputSettings) -> dict[str, Any]:
        values = settings.model_dump(mode="json")
        for name in LIST_FIELDS:
            values[name] = "\n".join(values[name])
        return values

    def forwarding_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in OutputSettings.model_fields]

    def output_settings(self) -> OutputSettings:
        values = {name: self.cleaned_data[name] for name in OutputSettings.model_fields}
        for name in LIST_FIELDS:
            values[name] = tuple(v.strip() for v in values[name].splitlines() if v.strip())
        return OutputSettings.model_validate(values)


class BrazeOutputForm(OutputSettingsFields):
    platform = forms.ChoiceField(choices=Platform.choices)
    api_key = forms.CharField(
        label="API key",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="App identifier key for iOS/Android/Web; workspace REST API key for Server.",
    )
    instance_finder = forms.CharField(
        required=False,
        label="Find my instance",
        help_text="Paste a Braze dashboard URL or REST endpoint to pick the instance.",
    )
    braze_instance = forms.ChoiceField(choices=instances.CHOICES, label="Braze instance")
    custom_rest_endpoint = forms.CharField(
        required=False, label="Custom REST endpoint", help_text="Required with Custom."
    )
    custom_sdk_endpoint = forms.CharField(
        required=False,
        label="Custom SDK endpoint",
        help_text="Leave blank if you were not given one.",
    )
    custom_js_endpoint = forms.CharField(
        required=False,
        label="Custom JavaScript endpoint",
        help_text="Web only. Leave blank if you were not given one.",
    )
    external_identity_type = forms.ChoiceField(
        choices=EXTERNAL_IDENTITY_CHOICES,
        help_text="Customer ID is recommended: keep it unless Braze users are keyed otherwise.",
    )
    email_identity_type = forms.ChoiceField(choices=EMAIL_IDENTITY_CHOICES)

    field_order = ["platform", "api_key", "instance_finder", *OUTPUT_CONFIG_FIELDS]

    @classmethod
    def initial_for(cls, output: BrazeOutput | None, platform: str) -> dict[str, Any]:
        """Initial values: a stored output's configuration, or defaults for a new one."""
        initial = cls.initial_from(output.forwarding if output else OutputSettings())
        initial["platform"] = output.platform if output else platform
        if output is not None:
            initial |= {name: getattr(output, name) for name in OUTPUT_CONFIG_FIELDS}
        return initial

    def __init__(
        self,
        *args: Any,
        siblings: list[SiblingOutput],
        output: BrazeOutput | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.siblings = siblings
        self.output = output
        self.notices: list[str] = []
        if output is not None:
            self.fields["platform"].disabled = True
            self.fields[
                "api_key"
            ].help_text = f"Stored as {output.api_key_masked}. Leave blank to keep it."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._apply_instance_finder(cleaned)
        if self.errors:
            return cleaned
        result = validate_output(
            self._draft(cleaned),
            self.siblings,
            hosts.EndpointPolicy.from_settings(),
            key_required=self.output is None,
        )
        for name, messages in result.errors.items():
            for message in messages:
                self.add_error(None if name == NON_FIELD else name, message)
        self.draft, self.notices = result.draft, result.notices
        return cleaned

    def _apply_instance_finder(self, cleaned: dict[str, Any]) -> None:
        pasted = cleaned.get("instance_finder", "").strip()
        if not pasted:
            return
        found = instances.find_instance(pasted)
        if found is None:
            self.add_error(
                "instance_finder",
                "No Braze instance matches that address; choose Custom for other endpoints.",
            )
        else:
            cleaned["braze_instance"] = found.code

    def _draft(self, cleaned: dict[str, Any]) -> OutputDraft:
        return OutputDraft(
            platform=cleaned["platform"],
            api_key=cleaned.get("api_key", ""),
            stored_key_fingerprint=self.output.api_key_fingerprint if self.output else "",
            external_identity_type=cleaned["external_identity_type"],
            email_identity_type=cleaned["email_identity_type"],
            braze_instance=cleaned["braze_instance"],
            custom_sdk_endpoint=cleaned.get("custom_sdk_endpoint", ""),
            custom_rest_endpoint=cleaned.get("custom_rest_endpoint", ""),
            custom_js_endpoint=cleaned.get("custom_js_endpoint", ""),
        )
