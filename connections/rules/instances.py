"""The Braze instance catalog: the one module that knows Braze hosts.

Source: Braze "API basics" / SDK endpoints (``shared/reference/braze_rest_api.md`` §4).
Every other module asks this one for hosts, choices and the URL-to-instance lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

CUSTOM = "custom"


@dataclass(frozen=True)
class BrazeInstance:
    code: str
    label: str
    rest_host: str
    sdk_host: str
    dashboard_hosts: tuple[str, ...]

    @property
    def js_host(self) -> str:
        # Braze's Web SDK uses the SDK host as its base URL on every named cluster.
        return self.sdk_host

    @property
    def rest_url(self) -> str:
        return f"https://{self.rest_host}"


def _us(number: str) -> BrazeInstance:
    return BrazeInstance(
        code=f"US-{number}",
        label=f"US {number}",
        rest_host=f"rest.iad-{number}.braze.com",
        sdk_host=f"sdk.iad-{number}.braze.com",
        dashboard_hosts=(f"dashboard-{number}.braze.com",)
        + (("dashboard.braze.com",) if number == "01" else ()),
    )


def _regional(code: str, cluster: str, tld: str, dashboards: tuple[str, ...]) -> BrazeInstance:
    return BrazeInstance(
        code=code,
        label=code.replace("-", " "),
        rest_host=f"rest.{cluster}.braze.{tld}",
        sdk_host=f"sdk.{cluster}.braze.{tld}",
        dashboard_hosts=dashboards,
    )


INSTANCES: tuple[BrazeInstance, ...] = (
    *(_us(n) for n in ("01", "02", "03", "04", "05", "06", "07", "08")),
    _regional("US-10", "us-10", "com", ("dashboard.us-10.braze.com", "dashboard-10.braze.com")),
    _regional("EU-01", "fra-01", "eu", ("dashboard-01.braze.eu", "dashboard.braze.eu")),
    _regional("EU-02", "fra-02", "eu", ("dashboard-02.braze.eu",)),
    _regional("AU-01", "au-01", "com", ("dashboard.au-01.braze.com",)),
    _regional("ID-01", "id-01", "com", ("dashboard.id-01.braze.com",)),
    _regional("JP-01", "jp-01", "com", ("dashboard.jp-01.braze.com",)),
    _regional("KR-01", "kr-01", "com", ("dashboard.kr-01.braze.com",)),
)
BY_CODE: dict[str, BrazeInstance] = {instance.code: instance for instance in INSTANCES}
DEFAULT_INSTANCE = "US-03"

#: Form/model choices: every named instance, then Custom.
CHOICES: list[tuple[str, str]] = [(i.code, i.label) for i in INSTANCES] + [(CUSTOM, "Custom")]


class HostKind(StrEnum):
    """What a Braze host serves: the REST API, or the SDKs (the Web SDK uses the SDK host)."""

    REST = "rest"
    SDK = "sdk"


#: A Braze host: ``rest.<cluster>.braze.com`` or ``sdk.<cluster>.braze.com``, or ``.eu``.
BRAZE_HOST = re.compile(r"^(rest|sdk)\.[a-z0-9-]+\.braze\.(com|eu)$")
_BRAZE_DOMAINS = (".braze.com", ".braze.eu")


def get(code: str) -> BrazeInstance | None:
    return BY_CODE.get(code)


def label(code: str) -> str:
    """How pages name an instance code: "EU 01", "Custom" (an unknown code as it is)."""
    return dict(CHOICES).get(code, code)


def find_instance(pasted: str) -> BrazeInstance | None:
    """The instance a pasted dashboard URL, REST endpoint or SDK endpoint belongs to."""
    host = _host_of(pasted)
    for instance in INSTANCES:
        if host in (instance.rest_host, instance.sdk_host, *instance.dashboard_hosts):
            return instance
    return None


def is_dashboard_address(pasted: str) -> bool:
    """Whether a pasted address is a Braze dashboard's (not a REST or SDK endpoint)."""
    host = _host_of(pasted)
    return any(host in instance.dashboard_hosts for instance in INSTANCES)


def _host_of(pasted: str) -> str:
    text = pasted.strip()
    try:
        return (urlsplit(text if "//" in text else f"//{text}").hostname or "").lower()
    except ValueError:  # "[", "//[", "http://[::1": an unclosed or invalid IPv6 literal
        return ""


def is_braze_host(host: str, kind: HostKind) -> bool:
    match = BRAZE_HOST.match(host.lower())
    return bool(match and match.group(1) == kind)


def example_host(kind: HostKind) -> str:
    """The default instance's host of ``kind``, for messages that show what a host looks like."""
    default = BY_CODE[DEFAULT_INSTANCE]
    return default.rest_host if kind is HostKind.REST else default.sdk_host


def suggest_host(value: str, kind: HostKind) -> str | None:
    """The Braze host of ``kind`` that ``value`` was probably meant to be: one typing edit
    away (``sdk.api.braze.om``), or the same cluster's host when the other kind was typed."""
    candidates = (c for c in _typo_candidates(value, kind) if is_braze_host(c, kind))
    close = next((c for c in candidates if _one_edit_apart(value, c)), None)
    other = HostKind.SDK if kind is HostKind.REST else HostKind.REST
    if close is None and is_braze_host(value, other):
        return f"{kind}.{value.partition('.')[2]}"
    return close


def _typo_candidates(value: str, kind: HostKind) -> Iterator[str]:
    yield from (i.rest_host if kind is HostKind.REST else i.sdk_host for i in INSTANCES)
    yield f"{kind}.{value.partition('.')[2]}"  # a typo in the first label: "sdkk.", "rset."
    for domain in _BRAZE_DOMAINS:  # a typo in the domain: "braze.om", "brazecom", "brase.eu"
        for cut in range(len(domain) - 1, len(domain) + 2):
            yield value[:-cut] + domain


def _one_edit_apart(a: str, b: str) -> bool:
    """Exactly one character inserted, deleted or replaced (Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[i + 1 :] == b[i + 1 :] or a[i:] == b[i + 1 :] or a[i + 1 :] == b[i:]
