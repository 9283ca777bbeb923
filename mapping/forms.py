"""The preview form: a pasted batch (or a bundled example) and the output to map it for."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms

from connections.models import BrazeOutput, Connection
from mapping.examples import EXAMPLES, example_text

MAX_PREVIEW_BYTES = 256 * 1024


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class PreviewForm(forms.Form):
    output = forms.ModelChoiceField(queryset=BrazeOutput.objects.none(), empty_label=None)
    example = forms.ChoiceField(
        required=False,
        choices=[("", "— paste a batch below —"), *EXAMPLES.items()],
        label="Bundled example",
        help_text="Fills the batch box with the example: edit it there before previewing.",
    )
    batch = forms.CharField(
        required=False,
        label="mParticle batch (JSON)",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
    )

    def __init__(self, *args: Any, connection: Connection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        output_field = cast(forms.ModelChoiceField[BrazeOutput], self.fields["output"])
        output_field.queryset = connection.outputs.order_by("platform")
        server = connection.outputs.filter(platform="server").first()
        if server is not None:  # what the forwarder uses: the likeliest question
            self.fields["output"].initial = server.pk

    def clean(self) -> dict[str, Any]:
        # The box is what the marketer sees, so it wins; an example only fills an empty one.
        cleaned = super().clean() or {}
        if not cleaned.get("batch", "").strip() and cleaned.get("example"):
            cleaned["batch"] = example_text(cleaned["example"])
        if not cleaned.get("batch", "").strip():
            self.add_error("batch", "Paste an mParticle batch or pick a bundled example.")
        else:
            self._parse(cleaned)
        return cleaned

    def with_batch_in_the_box(self) -> PreviewForm:
        """This form again with the batch it previewed in the box (a chosen example's JSON,
        to edit) and no example chosen, so the next preview maps what the box shows."""
        initial = {"output": self.cleaned_data["output"].pk, "batch": self.cleaned_data["batch"]}
        return PreviewForm(initial=initial, connection=self.connection)

    @property
    def example_texts(self) -> dict[str, str]:
        """Each bundled example's JSON, for the page's script to put in the box when chosen."""
        return {name: example_text(name) for name in EXAMPLES}

    def _parse(self, cleaned: dict[str, Any]) -> None:
        text = cleaned["batch"]
        if len(text.encode()) > MAX_PREVIEW_BYTES:
            self.add_error("batch", "The batch is over 256 KB, the inbound API's request limit.")
            return
        try:
            cleaned["payload"] = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            self.add_error(
                "batch", f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            )
        except (ValueError, RecursionError) as error:
            self.add_error("batch", f"Not valid JSON: {error}.")
