"""The configuration rules (docs/configuration.md), through the one validation function
forms and API share."""

from __future__ import annotations

from typing import Any

import pytest

from connections.crypto import encryption
from connections.rules import instances
from connections.rules.validation import OutputDraft, SiblingOutput, Validation, validate_output
from mpbraze.addresses import EndpointPolicy

PRODUCTION = EndpointPolicy(allow_local=False)
DEVELOPMENT = EndpointPolicy(allow_local=True)
IOS = SiblingOutput(
    platform="ios",
    key_fingerprint=encryption.fingerprint("ios-key-1111"),
    rest_host="rest.iad-03.braze.com",
)


def validate(
    siblings: list[SiblingOutput] | None = None,
    policy: EndpointPolicy = PRODUCTION,
    **fields: Any,
) -> Validation:
    draft = OutputDraft(**{"platform": "web", "api_key": "web-key-2222", **fields})
    return validate_output(draft, siblings or [], policy, key_required=True)


def custom(**endpoints: str) -> dict[str, Any]:
    return {"braze_instance": instances.CUSTOM, **endpoints}


def test_it_accepts_a_named_instance_with_no_custom_endpoints() -> None:
    result = validate(braze_instance="US-03")
    assert result.ok, result.errors
    assert result.draft.rest_host == "rest.iad-03.braze.com"


def test_it_refuses_a_spaced_sdk_host_and_says_it_contains_a_space() -> None:
    result = validate(
        **custom(
            custom_rest_endpoint="rest.iad-03.braze.com", custom_sdk_endpoint="sdk.api.braze. om"
        )
    )
    assert result.errors == {
        "custom_sdk_endpoint": [
            "Custom SDK endpoint contains a space; enter a hostname such as sdk.iad-03.braze.com."
        ]
    }


def test_it_normalises_a_pasted_rest_url_with_a_notice() -> None:
    result = validate(**custom(custom_rest_endpoint="https://rest.iad-01.braze.com/"))
    assert result.ok, result.errors
    assert result.draft.custom_rest_endpoint == "rest.iad-01.braze.com"
    assert result.notices == [
        "Custom REST endpoint: removed “https://” and the trailing “/”; "
        "saved as the bare hostname rest.iad-01.braze.com."
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rest.iad-01.braze.com/api/v3", "must be a bare hostname: remove the path."),
        ("rest.iad-01.braze.com?x=1", "must be a bare hostname: remove the query string."),
        ("rest.iad-01.braze.com:8443", "must not include a port (:8443); Braze is reached on 443."),
        ("rest..braze.com", "has an empty label (a leading, trailing or double dot)."),
        ("rest.-bad-.braze.com", "has an invalid label “-bad-”."),
        ("rest_iad.braze.com", "contains the invalid character “_”."),
        ("user@rest.iad-01.braze.com", "must be a bare hostname: remove the user name."),
    ],
    ids=[
        "path",
        "query",
        "port-in-production",
        "empty-label",
        "invalid-label",
        "underscore",
        "userinfo",
    ],
)
def test_it_refuses_a_host_that_is_not_bare_and_valid(value: str, message: str) -> None:
    result = validate(**custom(custom_rest_endpoint=value))
    assert result.errors == {"custom_rest_endpoint": [f"Custom REST endpoint {message}"]}


def test_it_refuses_custom_endpoints_with_a_named_instance() -> None:
    result = validate(
        braze_instance="EU-01",
        custom_rest_endpoint="rest.iad-01.braze.com",
        custom_js_endpoint="sdk.iad-01.braze.com",
    )
    assert result.errors == {
        "custom_rest_endpoint": [
            "Custom REST endpoint must be empty unless the instance is Custom."
        ],
        "custom_js_endpoint": [
            "Custom JavaScript endpoint must be empty unless the instance is Custom."
        ],
    }


def test_it_refuses_custom_without_a_rest_endpoint() -> None:
    result = validate(**custom(custom_sdk_endpoint="sdk.iad-01.braze.com"))
    assert result.errors == {
        "custom_rest_endpoint": ["Custom REST endpoint is required when the instance is Custom."]
    }


def test_it_accepts_custom_with_blank_sdk_and_js_endpoints() -> None:
    result = validate(**custom(custom_rest_endpoint="rest.iad-07.braze.com"))
    assert result.ok, result.errors
    assert (result.draft.custom_sdk_endpoint, result.draft.custom_js_endpoint) == ("", "")


def test_it_refuses_a_key_another_platform_already_uses_and_names_it() -> None:
    result = validate([IOS], api_key="ios-key-1111")
    assert result.errors == {
        "api_key": ["This key is already used by the iOS output; each platform needs its own key."]
    }


def test_it_refuses_a_server_rest_endpoint_that_differs_and_shows_both_values() -> None:
    result = validate([IOS], platform="server", api_key="rest-key", braze_instance="US-01")
    assert result.errors == {
        "braze_instance": [
            "The server output's REST endpoint rest.iad-01.braze.com must match the event "
            "configuration's REST endpoint rest.iad-03.braze.com (from the iOS output). "
            "“Change Braze instance…” on the connection page moves every output at once."
        ]
    }


def test_it_refuses_an_app_output_on_another_workspace() -> None:
    result = validate([IOS], braze_instance="EU-01")
    assert (
        "rest.fra-01.braze.eu differs from rest.iad-03.braze.com"
        in result.errors["braze_instance"][0]
    )


def test_it_accepts_a_server_output_on_the_same_workspace_as_the_app() -> None:
    assert validate([IOS], platform="server", api_key="rest-key", braze_instance="US-03").ok


def test_it_refuses_a_server_output_without_an_app_output_and_says_why() -> None:
    result = validate([], platform="server", api_key="rest-key")
    assert result.errors == {
        "platform": [
            "A Server output needs an iOS, Android or Web output on the same connection first: "
            "the server-to-server integration is an add-on to the embedded kit, which is "
            "needed regardless of approach."
        ]
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rest.example.com", "Custom REST endpoint rest.example.com is not a Braze REST host"),
        ("127.0.0.1", "points at a private, loopback or link-local address (127.0.0.1)"),
        ("10.0.0.1", "points at a private, loopback or link-local address (10.0.0.1)"),
        ("169.254.169.254", "private, loopback or link-local address (169.254.169.254)"),
        ("[::1]", "points at a private, loopback or link-local address ([::1])"),
        ("localhost", "points at a private, loopback or link-local address (localhost)"),
    ],
    ids=["non-braze", "loopback", "private", "metadata", "ipv6-loopback", "localhost"],
)
def test_it_refuses_unsafe_rest_hosts_in_production(value: str, message: str) -> None:
    result = validate(**custom(custom_rest_endpoint=value))
    assert message in result.errors["custom_rest_endpoint"][0]


def test_it_accepts_a_loopback_host_with_a_port_under_test_settings() -> None:
    result = validate(policy=DEVELOPMENT, **custom(custom_rest_endpoint="127.0.0.1:9000"))
    assert result.ok, result.errors
    assert result.draft.rest_host == "127.0.0.1:9000"


def test_it_still_refuses_private_addresses_under_test_settings() -> None:
    result = validate(policy=DEVELOPMENT, **custom(custom_rest_endpoint="10.0.0.1"))
    assert "private, loopback or link-local" in result.errors["custom_rest_endpoint"][0]


def test_it_refuses_a_non_braze_rest_host_while_local_endpoints_are_allowed() -> None:
    result = validate(policy=DEVELOPMENT, **custom(custom_rest_endpoint="api.example.com"))
    assert result.errors["custom_rest_endpoint"] == [
        "Custom REST endpoint api.example.com is not a Braze REST host. Braze REST hosts look "
        "like rest.iad-03.braze.com (rest.<cluster>.braze.com or .eu); an operator can allow "
        "another host with MPBRAZE_ALLOWED_ENDPOINT_HOSTS."
    ]


def test_it_refuses_a_port_on_a_braze_host_while_local_endpoints_are_allowed() -> None:
    result = validate(
        policy=DEVELOPMENT, **custom(custom_rest_endpoint="rest.iad-01.braze.com:8443")
    )
    assert "must not include a port (:8443)" in result.errors["custom_rest_endpoint"][0]


@pytest.mark.parametrize("policy", [PRODUCTION, DEVELOPMENT], ids=["production", "development"])
def test_it_refuses_a_mistyped_sdk_host_and_suggests_the_braze_one(
    policy: EndpointPolicy,
) -> None:
    result = validate(
        policy=policy,
        **custom(
            custom_rest_endpoint="rest.iad-03.braze.com", custom_sdk_endpoint="sdk.api.braze.om"
        ),
    )
    assert result.errors == {
        "custom_sdk_endpoint": [
            "Custom SDK endpoint sdk.api.braze.om is not a Braze SDK host; did you mean "
            "sdk.api.braze.com? Braze SDK hosts look like sdk.iad-03.braze.com "
            "(sdk.<cluster>.braze.com or .eu); an operator can allow another host with "
            "MPBRAZE_ALLOWED_ENDPOINT_HOSTS."
        ]
    }


@pytest.mark.parametrize(
    ("field", "value", "suggestion"),
    [
        ("custom_js_endpoint", "sdk.iad-03.braze.co", "sdk.iad-03.braze.com"),
        ("custom_js_endpoint", "sdk.fra-01.brazeeu", "sdk.fra-01.braze.eu"),
        ("custom_sdk_endpoint", "sdkk.iad-03.braze.com", "sdk.iad-03.braze.com"),
        ("custom_sdk_endpoint", "rest.iad-03.braze.com", "sdk.iad-03.braze.com"),
        ("custom_rest_endpoint", "rest.iad-01.braze.cm", "rest.iad-01.braze.com"),
        ("custom_rest_endpoint", "sdk.fra-02.braze.eu", "rest.fra-02.braze.eu"),
    ],
)
def test_it_suggests_the_braze_host_of_the_fields_kind(
    field: str, value: str, suggestion: str
) -> None:
    endpoints = {"custom_rest_endpoint": "rest.iad-03.braze.com", field: value}
    result = validate(policy=DEVELOPMENT, **custom(**endpoints))
    assert "is not a Braze " in result.errors[field][0]
    assert f"; did you mean {suggestion}?" in result.errors[field][0]


def test_it_accepts_braze_sdk_hosts_for_the_sdk_and_js_endpoints() -> None:
    result = validate(
        **custom(
            custom_rest_endpoint="rest.fra-01.braze.eu",
            custom_sdk_endpoint="sdk.fra-01.braze.eu",
            custom_js_endpoint="SDK.FRA-01.BRAZE.EU",
        )
    )
    assert result.ok, result.errors
    assert result.draft.custom_js_endpoint == "sdk.fra-01.braze.eu"


def test_it_names_the_sdk_host_as_the_web_sdks_in_a_js_endpoint_error() -> None:
    result = validate(
        **custom(custom_rest_endpoint="rest.iad-03.braze.com", custom_js_endpoint="js.example.com")
    )
    message = result.errors["custom_js_endpoint"][0]
    assert message.startswith("Custom JavaScript endpoint js.example.com is not a Braze SDK host")
    assert "the Web SDK uses the SDK host" in message
    assert "rest." not in message


def test_it_accepts_an_operator_allowed_host_in_production() -> None:
    policy = EndpointPolicy(allow_local=False, allowed_hosts=("braze-proxy.example.com",))
    assert validate(policy=policy, **custom(custom_rest_endpoint="braze-proxy.example.com")).ok


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("abc def", "API key must not contain spaces, tabs or line breaks."),
        ("abc\tdef", "API key must not contain spaces, tabs or line breaks."),
        ("abc\x00def", "API key must not contain control characters."),
        ("k" * 256, "API key is 256 characters long; the limit is 255."),
        ("   ", "API key is required."),
    ],
    ids=["space", "tab", "control", "too-long", "blank"],
)
def test_it_refuses_a_malformed_api_key(key: str, message: str) -> None:
    assert validate(api_key=key).errors == {"api_key": [message]}


def test_it_trims_the_api_key() -> None:
    assert validate(api_key="  web-key-2222 \n").draft.api_key == "web-key-2222"


def test_it_refuses_a_js_endpoint_outside_the_web_output() -> None:
    result = validate(
        platform="ios",
        **custom(
            custom_rest_endpoint="rest.iad-01.braze.com", custom_js_endpoint="sdk.iad-01.braze.com"
        ),
    )
    assert result.errors == {
        "custom_js_endpoint": ["The JavaScript endpoint applies to the Web output only."]
    }


def test_it_refuses_a_second_output_for_the_same_platform() -> None:
    result = validate([IOS], platform="ios", api_key="other")
    assert result.errors == {"platform": ["This connection already has an output for iOS."]}


def test_it_refuses_unknown_identity_types_and_instances() -> None:
    result = validate(
        external_identity_type="nope", email_identity_type="mpid", braze_instance="US-09"
    )
    assert set(result.errors) == {"external_identity_type", "email_identity_type", "braze_instance"}


def test_the_default_external_identity_type_is_customer_id() -> None:
    assert OutputDraft(platform="ios").external_identity_type == "customer_id"
