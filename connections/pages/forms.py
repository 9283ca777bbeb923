"""Marketer forms: validation and normalisation only; the rules live in ``validation``."""

from __future__ import annotations

from typing import Any

from django import forms

from connections.crypto import encryption
from connections.crypto.typed_keys import KEPT_FOR_SECONDS, KeyScope, typed_key_open, typed_key_seal
from connections.models import BrazeOutput, DeliveryMode, Platform
from connections.pages.settings_form import OutputSettingsFields
from connections.rules import instances
from connections.rules.output_fields import ENDPOINTS, PlatformField, fields_for
from connections.rules.validation import (
    NON_FIELD,
    OutputDraft,
    SiblingOutput,
    instance_finder_error,
    validate_output,
)
from mapping.output_settings import (
    EMAIL_IDENTITY_CHOICES,
    EXTERNAL_IDENTITY_CHOICES,
    OutputSettings,
)
from mpbraze.addresses import EndpointPolicy

#: What the API key field asks for, by platform (the generic help text serves a new output
#: whose platform is not chosen yet).
KEY_HELP: dict[str, str] = {
    Platform.IOS: "The iOS app's identifier key (Braze: Settings → App Settings).",
    Platform.ANDROID: "The Android app's identifier key (Braze: Settings → App Settings).",
    Platform.WEB: "The web app's identifier key (Braze: Settings → App Settings).",
    Platform.SERVER: "A workspace REST API key with the users.track permission "
    "(Braze: Settings → APIs and Identifiers).",
}
#: Output fields edited as they are stored (the key and the platform are handled apart).
OUTPUT_CONFIG_FIELDS = (
    "braze_instance",
    "custom_rest_endpoint",
    "custom_sdk_endpoint",
    "custom_js_endpoint",
    "external_identity_type",
    "email_identity_type",
    "delivery_mode",
)

#: The choices an output draft is made of: the rules run once each of them is valid.
DRAFT_CHOICES = ("platform", "braze_instance", "external_identity_type", "email_identity_type")


class ConnectionCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For example “Shop app — production”.")


class ConnectionEditForm(forms.Form):
    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, help_text="Disabled connections forward nothing.")
    redact_live_events = forms.BooleanField(
        required=False,
        label="Redact live events",
        help_text="Live events show user identities and attributes as •••• to everyone but Ops.",
    )


class SecretRotationForm(forms.Form):
    overlap_hours = forms.TypedChoiceField(
        label="Keep the current secret working for",
        choices=[(0, "No time: it stops now"), (1, "1 hour"), (24, "24 hours"), (168, "7 days")],
        coerce=int,
        initial=24,
        widget=forms.RadioSelect,
        help_text="Time to give every sender the new secret; both work until then.",
    )


class BrazeOutputForm(OutputSettingsFields):
    platform = forms.ChoiceField(choices=Platform.choices)
    kept_api_key = forms.CharField(required=False, widget=forms.HiddenInput)
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
        required=False,
        label="Custom REST endpoint",
        help_text="Required with Custom.",
        widget=forms.TextInput(attrs={"required": True}),  # marked; the rule is in validation
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
    delivery_mode = forms.ChoiceField(
        required=False,  # left out (an older page, a script): kit, the default
        choices=DeliveryMode.choices,
        initial=DeliveryMode.KIT,
        label="Who sends to Braze",
        widget=forms.RadioSelect,
        help_text="For what the app's mParticle SDK uploads to mpbraze's own endpoints. Batches "
        "posted to the Events API (/v2) are forwarded whatever this says.",
    )
    allowed_origins = forms.CharField(
        required=False,
        label="Allowed origins",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Web only. The sites whose pages may call mpbraze with the web key, one per "
        "line (https://shop.example). None: every browser is refused.",
    )

    field_order = ["platform", "api_key", "instance_finder", *OUTPUT_CONFIG_FIELDS]

    @classmethod
    def initial_for(
        cls, output: BrazeOutput | None, platform: str, *, sibling: BrazeOutput | None = None
    ) -> dict[str, Any]:
        """Initial values: a stored output's configuration, or defaults for a new one, on the
        Braze instance of ``sibling`` (an output of the same connection) when there is one."""
        initial = cls.initial_from(output.forwarding if output else OutputSettings())
        initial["platform"] = output.platform if output else platform
        if output is not None:
            initial |= {name: getattr(output, name) for name in OUTPUT_CONFIG_FIELDS}
            initial["allowed_origins"] = "\n".join(output.allowed_origins or [])
        elif sibling is not None:
            initial["braze_instance"] = sibling.braze_instance
            initial["custom_rest_endpoint"] = sibling.custom_rest_endpoint
        else:
            initial["braze_instance"] = instances.DEFAULT_INSTANCE
        initial.setdefault("delivery_mode", DeliveryMode.KIT.value)
        return initial

    def __init__(
        self,
        *args: Any,
        siblings: list[SiblingOutput],
        output: BrazeOutput | None = None,
        key_scope: KeyScope | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.siblings = siblings
        self.output = output
        self.key_scope = key_scope
        self.notices: list[str] = []
        self.typed_key = ""
        self.kept_key_token = ""
        key_field = self.fields["api_key"]
        which = KEY_HELP.get(self.page_platform)
        if which:
            key_field.help_text = which
        if output is not None:
            self.fields["platform"].disabled = True
            key_field.help_text = (
                f"{which} Stored as {output.api_key_masked}. Leave blank to keep it."
            )
        else:
            key_field.widget.attrs["required"] = True  # marked; checked in rules

    @property
    def page_platform(self) -> str:
        """The platform the page is for: the stored one, else the posted or initial choice."""
        if self.output is not None:
            return self.output.platform
        chosen = self.data.get("platform") if self.is_bound else self.initial.get("platform")
        return str(chosen or "")

    def forwarding_fields(self) -> list[PlatformField]:
        names = tuple(OutputSettings.model_fields)
        return [PlatformField.of(self[name], self.page_platform) for name in names]

    def endpoint_fields(self) -> list[PlatformField]:
        return [PlatformField.of(self[name], self.page_platform) for name in ENDPOINTS]

    def output_settings(self) -> OutputSettings:
        """The settings the platform's page shows, as posted; the others as stored (or the
        defaults): an app output's page does not show the server-to-server settings."""
        base = self.output.forwarding if self.output is not None else OutputSettings()
        return self.posted_settings(fields_for(self.cleaned_data["platform"]).settings, base)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self._take_kept_key(cleaned)
        self._check_instance_finder(cleaned)
        # Every rule runs whenever the choices the draft needs are valid, so all errors show
        # at once (the finder's is one of them).
        if all(name in cleaned for name in DRAFT_CHOICES):
            self._validate(cleaned)
        if self.errors:
            self._keep_typed_key()
        return cleaned

    def _take_kept_key(self, cleaned: dict[str, Any]) -> None:
        """A blank key with a token from the previous post: the key typed then."""
        token = cleaned.get("kept_api_key", "")
        if cleaned.get("api_key", "").strip() or not token or self.key_scope is None:
            self.typed_key = cleaned.get("api_key", "")
            return
        kept = typed_key_open(token, scope=self.key_scope)
        if kept is None:
            self.add_error(
                "api_key",
                f"The key typed before is kept {KEPT_FOR_SECONDS // 60} minutes only: "
                "type it again.",
            )
            return
        cleaned["api_key"] = self.typed_key = kept

    def _keep_typed_key(self) -> None:
        """Seal the typed key for the next post; the page says so without showing it."""
        if not self.typed_key.strip() or self.key_scope is None or "api_key" in self.errors:
            return
        self.kept_key_token = typed_key_seal(self.typed_key, scope=self.key_scope)
        self.fields["api_key"].widget.attrs.pop("required", None)
        self["api_key"].help_text = (  # the bound field, made (with its text) before cleaning
            f"Your key was kept ({_masked(self.typed_key)}); "
            "leave blank to use it or type a new one."
        )

    def _validate(self, cleaned: dict[str, Any]) -> None:
        result = validate_output(
            self._draft(cleaned),
            self.siblings,
            EndpointPolicy.from_settings(),
            key_required=self.output is None,
        )
        for name, messages in result.errors.items():
            if name in self.errors:  # its first problem is already said (a kept key expired)
                continue
            for message in messages:
                self.add_error(None if name == NON_FIELD else name, message)
        self.draft, self.notices = result.draft, result.notices

    def _check_instance_finder(self, cleaned: dict[str, Any]) -> None:
        if "braze_instance" not in cleaned:  # an unknown choice, said on its own field
            return
        pasted = cleaned.get("instance_finder", "")
        message = instance_finder_error(pasted, cleaned["braze_instance"])
        if message:
            self.add_error("instance_finder", message)

    def _draft(self, cleaned: dict[str, Any]) -> OutputDraft:
        """The output as posted; an endpoint field hidden for the platform is left out."""
        shown = fields_for(cleaned["platform"]).endpoints
        web = cleaned["platform"] == Platform.WEB
        return OutputDraft(
            platform=cleaned["platform"],
            api_key=cleaned.get("api_key", ""),
            stored_key_fingerprint=self.output.api_key_fingerprint if self.output else "",
            external_identity_type=cleaned["external_identity_type"],
            email_identity_type=cleaned["email_identity_type"],
            braze_instance=cleaned["braze_instance"],
            **{name: cleaned.get(name, "") if name in shown else "" for name in ENDPOINTS},
            allowed_origins=cleaned.get("allowed_origins", "") if web else "",
            delivery_mode=cleaned.get("delivery_mode") or DeliveryMode.KIT.value,
        )


def _masked(key: str) -> str:
    """``••••`` and the last four characters, or only ``••••`` for a key too short to hide."""
    return encryption.mask(key.strip()[-4:]) if len(key.strip()) > 8 else encryption.MASK
