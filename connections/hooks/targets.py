"""Where a REST hook may point: the address rules of every endpoint (``hosts.endpoint_check``).

Only the URL is checked here (no DNS): the outbound client resolves the name once when it
sends and refuses a private address where the socket opens.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from connections.rules.field_errors import FieldError
from connections.rules.hosts import EndpointKind, HostError, endpoint_check
from mpbraze.addresses import EndpointPolicy, is_loopback, split_port

MAX_URL_LENGTH = 2000
LABEL = "The target URL"


class HookError(FieldError):
    """A REST hook request that cannot be honoured, with the field at fault."""


def target_url_check(raw: str, policy: EndpointPolicy | None = None) -> str:
    """The URL, normalised (scheme and host in lower case), or ``HookError("target_url")``."""
    policy = policy or EndpointPolicy.from_settings()
    text = raw.strip()
    if not text or len(text) > MAX_URL_LENGTH or any(ch.isspace() for ch in text):
        raise _refused(f"must be a URL of at most {MAX_URL_LENGTH} characters, without spaces.")
    try:
        parts = urlsplit(text)
    except ValueError as error:
        raise _refused(f"is not a valid URL ({error}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.netloc:
        raise _refused("must start with https:// and name a host.")
    if "@" in parts.netloc:
        raise _refused("must not contain a user name or password.")
    if parts.fragment:
        raise _refused("must not contain a fragment (#…).")
    host = _host(parts.netloc, policy)
    local = policy.allow_local and is_loopback(split_port(host)[0])
    if scheme != "https" and not local:
        raise _refused("must use https:// (plain http only reaches a local test receiver).")
    return urlunsplit((scheme, host, parts.path, parts.query, ""))


def _host(netloc: str, policy: EndpointPolicy) -> str:
    try:
        return endpoint_check(netloc, EndpointKind.HOOK, policy, LABEL).host
    except HostError as error:
        raise HookError("target_url", str(error)) from None


def _refused(message: str) -> HookError:
    return HookError("target_url", f"{LABEL} {message}")
