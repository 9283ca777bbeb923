"""Which written hosts could reach a private network: the address rules behind every endpoint.

Pure functions on the host as typed (no DNS). A literal address is judged by what it reaches,
whatever the form it is written in: ``ipaddress`` reads only dotted quads, but browsers, curl
and ``socket.inet_aton`` also read ``127.1``, ``0177.0.0.1``, ``0x7f000001`` and
``2130706433``, and IPv6 can carry an IPv4 address (mapped, NAT64, 6to4). Names are judged
by a list of well-known ones that resolve to loopback or a metadata service; any other name
is checked again where the socket opens (``mpbraze.http``), after DNS.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# The last label of a name that browsers read as an IPv4 address (decimal or hex).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_INET_ATON_TEXT = re.compile(r"^[0-9a-fx.]+$")

#: Names (and their subdomains) that resolve to loopback, private or metadata addresses:
#: local names, wildcard-DNS services that echo an address written in the name, metadata
#: services, and top-level names reserved for private networks.
LOCAL_NAMES: tuple[str, ...] = (
    "localhost",
    "localtest.me",
    "lvh.me",
    "vcap.me",
    "fuf.me",
    "localhost.direct",
    "local.gd",
    "nip.io",
    "sslip.io",
    "xip.io",
    "traefik.me",
    "metadata.google.internal",
    "instance-data.ec2.internal",
    "internal",
    "local",
    "localdomain",
    "lan",
    "home",
    "corp",
    "intranet",
    "private",
    "arpa",
)


def is_ip_literal(name: str) -> bool:
    """True for ``[…]`` and for any name whose last label is a number, as browsers read it."""
    name = name.rstrip(".")
    return name.startswith("[") or bool(_NUMERIC_LABEL.match(name.rpartition(".")[2]))


def literal_address(name: str) -> IPAddress | None:
    """The address a literal names in any accepted form; None for a name or an invalid one."""
    text = name.rstrip(".").strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not _INET_ATON_TEXT.match(text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address reaches (mapped, NAT64, 6to4, compatible), or itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour or address


def is_public_address(address: IPAddress) -> bool:
    """Public unicast: not private, loopback, link-local, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64:
        return False
    target = embedded_ipv4(address)
    return target.is_global and not (target.is_multicast or target.is_reserved)


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback address written in its usual form (``127.0.0.1``, ``[::1]``)."""
    name = name.rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def local_name(name: str) -> str | None:
    """The entry of ``LOCAL_NAMES`` that ``name`` is or ends with, if any."""
    name = name.rstrip(".")
    return next((n for n in LOCAL_NAMES if name == n or name.endswith(f".{n}")), None)


def address_refusal(name: str, *, allow_local: bool) -> str | None:
    """Why ``name`` (a host without its port) must not be used, or None when it may.

    ``allow_local`` admits loopback written plainly (a local fake Braze) and nothing else.
    The answer completes a sentence that starts with the field's label.
    """
    if allow_local and is_loopback(name):
        return None
    if name.rstrip(".") == "localhost":
        return f"points at a private, loopback or link-local address ({name}), which is refused."
    if is_ip_literal(name):
        return _literal_refusal(name)
    known = local_name(name)
    if known:
        shown = name if name.rstrip(".") == known else f"{name}, a name under {known}"
        return (
            f"names a host that resolves to a loopback, private or metadata address ({shown}), "
            "which is refused."
        )
    return None


def _literal_refusal(name: str) -> str | None:
    address = literal_address(name)
    if address is None:
        return f"is not a valid IP address ({name})."
    written = name.rstrip(".")
    if not is_public_address(address):
        target = embedded_ipv4(address)
        canonical = written.strip("[]") == str(address)
        shown = f"{name}, which reaches {target}" if target != address or not canonical else name
        return f"points at a private, loopback or link-local address ({shown}), which is refused."
    if isinstance(address, ipaddress.IPv4Address) and written != str(address):
        return (
            f"writes an IPv4 address in a short, octal, hex or integer form ({name} is "
            f"{address}); write it as {address}."
        )
    return None


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


def split_port(host: str) -> tuple[str, str]:
    """``rest.example.com:8080`` → (``rest.example.com``, ``8080``); IPv6 keeps its brackets."""
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1], host[end + 2 :] if host[end + 1 : end + 2] == ":" else ""
    name, _, port = host.partition(":")
    return name, port
