"""Endpoint hostnames: normalisation and the safety policy (docs/security.md "Endpoint rules").

Values are bare hostnames. A pasted scheme, trailing slash or trailing dot is stripped with a
notice; anything else that is not a plain host is refused with a message naming the problem.
``endpoint_check`` is the one check every endpoint field goes through: the Custom REST, SDK
and JavaScript endpoints of an output and the target URLs of REST hooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from connections.rules import instances
from mpbraze import addresses
from mpbraze.addresses import EndpointPolicy, is_loopback, split_port

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_BAD_CHARACTER = re.compile(r"[^a-z0-9.\-:\[\]]")
_SCHEMES = ("https://", "http://")


class HostError(ValueError):
    """A hostname that cannot be used, with a message for the person who typed it."""


class EndpointKind(StrEnum):
    """Which field a host was typed in: it decides the Braze hosts it must be one of."""

    REST = "rest"
    SDK = "sdk"
    JS = "js"
    HOOK = "hook"

    @property
    def braze_kind(self) -> instances.HostKind | None:
        if self is EndpointKind.HOOK:
            return None
        if self is EndpointKind.REST:
            return instances.HostKind.REST
        # The Web SDK's base URL is the SDK host (reference/mparticle_braze_kit.md §2).
        return instances.HostKind.SDK

    @property
    def example(self) -> str:
        return instances.example_host(self.braze_kind or instances.HostKind.REST)


@dataclass(frozen=True)
class NormalisedHost:
    host: str
    notice: str = ""


def endpoint_check(
    raw: str, kind: EndpointKind, policy: EndpointPolicy, label: str
) -> NormalisedHost:
    """The host of an endpoint field, normalised, or ``HostError`` saying why it is refused.

    Refuses what could reach a private network whatever its spelling (``addresses``), and
    for Braze fields anything that is not a Braze host of the field's kind or allowed by the
    operator. ``policy.allow_local`` admits loopback, with any port, and nothing else.
    """
    normalised = normalise(raw, label, kind)
    check_safety(normalised.host, label, policy, kind)
    return normalised


def normalise(raw: str, label: str, kind: EndpointKind = EndpointKind.REST) -> NormalisedHost:
    """Strip a pasted scheme, trailing slash and trailing dot, then check the syntax."""
    host = raw.strip()
    stripped = []
    for scheme in _SCHEMES:
        if host.lower().startswith(scheme):
            host, stripped = host[len(scheme) :], [f"“{scheme}”"]
    if host.endswith("/") and "/" not in host.rstrip("/"):
        host, stripped = host.rstrip("/"), [*stripped, "the trailing “/”"]
    name, port = split_port(host)
    if name.endswith(".") and not name.endswith(".."):
        host, stripped = name[:-1] + (f":{port}" if port else ""), [*stripped, "the trailing “.”"]
    host = host.lower()
    _check_syntax(host, label, kind)
    if not stripped:
        return NormalisedHost(host)
    removed = " and ".join(stripped)
    return NormalisedHost(host, f"{label}: removed {removed}; saved as the bare hostname {host}.")


def _check_syntax(host: str, label: str, kind: EndpointKind) -> None:
    if any(ch.isspace() for ch in host):
        raise HostError(f"{label} contains a space; enter a hostname such as {kind.example}.")
    for mark, part in (("/", "path"), ("?", "query string"), ("#", "fragment"), ("@", "user name")):
        if mark in host:
            raise HostError(f"{label} must be a bare hostname: remove the {part}.")
    bad = _BAD_CHARACTER.search(host)
    if bad:
        raise HostError(f"{label} contains the invalid character “{bad.group()}”.")
    name, port = split_port(host)
    if host.startswith("[") and host != name + (f":{port}" if port else ""):
        raise HostError(f"{label} has an invalid IPv6 address “{host}”.")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise HostError(f"{label} has an invalid port “{port}”.")
    if not addresses.is_ip_literal(name):
        _check_labels(name, label, kind)


def _check_labels(name: str, label: str, kind: EndpointKind) -> None:
    if len(name) > 253:
        raise HostError(f"{label} is longer than 253 characters.")
    parts = name.split(".")
    if "" in parts:
        raise HostError(f"{label} has an empty label (a leading, trailing or double dot).")
    for part in parts:
        if not _LABEL.match(part):
            raise HostError(f"{label} has an invalid label “{part}”.")
    if len(parts) < 2 and name != "localhost":
        raise HostError(f"{label} must be a full hostname such as {kind.example}.")


def check_safety(host: str, label: str, policy: EndpointPolicy, kind: EndpointKind) -> None:
    """Refuse hosts that would let a configuration reach private networks (SSRF) and, for a
    Braze field, hosts that are not Braze's; ``host`` is already normalised."""
    if policy.explicitly_allows(host):
        return
    name, port = split_port(host)
    refusal = addresses.address_refusal(name, allow_local=policy.allow_local)
    if refusal:
        raise HostError(f"{label} {refusal}")
    braze_kind = kind.braze_kind
    if (policy.allow_local and is_loopback(name)) or braze_kind is None:
        return
    if port:
        raise HostError(f"{label} must not include a port (:{port}); Braze is reached on 443.")
    if not instances.is_braze_host(name, braze_kind):
        raise HostError(_not_braze(name, label, kind, braze_kind))


def _not_braze(name: str, label: str, kind: EndpointKind, braze_kind: instances.HostKind) -> str:
    what = "REST" if braze_kind is instances.HostKind.REST else "SDK"
    suggestion = instances.suggest_host(name, braze_kind)
    guess = f"; did you mean {suggestion}?" if suggestion else "."
    web = " (the Web SDK uses the SDK host)" if kind is EndpointKind.JS else ""
    return (
        f"{label} {name} is not a Braze {what} host{guess} Braze {what} hosts look like "
        f"{kind.example} ({braze_kind}.<cluster>.braze.com or .eu){web}; an operator can allow "
        "another host with MPBRAZE_ALLOWED_ENDPOINT_HOSTS."
    )
