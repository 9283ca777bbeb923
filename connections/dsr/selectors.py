"""Reads of data subject requests for the API and the admin."""

from __future__ import annotations

from typing import Any

from connections.dsr.answers import processor_domain
from connections.dsr.models import DataSubjectRequest


def dsr_request_extensions(request: DataSubjectRequest) -> dict[str, Any]:
    """mParticle's per-partner forwarding status, one entry per connection: ``sent`` when
    done, else the request's state; counts only, never an identity."""
    entries = []
    for pk, result in sorted(request.results.items()):
        if not pk.isdigit():
            continue
        entries.append(
            {
                "connection": int(pk),
                "name": result.get("name", ""),
                "status": "sent" if result.get("done") else request.status,
                "braze_deleted": result.get("braze_deleted", 0),
                "external_ids": result.get("external_ids", 0),
                "user_aliases": result.get("user_aliases", 0),
                "erased_here": result.get("erased_here", {}),
            }
        )
    return {processor_domain() or "mpbraze": entries}
