"""The per-output forwarding settings as form fields, read back as a typed ``OutputSettings``."""

from __future__ import annotations

from typing import Any

from django import forms

from mapping.output_settings import (
    AnonymousUsers,
    BatchSizeMode,
    CommerceMode,
    OutputSettings,
    ProductIdSource,
    TypeDetection,
    UserTagsValue,
)
from mapping.subscription_settings import SubscriptionGroupLink, subscription_group_mapping_validate

LIST_FIELDS = ("event_allowlist", "event_denylist", "attribute_allowlist", "attribute_denylist")
SUBSCRIPTION_GROUPS = "subscription_group_mapping"
LINK_SYNTAX = (
    "Row {row}: write the user attribute, then =, then the subscription group id "
    "(newsletter = 6f1d9e1c-9b0a-4c53-8f3e-2d2b9a1f4e77)."
)


def _choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    return list(labels.items())


def _name_list(help_text: str) -> forms.CharField:
    """A list of names, one per line (read back as a tuple by ``posted_settings``)."""
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
        required=False,
        help_text="On by default, as in mParticle, so forwarding matches it. Braze recommends "
        "off to save data points: with it on, every stored attribute is sent with each event.",
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
    subscription_group_mapping = forms.CharField(
        required=False,
        label="Subscription group mapping",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One per line: a user attribute, =, and a Braze subscription group id "
        "(Audience → Subscriptions in Braze). True subscribes, false unsubscribes; the attribute "
        "is then not sent as a custom attribute.",
    )
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
        values[SUBSCRIPTION_GROUPS] = "\n".join(
            f"{link.attribute} = {link.subscription_group_id}"
            for link in settings.subscription_group_mapping
        )
        return values

    def clean_subscription_group_mapping(self) -> tuple[SubscriptionGroupLink, ...]:
        """The rows as links, through the validation the REST API meets too."""
        rows = [
            line for line in self.cleaned_data[SUBSCRIPTION_GROUPS].splitlines() if line.strip()
        ]
        pairs = [row.rpartition("=") for row in rows]
        unreadable = [LINK_SYNTAX.format(row=n) for n, (_, eq, _) in enumerate(pairs, 1) if not eq]
        if unreadable:
            raise forms.ValidationError(unreadable)
        links, problems = subscription_group_mapping_validate(
            [
                {"attribute": key.strip(), "subscription_group_id": value.strip()}
                for key, _, value in pairs
            ]
        )
        if problems:
            raise forms.ValidationError(
                [message if row is None else f"Row {row}: {message}" for row, message in problems]
            )
        return links

    def posted_settings(self, names: tuple[str, ...], base: OutputSettings) -> OutputSettings:
        """``base`` with the posted values of ``names``."""
        values = {name: self.cleaned_data[name] for name in names}
        for name in set(LIST_FIELDS) & set(names):
            values[name] = tuple(v.strip() for v in values[name].splitlines() if v.strip())
        return OutputSettings.model_validate(base.model_dump() | values)
