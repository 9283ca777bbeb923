"""The one outbound HTTP client (docs/security.md "Endpoint rules", reliability reference §4.6).

Explicit timeouts, no redirects, a fixed User-Agent, no proxies or ``.netrc`` from the
environment, and a private-address guard applied where the socket is opened: the host is
resolved once, every address is checked, and only a checked address is dialled. Checking and
connecting are the same step, so a second DNS answer (rebinding) cannot slip in between. TLS
still verifies the certificate against the host name (SNI and ``Host`` are untouched).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import metadata
from typing import Any

import httpcore
import httpx

from mpbraze.addresses import (
    EndpointPolicy,
    IPAddress,
    embedded_ipv4,
    is_loopback,
    is_public_address,
    split_port,
)

LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)


def _version() -> str:
    try:
        return metadata.version("mpbraze")
    except metadata.PackageNotFoundError:
        return "dev"


USER_AGENT = f"mpbraze/{_version()}"


class DNSLookupFailed(httpx.ConnectError):
    """The host name did not resolve to any address."""

    def __init__(self, host: str) -> None:
        super().__init__(f"DNS lookup failed for {host}")
        self.host = host


class AddressRefused(httpx.ConnectError):
    """Every address of the host is private, loopback, link-local or reserved."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"refused: {host} resolves to a private address ({address})")
        self.host = host
        self.address = address


def outbound_client(*, timeout: float = 10.0) -> httpx.Client:
    """A new guarded client; keep one per worker process and close it when done."""
    return httpx.Client(
        transport=GuardedTransport(),
        timeout=httpx.Timeout(connect=timeout, read=timeout, write=timeout, pool=timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def base_url(host: str) -> str:
    """``https://host``; plain ``http://`` only for a loopback host (the local fake Braze)
    while local endpoints are allowed."""
    if is_loopback(split_port(host)[0]) and EndpointPolicy.from_settings().allow_local:
        return f"http://{host}"
    return f"https://{host}"


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, with a connection pool that dials through ``GuardedBackend``."""

    def __init__(self) -> None:
        # HTTPTransport.__init__ only builds this pool, and offers no hook for the network
        # backend, so the pool is built here instead of calling it.
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=GuardedBackend(),
        )


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~50 ms; a context can be shared by clients and threads.
    return httpx.create_ssl_context(trust_env=False)


class GuardedBackend(httpcore.SyncBackend):
    """Resolves the host, refuses disallowed addresses and connects to a checked address."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = allowed_addresses(host, port, EndpointPolicy.from_settings())
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # refused or unreachable: try the next one
                failure = exc
        assert failure is not None  # allowed_addresses never returns an empty list
        raise failure


def allowed_addresses(host: str, port: int, policy: EndpointPolicy) -> list[str]:
    """The addresses of ``host`` the policy lets us dial, in the resolver's order."""
    addresses = resolve(host, port)
    if policy.explicitly_allows(host) or policy.explicitly_allows(f"{host}:{port}"):
        return addresses
    allowed = [a for a in addresses if address_allowed(ipaddress.ip_address(a), policy)]
    if not allowed:
        raise AddressRefused(host, addresses[0])
    return allowed


def resolve(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DNSLookupFailed(host) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise DNSLookupFailed(host)
    return addresses


def address_allowed(address: IPAddress, policy: EndpointPolicy) -> bool:
    """Public unicast addresses; loopback too while local endpoints are allowed."""
    if policy.allow_local and embedded_ipv4(address).is_loopback:
        return True
    return is_public_address(address)


_TIMEOUT_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


def describe_error(exc: BaseException) -> tuple[str, str]:
    """``(error class, short sentence)`` for a failed request, fit for the dashboard.

    Classes: dns, refused_address, timeout, tls, connect_error, reset, bad_response,
    bad_request. Never quotes our own request: its headers hold credentials.
    """
    if isinstance(exc, httpx.LocalProtocolError | UnicodeEncodeError):
        return "bad_request", "the request could not be sent: a header or the URL is invalid"
    if isinstance(exc, DNSLookupFailed):
        return "dns", str(exc)
    if isinstance(exc, AddressRefused):
        return "refused_address", str(exc)
    if isinstance(exc, httpx.TimeoutException):
        return "timeout", _timed_out(exc)
    return _from_causes(exc) or _from_type(exc)


def _from_causes(exc: BaseException) -> tuple[str, str] | None:
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls", f"TLS handshake failed: {cause.verify_message or 'untrusted certificate'}"
        if isinstance(cause, ssl.SSLError):
            return "tls", "TLS handshake failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connect_error", "connection refused"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "reset", "connection reset"
    return None


def _from_type(exc: BaseException) -> tuple[str, str]:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in text:
        return "reset", "connection closed without an answer"
    if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
        return "bad_response", f"malformed HTTP answer ({text})"
    if isinstance(exc, httpx.NetworkError):
        return "reset" if isinstance(exc, httpx.ReadError) else "connect_error", text
    return "connect_error", text


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _timed_out(exc: httpx.TimeoutException) -> str:
    try:
        timeouts = exc.request.extensions.get("timeout", {})
    except RuntimeError:  # raised outside a client, without its request
        return "timed out"
    seconds = timeouts.get(_TIMEOUT_PHASES.get(type(exc), "read"))
    return f"timed out after {seconds:g} s" if seconds else "timed out"
