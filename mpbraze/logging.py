"""Logging filter that keeps credentials out of every log line."""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    re.compile(r"(?i)(authorization:\s*(?:bearer|basic)\s+)\S+"),
    re.compile(r"(?i)((?:api[_-]?key|secret|token|password)\W{1,3})[^\s,'\"}]+"),
)


def scrub(text: str) -> str:
    """Replace anything that looks like a credential value with ``[redacted]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class ScrubSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True
