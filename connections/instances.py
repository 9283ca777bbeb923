"""The Braze instance catalog: the one module that knows Braze hosts.

Source: Braze "API basics" / SDK endpoints (``shared/reference/braze_rest_api.md`` §4).
Every other module asks this one for hosts, choices and the URL-to-instance lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

#: A Braze REST host: ``rest.<cluster>.braze.com`` or ``.eu`` (no invented hosts).
BRAZE_REST_HOST = re.compile(r"^rest\.[a-z0-9-]+\.braze\.(com|eu)$")


def get(code: str) -> BrazeInstance | None:
    return BY_CODE.get(code)


def find_instance(pasted: str) -> BrazeInstance | None:
    """The instance a pasted dashboard URL, REST endpoint or SDK endpoint belongs to."""
    text = pasted.strip()
    host = (urlsplit(text if "//" in text else f"//{text}").hostname or "").lower()
    for instance in INSTANCES:
        if host in (instance.rest_host, instance.sdk_host, *instance.dashboard_hosts):
            return instance
    return None


def is_braze_rest_host(host: str) -> bool:
    return bool(BRAZE_REST_HOST.match(host.lower()))
