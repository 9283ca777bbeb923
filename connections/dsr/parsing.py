"""Reading an OpenDSR request body: every problem is a ``DsrInputError`` naming the field.

Both identity shapes are read: OpenDSR's array of ``{identity_type, identity_value,
identity_format}`` and mParticle v3's dictionary ``{type: {value, encoding}}``, plus
mParticle's ``opendsr.mparticle.com`` extension (``subject_identities``, and v2's ``mpids``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from connections.dsr.identities import (
    DISCOVERY_TYPES,
    MAX_VALUE_LENGTH,
    MPID,
    PROCESSOR_EXTENSION,
    canonical_type,
    mpid_parse,
)
from connections.hooks.targets import HookError, target_url_check
from connections.rules.field_errors import FieldError

REQUEST_TYPES = ("erasure", "access", "portability")
SUPPORTED_TYPES = ("erasure",)
REGULATIONS = ("gdpr", "ccpa")
MAX_IDENTITIES = 20
MAX_CALLBACKS = 5


class DsrInputError(FieldError):
    """A request body that cannot be accepted, with the field at fault."""


@dataclass(frozen=True)
class DsrDraft:
    """A well-formed request: identities as (batch key or ``mpid``, value) pairs."""

    subject_request_id: uuid.UUID
    subject_request_type: str
    regulation: str
    submitted_time: datetime
    api_version: str
    identities: list[tuple[str, str]]
    callback_urls: list[str]


def dsr_body_parse(raw: bytes) -> tuple[DsrDraft, dict[str, Any]]:
    """The draft and the JSON object it came from, or ``DsrInputError``."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DsrInputError("body", "is not valid JSON.") from None
    if not isinstance(body, dict):
        raise DsrInputError("body", "must be a JSON object.")
    draft = DsrDraft(
        subject_request_id=_request_id(body.get("subject_request_id")),
        subject_request_type=_choice(body, "subject_request_type", REQUEST_TYPES),
        regulation=_regulation(body.get("regulation")),
        submitted_time=_time(body.get("submitted_time")),
        api_version=_text(body.get("api_version", "3.0"), "api_version", 10),
        identities=_identities(body),
        callback_urls=_callbacks(body.get("status_callback_urls", [])),
    )
    return draft, body


def _request_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str) or not value.strip():
        raise DsrInputError("subject_request_id", "is required: a UUID v4 string.")
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise DsrInputError("subject_request_id", f"{value[:60]!r} is not a UUID.") from None


def _choice(body: dict[str, Any], field: str, allowed: tuple[str, ...]) -> str:
    value = body.get(field)
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        shown = repr(value)[:60] if value is not None else "nothing"
        raise DsrInputError(field, f"must be one of {', '.join(allowed)}; got {shown}.")
    return value.strip().lower()


def _regulation(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or value.strip().lower() not in REGULATIONS:
        raise DsrInputError("regulation", f"must be gdpr or ccpa; got {repr(value)[:60]}.")
    return value.strip().lower()


def _time(value: Any) -> datetime:
    parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise DsrInputError(
            "submitted_time",
            "is required: an RFC 3339 time with a zone, e.g. 2026-12-01T15:00:00Z.",
        )
    return parsed


def _text(value: Any, field: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise DsrInputError(field, f"must be a string of at most {limit} characters.")
    return value


def _identities(body: dict[str, Any]) -> list[tuple[str, str]]:
    found = _identity_items(body.get("subject_identities"), "subject_identities")
    extension = (body.get("extensions") or {}) if isinstance(body.get("extensions"), dict) else {}
    mine = extension.get(PROCESSOR_EXTENSION)
    if isinstance(mine, dict):
        path = f"extensions.{PROCESSOR_EXTENSION}"
        found += _identity_items(mine.get("subject_identities"), f"{path}.subject_identities")
        found += _identity_items(mine.get("identities"), f"{path}.identities")
        found += _legacy_mpids(mine.get("mpids"), f"{path}.mpids")
    if not found:
        raise DsrInputError("subject_identities", "must name at least one identity of the subject.")
    if len(found) > MAX_IDENTITIES:
        raise DsrInputError("subject_identities", f"may name at most {MAX_IDENTITIES} identities.")
    return list(dict.fromkeys(found))


def _identity_items(value: Any, path: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):  # mParticle v3: {type: {value, encoding}}
        return [_identity(name, item, f"{path}.{name}") for name, item in value.items()]
    if isinstance(value, list):  # OpenDSR: [{identity_type, identity_value, identity_format}]
        return [_listed_identity(item, f"{path}.{n}") for n, item in enumerate(value)]
    raise DsrInputError(path, "must be an object keyed by identity type, or an array.")


def _listed_identity(item: Any, path: str) -> tuple[str, str]:
    if not isinstance(item, dict):
        raise DsrInputError(path, "must be an object with identity_type and identity_value.")
    name = item.get("identity_type")
    if not isinstance(name, str):
        raise DsrInputError(f"{path}.identity_type", "is required: a string.")
    inner = {"value": item.get("identity_value"), "encoding": item.get("identity_format", "raw")}
    return _identity(name, inner, path)


def _identity(name: str, item: Any, path: str) -> tuple[str, str]:
    kind = canonical_type(name)
    if kind is None:
        supported = ", ".join(DISCOVERY_TYPES)
        raise DsrInputError(path, f"identity type {name[:40]!r} is not supported ({supported}).")
    if not isinstance(item, dict):
        raise DsrInputError(path, "must be an object with value and encoding.")
    if item.get("encoding", "raw") != "raw":
        raise DsrInputError(f"{path}.encoding", "only raw identities can be matched here.")
    value = item.get("value")
    if isinstance(value, int) and not isinstance(value, bool) and kind == MPID:
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE_LENGTH:
        raise DsrInputError(
            f"{path}.value", f"must be a non-empty string of at most {MAX_VALUE_LENGTH} characters."
        )
    if kind == MPID and mpid_parse(value) is None:
        raise DsrInputError(f"{path}.value", "an MPID is a signed 64-bit integer other than 0.")
    return kind, str(mpid_parse(value)) if kind == MPID else value.strip()


def _legacy_mpids(value: Any, path: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DsrInputError(path, "must be an array of MPIDs.")
    return [_identity(MPID, {"value": item}, f"{path}.{n}") for n, item in enumerate(value)]


def _callbacks(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_CALLBACKS:
        raise DsrInputError(
            "status_callback_urls", f"must be an array of at most {MAX_CALLBACKS} URLs."
        )
    urls = []
    for n, item in enumerate(value):
        if not isinstance(item, str):
            raise DsrInputError(f"status_callback_urls.{n}", "must be a URL string.")
        try:
            urls.append(target_url_check(item))
        except HookError as error:
            message = error.message.replace("The target URL", "The callback URL")
            raise DsrInputError(f"status_callback_urls.{n}", message) from None
    return list(dict.fromkeys(urls))
