"""The "Change Braze instance…" form: validation only, by the rules the API applies too."""

from __future__ import annotations

from typing import Any

from django import forms

from connections.rules import instances
from connections.rules.instance_change import (
    CHANGE_FIELDS,
    InstanceChange,
    InstanceChangeValidation,
    validate_instance_change,
)
from connections.rules.validation import ENDPOINT_FIELDS, OutputDraft, platform_label
from mpbraze.addresses import EndpointPolicy


class InstanceChangeForm(forms.Form):
    """One instance (or custom endpoints) for every output at once, under the rules of
    ``validate_instance_change`` (the API's too)."""

    braze_instance = forms.ChoiceField(choices=instances.CHOICES, label="Braze instance")
    custom_rest_endpoint = forms.CharField(
        required=False, label="Custom REST endpoint", help_text="Required with Custom."
    )
    custom_sdk_endpoint = forms.CharField(
        required=False,
        label="Custom SDK endpoint",
        help_text="iOS, Android and Web outputs. Leave blank if you were not given one.",
    )
    custom_js_endpoint = forms.CharField(
        required=False,
        label="Custom JavaScript endpoint",
        help_text="The Web output only. Leave blank if you were not given one.",
    )

    def __init__(self, *args: Any, outputs: list[OutputDraft], **kwargs: Any) -> None:
        kwargs.setdefault("initial", _current_instance(outputs))
        super().__init__(*args, **kwargs)
        self.outputs = outputs
        self.validation: InstanceChangeValidation | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "braze_instance" not in cleaned:  # an unknown choice, said on its own field
            return cleaned
        change = InstanceChange(**{name: cleaned.get(name, "") for name in CHANGE_FIELDS})
        policy = EndpointPolicy.from_settings()
        self.validation = validate_instance_change(change, self.outputs, policy)
        for name, messages in self.validation.errors.items():
            if name not in self.errors:
                for message in messages:
                    self._add_change_error(name, message)
        return cleaned

    def _add_change_error(self, name: str, message: str) -> None:
        """A field of this form beside it; one output's problem above, naming the output."""
        if name in self.fields:
            self.add_error(name, message)
            return
        platform = name.split(".")[1] if name.startswith("outputs.") else ""
        self.add_error(
            None, f"{platform_label(platform)} output: {message}" if platform else message
        )


def _current_instance(outputs: list[OutputDraft]) -> dict[str, str]:
    """Where the outputs are now: the first output's instance; with Custom, the endpoints
    stored on the Custom outputs (the JavaScript one is the Web output's)."""
    current = dict.fromkeys(CHANGE_FIELDS, "")
    current["braze_instance"] = outputs[0].braze_instance if outputs else ""
    for output in reversed(outputs):
        if output.braze_instance == instances.CUSTOM == current["braze_instance"]:
            current |= {
                name: getattr(output, name) for name in ENDPOINT_FIELDS if getattr(output, name)
            }
    return current
