"""Endpoint hostnames: normalisation and the safety policy (SPEC §3, "Endpoint safety").

Values are bare hostnames. A pasted scheme or trailing slash is stripped with a notice;
anything else that is not a plain host is refused with a message naming the problem.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from django.conf import settings

from connections import instances

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_BAD_CHARACTER = re.compile(r"[^a-z0-9.\-:\[\]]")
_SCHEMES = ("https://", "http://")


class HostError(ValueError):
    """A hostname that cannot be used, with a message for the person who typed it."""


@dataclass(frozen=True)
class EndpointPolicy:
    allow_local: bool
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls) -> EndpointPolicy:
        return cls(
            allow_local=settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS,
            allowed_hosts=tuple(h.lower() for h in settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS),
        )

    def explicitly_allows(self, host: str) -> bool:
        return host in self.allowed_hosts or split_port(host)[0] in self.allowed_hosts


@dataclass(frozen=True)
class NormalisedHost:
    host: str
    notice: str = ""


def split_port(host: str) -> tuple[str, str]:
    """``rest.example.com:8080`` → (``rest.example.com``, ``8080``); IPv6 keeps its brackets."""
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1], host[end + 2 :] if host[end + 1 : end + 2] == ":" else ""
    name, _, port = host.partition(":")
    return name, port


def ip_of(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None


def is_loopback(name: str) -> bool:
    address = ip_of(name)
    return name == "localhost" or bool(address and address.is_loopback)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def normalise(raw: str, label: str) -> NormalisedHost:
    """Strip a pasted scheme and trailing slash, then check the syntax of what is left."""
    text = raw.strip()
    host = text
    stripped = []
    for scheme in _SCHEMES:
        if host.lower().startswith(scheme):
            host, stripped = host[len(scheme) :], [f"“{scheme}”"]
    if host.endswith("/") and "/" not in host.rstrip("/"):
        host, stripped = host.rstrip("/"), [*stripped, "the trailing “/”"]
    host = host.lower()
    _check_syntax(host, label)
    if not stripped:
        return NormalisedHost(host)
    removed = " and ".join(stripped)
    return NormalisedHost(host, f"{label}: removed {removed}; saved as the bare hostname {host}.")


def _check_syntax(host: str, label: str) -> None:
    if any(ch.isspace() for ch in host):
        raise HostError(
            f"{label} contains a space; enter a hostname such as rest.iad-03.braze.com."
        )
    for mark, part in (("/", "path"), ("?", "query string"), ("#", "fragment"), ("@", "user name")):
        if mark in host:
            raise HostError(f"{label} must be a bare hostname: remove the {part}.")
    bad = _BAD_CHARACTER.search(host)
    if bad:
        raise HostError(f"{label} contains the invalid character “{bad.group()}”.")
    name, port = split_port(host)
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise HostError(f"{label} has an invalid port “{port}”.")
    if ip_of(name) is None:
        _check_labels(name, label)


def _check_labels(name: str, label: str) -> None:
    if len(name) > 253:
        raise HostError(f"{label} is longer than 253 characters.")
    parts = name.split(".")
    if "" in parts:
        raise HostError(f"{label} has an empty label (a leading, trailing or double dot).")
    for part in parts:
        if not _LABEL.match(part):
            raise HostError(f"{label} has an invalid label “{part}”.")
    if len(parts) < 2 and name != "localhost":
        raise HostError(f"{label} must be a full hostname such as rest.iad-03.braze.com.")


def check_safety(host: str, label: str, policy: EndpointPolicy, *, rest: bool) -> None:
    """Refuse hosts that would let a configuration reach private networks (SSRF)."""
    if policy.explicitly_allows(host):
        return
    name, port = split_port(host)
    if policy.allow_local and is_loopback(name):
        return
    address = ip_of(name)
    if name == "localhost" or (address is not None and not is_public_address(address)):
        raise HostError(
            f"{label} points at a private, loopback or link-local address ({name}), "
            "which is refused."
        )
    if policy.allow_local:
        return
    if port:
        raise HostError(f"{label} must not include a port (:{port}); Braze is reached on 443.")
    if rest and not instances.is_braze_rest_host(name):
        raise HostError(
            f"{label} {name} is not a Braze REST host (rest.<cluster>.braze.com or .eu); "
            "an operator can allow it with MPBRAZE_ALLOWED_ENDPOINT_HOSTS."
        )
