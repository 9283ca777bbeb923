"""The Identity API's request bodies, as the Web SDK sends them, checked. Pure: no I/O.

``identify``, ``login`` and ``logout`` carry ``known_identities`` (the user's identities and the
device's ``device_application_stamp``); ``modify`` carries ``identity_changes``. A problem is a
400 naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from connections.identity.models import DEVICE_STAMP
from connections.identity.store import KNOWN_IDENTITY_TYPES, identity_order
from connections.inbound.errors import bad_request
from connections.inbound.parsing import decode_json

MAX_VALUE_CHARS: Final = 512
MAX_CHANGES: Final = 20
MAX_REQUEST_ID_CHARS: Final = 64
MAX_UNIX_MS: Final = 253_402_300_800_000  # the year 10000: what a datetime can hold
_NAMES: Final = frozenset(KNOWN_IDENTITY_TYPES)


@dataclass(frozen=True)
class IdentityRequest:
    known: dict[str, str]
    device_stamp: str | None


@dataclass(frozen=True)
class AliasRequest:
    request_id: str
    source_mpid: int
    destination_mpid: int
    start_ms: int
    end_ms: int


def parse_identity_request(body: bytes) -> IdentityRequest:
    document = _object(body)
    identities = document.get("known_identities")
    if type(identities) is not dict:
        raise bad_request("known_identities: required, a JSON object of identities.")
    known: dict[str, str] = {}
    for name, value in identities.items():
        if value is None:
            continue  # the SDK sends null for an identity it clears
        if name != DEVICE_STAMP and name not in _NAMES:
            raise bad_request(
                f"known_identities.{name[:40]}: not an identity type the Web SDK"
                " sends (customerid, email, other, other2…other10, …)."
            )
        known[name] = _value(f"known_identities.{name}", value)
    stamp = known.pop(DEVICE_STAMP, None)
    return IdentityRequest(known=identity_order(known), device_stamp=stamp)


def parse_modify_request(body: bytes) -> dict[str, str]:
    """The identities a modify adds (a change to null removes nothing: an MPID keeps its
    identities for ever)."""
    changes = _object(body).get("identity_changes")
    if type(changes) is not list or len(changes) > MAX_CHANGES:
        raise bad_request(
            f"identity_changes: required, a JSON array of at most {MAX_CHANGES} changes."
        )
    added: dict[str, str] = {}
    for index, change in enumerate(changes):
        path = f"identity_changes[{index}]"
        if type(change) is not dict:
            raise bad_request(f"{path}: a change must be a JSON object.")
        name = change.get("identity_type")
        if type(name) is not str or name not in _NAMES:
            raise bad_request(f"{path}.identity_type: not an identity type the Web SDK sends.")
        if change.get("new_value") is not None:
            added[name] = _value(f"{path}.new_value", change["new_value"])
    return added


def parse_alias_request(body: bytes) -> AliasRequest:
    """An alias request as ``createAliasNetworkRequest`` of the Web SDK builds it."""
    document = _object(body)
    if document.get("request_type") != "alias":
        raise bad_request('request_type: must be "alias".')
    request_id = document.get("request_id")
    if type(request_id) is not str or not 0 < len(request_id) <= MAX_REQUEST_ID_CHARS:
        raise bad_request(f"request_id: required, a string of at most {MAX_REQUEST_ID_CHARS}.")
    data = document.get("data")
    if type(data) is not dict:
        raise bad_request("data: required, a JSON object.")
    source = _mpid("data.source_mpid", data.get("source_mpid"))
    destination = _mpid("data.destination_mpid", data.get("destination_mpid"))
    if source == destination:
        raise bad_request("data.destination_mpid: must name another user than source_mpid.")
    start = _milliseconds("data.start_unixtime_ms", data.get("start_unixtime_ms"))
    end = _milliseconds("data.end_unixtime_ms", data.get("end_unixtime_ms"))
    if start > end:
        raise bad_request("data.start_unixtime_ms: must not be after end_unixtime_ms.")
    return AliasRequest(request_id, source, destination, start, end)


def parse_mpid(text: str) -> int:
    return _mpid("mpid", text, where="the path must name")


def _mpid(field: str, value: Any, *, where: str = "must be") -> int:
    """An MPID as the SDK sends it (a decimal string; a number is accepted)."""
    mpid = 0
    if type(value) is int:
        mpid = value
    elif type(value) is str and value.lstrip("-").isdigit() and len(value) <= 20:
        mpid = int(value)
    if not 0 < mpid < 2**63:
        raise bad_request(f"{field}: {where} an MPID (a positive 64-bit number).")
    return mpid


def _milliseconds(field: str, value: Any) -> int:
    if type(value) is not int or not 0 < value < MAX_UNIX_MS:
        raise bad_request(f"{field}: required, Unix time in milliseconds (a positive integer).")
    return value


def _object(body: bytes) -> dict[str, Any]:
    document = decode_json(body)
    if type(document) is not dict:
        raise bad_request("The body must be a JSON object.")
    return document


def _value(path: str, value: Any) -> str:
    if type(value) is not str or not value.strip():
        raise bad_request(f"{path}: must be a non-empty string.")
    if len(value) > MAX_VALUE_CHARS or "\x00" in value:
        raise bad_request(f"{path}: at most {MAX_VALUE_CHARS} characters, no NUL.")
    return value
