"""The one address-safety check behind every endpoint field (REST, SDK, JS, hook targets).

Validation only: a guard makes any DNS lookup or connection in these tests fail, so none of
the addresses below is ever reached.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from connections.hooks.targets import HookError, target_url_check
from connections.rules import instances
from connections.rules.hosts import EndpointKind, HostError, endpoint_check
from connections.rules.validation import OutputDraft, validate_output
from mpbraze.addresses import EndpointPolicy

PRODUCTION = EndpointPolicy(allow_local=False)
DEVELOPMENT = EndpointPolicy(allow_local=True)
PRIVATE = "points at a private, loopback or link-local address"
RESOLVES = "names a host that resolves to a loopback, private or metadata address"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"an address check touched the network: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# (value typed in the Custom REST endpoint, outcome in production, outcome in development);
# an outcome starting with "=" is the host as saved, anything else is part of the refusal.
ROWS = [
    ("127.1", f"{PRIVATE} (127.1, which reaches 127.0.0.1)", PRIVATE),
    ("0177.0.0.1", f"{PRIVATE} (0177.0.0.1, which reaches 127.0.0.1)", PRIVATE),
    ("0x7f000001", f"{PRIVATE} (0x7f000001, which reaches 127.0.0.1)", PRIVATE),
    ("2130706433", f"{PRIVATE} (2130706433, which reaches 127.0.0.1)", PRIVATE),
    ("0x7f.1:9000", PRIVATE, PRIVATE),
    ("[64:ff9b::7f00:1]", f"{PRIVATE} ([64:ff9b::7f00:1], which reaches 127.0.0.1)", PRIVATE),
    ("[::ffff:127.0.0.1]", f"{PRIVATE} ([::ffff:127.0.0.1], which reaches 127.0.0.1)", PRIVATE),
    ("[::ffff:a00:1]", "which reaches 10.0.0.1", "which reaches 10.0.0.1"),
    ("[2002:7f00:1::]", "which reaches 127.0.0.1", "which reaches 127.0.0.1"),
    ("[::7f00:1]", "which reaches 127.0.0.1", "which reaches 127.0.0.1"),
    ("169.254.169.254", f"{PRIVATE} (169.254.169.254)", PRIVATE),
    ("[fd00::1]", f"{PRIVATE} ([fd00::1])", PRIVATE),
    ("[fe80::1]:9000", PRIVATE, PRIVATE),
    ("10.1.2.3", f"{PRIVATE} (10.1.2.3)", PRIVATE),
    ("192.168.1.1", PRIVATE, PRIVATE),
    ("100.64.0.1", f"{PRIVATE} (100.64.0.1)", PRIVATE),
    ("0.0.0.0", PRIVATE, PRIVATE),
    ("224.0.0.1", PRIVATE, PRIVATE),
    ("localtest.me", f"{RESOLVES} (localtest.me)", RESOLVES),
    (
        "app.localtest.me:9000",
        f"{RESOLVES} (app.localtest.me, a name under localtest.me)",
        RESOLVES,
    ),
    ("127.0.0.1.nip.io", "(127.0.0.1.nip.io, a name under nip.io)", RESOLVES),
    ("10-0-0-1.sslip.io", RESOLVES, RESOLVES),
    ("lvh.me", RESOLVES, RESOLVES),
    ("metadata.google.internal", f"{RESOLVES} (metadata.google.internal)", RESOLVES),
    ("Metadata.Google.Internal.", RESOLVES, RESOLVES),
    ("braze.corp.internal", RESOLVES, RESOLVES),
    ("printer.local", RESOLVES, RESOLVES),
    ("1.2.3.4.5", "is not a valid IP address (1.2.3.4.5).", "is not a valid IP address"),
    ("08.1.1.1", "is not a valid IP address (08.1.1.1).", "is not a valid IP address"),
    ("[::1", "has an invalid IPv6 address “[::1”.", "has an invalid IPv6 address"),
    ("0x08080808", "short, octal, hex or integer form (0x08080808 is 8.8.8.8)", "8.8.8.8"),
    ("8.8.8.8", "8.8.8.8 is not a Braze REST host", "8.8.8.8 is not a Braze REST host"),
    ("rest.iad-01.braze.com.evil.com:8443", "must not include a port (:8443)", "(:8443)"),
    ("rest.iad-01.braze.com.evil.com", "is not a Braze REST host", "is not a Braze REST host"),
    ("api.example.com", "is not a Braze REST host", "is not a Braze REST host"),
    ("user@127.0.0.1:9000", "remove the user name", "remove the user name"),
    ("user:pw@rest.iad-01.braze.com", "remove the user name", "remove the user name"),
    ("127.0.0.1:9000", f"{PRIVATE} (127.0.0.1)", "=127.0.0.1:9000"),
    ("127.0.0.1.:9000", f"{PRIVATE} (127.0.0.1)", "=127.0.0.1:9000"),
    ("[::1]:9000", f"{PRIVATE} ([::1])", "=[::1]:9000"),
    ("localhost:9000", f"{PRIVATE} (localhost)", "=localhost:9000"),
    ("LOCALHOST.", f"{PRIVATE} (localhost)", "=localhost"),
    ("REST.IAD-01.BRAZE.COM", "=rest.iad-01.braze.com", "=rest.iad-01.braze.com"),
    ("rest.iad-01.braze.com.", "=rest.iad-01.braze.com", "=rest.iad-01.braze.com"),
    ("rest.fra-02.braze.eu", "=rest.fra-02.braze.eu", "=rest.fra-02.braze.eu"),
]


@pytest.mark.parametrize(("value", "production", "development"), ROWS, ids=[r[0] for r in ROWS])
def test_a_rest_endpoint_is_judged_by_the_address_it_reaches(
    value: str, production: str, development: str
) -> None:
    for policy, outcome in ((PRODUCTION, production), (DEVELOPMENT, development)):
        if outcome.startswith("="):
            assert endpoint_check(value, EndpointKind.REST, policy, "Endpoint").host == outcome[1:]
        else:
            with pytest.raises(HostError) as refused:
                endpoint_check(value, EndpointKind.REST, policy, "Endpoint")
            assert outcome in str(refused.value), (policy, str(refused.value))


UNSAFE = [
    "127.1",
    "0177.0.0.1",
    "[64:ff9b::7f00:1]",
    "localtest.me",
    "127.0.0.1.nip.io",
    "metadata.google.internal",
    "169.254.169.254",
]


@pytest.mark.parametrize("value", UNSAFE)
@pytest.mark.parametrize(
    "field", ["custom_rest_endpoint", "custom_sdk_endpoint", "custom_js_endpoint"]
)
def test_every_output_endpoint_field_refuses_an_unsafe_address_in_development(
    field: str, value: str
) -> None:
    draft = OutputDraft(
        platform="web",
        api_key="web-key-1",
        braze_instance=instances.CUSTOM,
        **{"custom_rest_endpoint": "rest.iad-01.braze.com", field: value},
    )
    result = validate_output(draft, [], DEVELOPMENT, key_required=True)
    assert list(result.errors) == [field]
    assert "which is refused" in result.errors[field][0]


@pytest.mark.parametrize("value", UNSAFE)
@pytest.mark.parametrize("policy", [PRODUCTION, DEVELOPMENT], ids=["production", "development"])
def test_a_hook_target_refuses_the_same_addresses(policy: EndpointPolicy, value: str) -> None:
    with pytest.raises(HookError) as refused:
        target_url_check(f"https://{value}:9000/in", policy)
    assert refused.value.message.startswith("The target URL ")
    assert "which is refused" in refused.value.message


def test_a_hook_target_keeps_its_own_rules_for_other_hosts() -> None:
    assert target_url_check("https://hooks.example.com:8443/in", PRODUCTION) == (
        "https://hooks.example.com:8443/in"
    )
    assert target_url_check("http://127.0.0.1:9000/in", DEVELOPMENT) == "http://127.0.0.1:9000/in"
    with pytest.raises(HookError, match="must use https://"):
        target_url_check("http://hooks.example.com/in", DEVELOPMENT)


def test_an_operator_allowed_host_passes_even_with_a_port() -> None:
    policy = EndpointPolicy(allow_local=False, allowed_hosts=("braze-proxy.example.com",))
    checked = endpoint_check("braze-proxy.example.com:8443", EndpointKind.SDK, policy, "SDK")
    assert checked.host == "braze-proxy.example.com:8443"
