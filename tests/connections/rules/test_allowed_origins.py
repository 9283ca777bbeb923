"""The Web output's allowed origins: what a marketer may type, normalised as browsers send it."""

from __future__ import annotations

import pytest

from connections.rules.origins import OriginError, origin_normalise, origins_normalise
from connections.rules.validation import OutputDraft, validate_output
from mpbraze.addresses import EndpointPolicy


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://shop.example", "https://shop.example"),
        ("https://Shop.Example/", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
    ],
)
def test_it_stores_an_origin_as_a_browser_sends_it(typed: str, stored: str) -> None:
    assert origin_normalise(typed) == stored


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("shop.example", "must start with https://"),
        ("ftp://shop.example", "must start with https://"),
        ("https://shop.example/checkout", "must be a site only"),
        ("https://user@shop.example", "must be a site only"),
        ("https://shop..example", "invalid host name"),
        ("https://shop.example:99999", "invalid port"),
    ],
)
def test_it_refuses_what_is_not_an_origin_naming_it(typed: str, problem: str) -> None:
    with pytest.raises(OriginError, match=problem):
        origin_normalise(typed)


def test_it_drops_repeats_and_limits_the_list() -> None:
    assert origins_normalise(["https://a.example", "https://A.example/"]) == ("https://a.example",)
    with pytest.raises(OriginError, match="At most 20"):
        origins_normalise([f"https://s{n}.example" for n in range(21)])


def test_only_the_web_output_has_allowed_origins() -> None:
    draft = OutputDraft(platform="ios", api_key="k", allowed_origins="https://shop.example")
    result = validate_output(draft, [], EndpointPolicy(allow_local=False), key_required=True)
    assert result.errors == {"allowed_origins": ["Allowed origins apply to the Web output only."]}
