"""mParticle's "API Custom Attribute Type Detection": Boolean → Long → Double → Date → String."""

from __future__ import annotations

from datetime import datetime
from math import isfinite

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_DATE_YEAR_MAX = 3000  # Braze stores later (or negative) years as plain strings


def detect_type(text: str) -> str | bool | int | float:
    """The typed value a string stands for, or the string itself."""
    if not text or len(text) > 40:  # nothing longer than 40 chars is a bool, number or date
        return text
    first = text[0]
    if first in "tTfF" and len(text) in (4, 5):
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text
    if first.isdigit() or first in "+-.":
        number = _detect_number(text)
        if number is not None:
            return number
        return _detect_date(text)
    return text


def _detect_number(text: str) -> int | float | None:
    if not text.isascii():
        return None
    digits = text[1:] if text[0] == "-" else text
    if digits.isdigit():
        # A leading zero ("007", zip-like codes) is an identifier, not a number: keep the string.
        if len(digits) > 1 and digits[0] == "0":
            return None
        value = int(text)
        return value if INT64_MIN <= value <= INT64_MAX else None
    if not _NUMBER_CHARS.issuperset(text):
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if isfinite(number) else None


def _detect_date(text: str) -> str:
    """A recognised date comes back in ISO-8601 form, so Braze reads it as a time."""
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if not 0 < moment.year <= _DATE_YEAR_MAX:
        return text
    return text if len(text) == 10 else moment.isoformat()
