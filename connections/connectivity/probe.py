"""The steps of a connectivity check, without the database: DNS → TCP → TLS → HTTP.

DNS uses the outbound client's own resolver and address guard (``mpbraze.http``), so a check
can reach nothing a send could not; TCP and TLS dial the first address the guard allows; the
HTTP step goes through the one outbound client. Every step is bounded by ``timeout``.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from mpbraze.addresses import EndpointPolicy, split_port
from mpbraze.http import _ssl_context, allowed_addresses, base_url, describe_error


@dataclass(frozen=True)
class Step:
    name: str  # dns, tcp, tls, http
    outcome: str  # passed, failed, skipped
    latency_ms: int
    message: str

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass(frozen=True)
class Target:
    """Where a step sequence goes: ``host`` as configured (``name`` or ``name:port``)."""

    host: str
    timeout: float

    @property
    def url(self) -> str:
        return base_url(self.host)

    @property
    def name(self) -> str:
        return split_port(self.host)[0].strip("[]")

    @property
    def port(self) -> int:
        port = split_port(self.host)[1]
        return int(port) if port else (443 if self.url.startswith("https://") else 80)


HttpStep = Callable[[Target], Step]


def probe(target: Target, http_step: HttpStep) -> list[Step]:
    """Run the steps in order; the first that fails ends the check."""
    steps: list[Step] = []
    addresses: list[str] = []
    for step in (_dns, _tcp, _tls):
        result, addresses = step(target, addresses)
        steps.append(result)
        if result.failed:
            return steps
    steps.append(http_step(target))
    return steps


def _dns(target: Target, _addresses: list[str]) -> tuple[Step, list[str]]:
    started = time.monotonic()
    try:
        found = allowed_addresses(target.name, target.port, EndpointPolicy.from_settings())
    except httpx.ConnectError as exc:  # DNSLookupFailed or AddressRefused
        return Step("dns", "failed", _ms(started), describe_error(exc)[1]), []
    shown = ", ".join(found[:3])
    return Step("dns", "passed", _ms(started), f"{target.name} resolves to {shown}"), found


def _tcp(target: Target, addresses: list[str]) -> tuple[Step, list[str]]:
    started = time.monotonic()
    where = f"{target.name} port {target.port}"
    try:
        socket.create_connection((addresses[0], target.port), timeout=target.timeout).close()
    except TimeoutError:
        message = f"no TCP connection to {where} within {target.timeout:g} s"
        return Step("tcp", "failed", _ms(started), message), addresses
    except ConnectionRefusedError:
        return Step("tcp", "failed", _ms(started), f"connection refused by {where}"), addresses
    except OSError as exc:
        message = f"no TCP connection to {where}: {exc.strerror or exc}"
        return Step("tcp", "failed", _ms(started), message), addresses
    return Step("tcp", "passed", _ms(started), f"connected to {where}"), addresses


def _tls(target: Target, addresses: list[str]) -> tuple[Step, list[str]]:
    if not target.url.startswith("https://"):
        return Step("tls", "skipped", 0, "plain HTTP to a local endpoint"), addresses
    return tls_handshake(target.name, addresses[0], target.port, target.timeout), addresses


def tls_handshake(name: str, address: str, port: int, timeout: float) -> Step:
    """A TLS handshake with ``address`` that verifies the certificate for ``name``."""
    started = time.monotonic()
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            _ssl_context().wrap_socket(raw, server_hostname=name) as tls,
        ):
            version = tls.version() or "TLS"
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or "untrusted certificate"
        return Step("tls", "failed", _ms(started), f"TLS handshake with {name} failed: {reason}")
    except TimeoutError:
        message = f"TLS handshake with {name} timed out after {timeout:g} s"
        return Step("tls", "failed", _ms(started), message)
    except (ssl.SSLError, OSError):
        return Step("tls", "failed", _ms(started), f"TLS handshake with {name} failed")
    return Step("tls", "passed", _ms(started), f"{version} with a valid certificate for {name}")


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
