"""Which output fields act for which platform: the output page shows a field only there.

The Server output's settings are the ones mpbraze's server-to-server forwarding applies, so
it shows them all. An app output shows only what its embedded Braze kit reads
(``reference/mparticle_braze_kit.md`` §1a): screen views, commerce bundling or recommended
events and the SKU/name choice on every kit, type detection on the iOS and Android kits only.
The SDK endpoint applies to app outputs, the JavaScript endpoint to Web only
(docs/configuration.md "Configuration rules").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.forms import BoundField

from connections.models import Platform
from mapping.output_settings import OutputSettings

ENDPOINTS = ("custom_rest_endpoint", "custom_sdk_endpoint", "custom_js_endpoint")
_MOBILE_KIT = ("forward_screen_views", "type_detection", "commerce_mode", "product_id_source")
_WEB_KIT = ("forward_screen_views", "commerce_mode", "product_id_source")


@dataclass(frozen=True)
class PlatformFields:
    """The forwarding settings and endpoint fields one platform's output page shows."""

    settings: tuple[str, ...]
    endpoints: tuple[str, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.settings + self.endpoints)


_EVERYTHING = PlatformFields(tuple(OutputSettings.model_fields), ENDPOINTS)
_APP_ENDPOINTS = ("custom_rest_endpoint", "custom_sdk_endpoint")
BY_PLATFORM: dict[str, PlatformFields] = {
    Platform.IOS: PlatformFields(_MOBILE_KIT, _APP_ENDPOINTS),
    Platform.ANDROID: PlatformFields(_MOBILE_KIT, _APP_ENDPOINTS),
    Platform.WEB: PlatformFields(_WEB_KIT, ENDPOINTS),
    Platform.SERVER: PlatformFields(_EVERYTHING.settings, ("custom_rest_endpoint",)),
}


def fields_for(platform: str) -> PlatformFields:
    """An unknown platform (a malformed post, refused by the rules) shows every field."""
    return BY_PLATFORM.get(platform, _EVERYTHING)


@dataclass(frozen=True)
class PlatformField:
    """A bound field with the platforms it acts for (``data-platforms``, followed by
    ``output_form.js`` when the platform choice changes) and whether it shows at first."""

    field: BoundField
    platforms: str
    shown: bool

    @classmethod
    def of(cls, field: BoundField, platform: str) -> PlatformField:
        platforms = [p for p, shown in BY_PLATFORM.items() if field.name in shown.names]
        return cls(field, " ".join(platforms), field.name in fields_for(platform).names)
