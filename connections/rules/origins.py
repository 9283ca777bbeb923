"""The Web output's allowed origins: the sites whose pages may call the SDK's endpoints.

An origin is what a browser sends in ``Origin``: ``scheme://host[:port]``, no path. Pasted
values are normalised (lower case, a trailing ``/`` dropped) so they compare equal to it.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

MAX_ORIGINS: Final = 20
_HOST: Final = re.compile(
    r"(\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)"
)


class OriginError(ValueError):
    """A value that is not an origin; the message names it and the problem."""


def origins_normalise(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The origins, normalised and without repeats, in the order given."""
    cleaned = [value.strip() for value in values if value.strip()]
    if len(cleaned) > MAX_ORIGINS:
        raise OriginError(f"At most {MAX_ORIGINS} allowed origins; {len(cleaned)} were given.")
    return tuple(dict.fromkeys(origin_normalise(value) for value in cleaned))


def origin_normalise(value: str) -> str:
    text = value.strip().lower().removesuffix("/")
    shown = value.strip()[:80]
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise OriginError(f"“{shown}” contains spaces or control characters.")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or "://" not in text:
        raise OriginError(f"“{shown}” must start with https:// (or http://).")
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        raise OriginError(f"“{shown}” must be a site only (scheme://host[:port]), no path.")
    try:
        port = parts.port
    except ValueError:
        raise OriginError(f"“{shown}” has an invalid port.") from None
    if not parts.hostname or not _HOST.fullmatch(
        parts.netloc.rsplit(":", 1)[0] if port else parts.netloc
    ):
        raise OriginError(f"“{shown}” has an invalid host name.")
    default = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port is not None and port != default else ""
    host = parts.netloc.rsplit(":", 1)[0] if port is not None else parts.netloc
    return f"{parts.scheme}://{host}{suffix}"
