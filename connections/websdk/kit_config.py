"""The Web SDK's configuration document (``requestConfig``): the Braze kit's entry, module 28
"Appboy", with its settings from the Web output in the kit's own keys and spellings
(``reference/mparticle_braze_kit.md`` §1a and §2). Every setting is a string, as the kit reads them:
booleans are ``"True"``/``"False"``."""

from __future__ import annotations

import json
from typing import Any, Final

from connections import lifecycle
from connections.models import BrazeOutput, Connection, DeliveryMode, Platform
from mapping.output_settings import CommerceMode, ProductIdSource

BRAZE_MODULE_ID: Final = 28
BRAZE_KIT_NAME: Final = "Appboy"
# The Web SDK starts a kit only when its registration matches an entry by "name-suffix" (or by
# name alone): ``@mparticle/web-braze-kit`` 4.x registers as "Appboy-v4" (3.x as "Appboy",
# which matches any Appboy entry). An entry without the suffix starts no 4.x kit at all.
BRAZE_KIT_SUFFIX: Final = "v4"
# The web kit's cluster codes; other instances travel as custom endpoints (JSON).
WEB_CLUSTERS: Final = {
    **{f"US-0{n}": f"0{n}" for n in range(1, 9)},
    "EU-01": "EU",
    "EU-02": "EU02",
    "AU-01": "AU",
}
# Our identity names (the batch's keys) → the kit's ``userIdentificationType`` values.
KIT_IDENTITY_NAMES: Final = {
    "customer_id": "CustomerId",
    "email": "Email",
    "other": "Other",
    **{f"other_id_{n}": f"Other{n}" for n in range(2, 11)},
    "mpid": "MPID",
    "mobile_number": "MobileNumber",
    "phone_number_2": "PhoneNumber2",
    "phone_number_3": "PhoneNumber3",
    "facebook": "Facebook",
    "google": "Google",
    "microsoft": "Microsoft",
    "twitter": "Twitter",
    "yahoo": "Yahoo",
    "alias": "Alias",
}
_FILTERS: Final = (
    "eventTypeFilters",
    "eventNameFilters",
    "screenNameFilters",
    "screenAttributeFilters",
    "userIdentityFilters",
    "userAttributeFilters",
    "attributeFilters",
    "consentRegulationFilters",
    "consentRegulationPurposeFilters",
    "messageTypeFilters",
    "messageTypeStateFilters",
)


def web_output_of(connection: Connection) -> BrazeOutput | None:
    return connection.outputs.filter(platform=Platform.WEB).first()


def sdk_configuration(connection: Connection, *, development: bool) -> dict[str, Any]:
    """The document the Web SDK reads at start: the Braze kit only when the Web output exists
    and delivers by kit (server-side: mpbraze sends, a kit would send everything twice)."""
    output = web_output_of(connection)
    kits = []
    if output is not None and output.delivery_mode == DeliveryMode.KIT:
        kits.append(braze_kit_config(output, development=development))
    return {"appName": connection.name, "kitConfigs": kits, "pixelConfigs": [], "flags": {}}


def braze_kit_config(output: BrazeOutput, *, development: bool) -> dict[str, Any]:
    debug = "true" if development else "false"
    return {
        "name": BRAZE_KIT_NAME,
        "suffix": BRAZE_KIT_SUFFIX,
        "moduleId": BRAZE_MODULE_ID,
        "isDebug": development,
        "isVisible": True,
        "isDebugString": debug,
        "hasDebugString": "false",
        "settings": braze_kit_settings(output),
        "eventSubscriptionId": 0,
        "excludeAnonymousUser": False,
        **{name: [] for name in _FILTERS},
    }


def braze_kit_settings(output: BrazeOutput) -> dict[str, str]:
    forwarding = output.forwarding
    return {
        "apiKey": lifecycle.output_api_key(output=output),
        "userIdentificationType": KIT_IDENTITY_NAMES[output.external_identity_type],
        "emailIdentificationType": _email_identity(output.email_identity_type),
        "cluster": web_cluster(output),
        "forwardScreenViews": _flag(forwarding.forward_screen_views),
        "bundleCommerceEventData": _flag(forwarding.commerce_mode == CommerceMode.BUNDLED),
        # True ⇒ the web kit sends the SKU as product_id (the opposite of the mobile key).
        "forwardSkuAsProductName": _flag(forwarding.product_id_source == ProductIdSource.SKU),
    }


def web_cluster(output: BrazeOutput) -> str:
    """The kit's cluster code, or the custom endpoints as the JSON the kit decodes."""
    code = WEB_CLUSTERS.get(output.braze_instance)
    if code is not None:
        return code
    endpoints = {"SDK": output.sdk_host, "REST": output.rest_host, "JS": output.js_host}
    return json.dumps(endpoints, separators=(",", ":"))


def _email_identity(value: str) -> str:
    return KIT_IDENTITY_NAMES.get(value, "Email")


def _flag(value: bool) -> str:
    return "True" if value else "False"
