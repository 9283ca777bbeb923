"""What happened to one live event, in words, from its batch's status and its outbox rows.

An event that became several Braze objects (a purchase of three products) takes the fate of
its least settled object, worst first, and says how many of its objects share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.utils import timezone
from django.utils.formats import date_format

from connections.delivery.models import Delivery, InboundBatch


class Fate(StrEnum):
    WAITING = "waiting"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    REJECTED = "rejected"
    DEAD = "dead"
    DISCARDED = "discarded"
    NOT_FORWARDED = "not_forwarded"

    @classmethod
    def values(cls) -> list[str]:
        return [fate.value for fate in cls]

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[Fate, str] = {
    Fate.WAITING: "waiting to be mapped",
    Fate.QUEUED: "queued",
    Fate.SENDING: "sending",
    Fate.SENT: "sent",
    Fate.RETRYING: "retrying",
    Fate.REJECTED: "rejected by Braze",
    Fate.DEAD: "dead",
    Fate.DISCARDED: "discarded",
    Fate.NOT_FORWARDED: "not forwarded",
}
# Worst first: the fate an event shows when its objects fared differently.
PRECEDENCE = (
    Fate.REJECTED,
    Fate.DEAD,
    Fate.RETRYING,
    Fate.SENDING,
    Fate.QUEUED,
    Fate.DISCARDED,
    Fate.SENT,
)
BATCH_FATES = {
    InboundBatch.Status.RECEIVED: (Fate.WAITING, ""),
    InboundBatch.Status.WAITING: (Fate.WAITING, "no Server output yet: kept until one is added"),
    InboundBatch.Status.KIT: (
        Fate.NOT_FORWARDED,
        "kit mode: the SDK's Braze kit sends it; mpbraze stores it only",
    ),
}


@dataclass(frozen=True)
class FateInWords:
    fate: Fate
    detail: str = ""  # the particulars: when, Braze's answer, the next try, why not

    @property
    def label(self) -> str:
        return self.fate.label

    def __str__(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


def delivery_fate(row: Delivery) -> Fate:
    if row.status == Delivery.Status.QUEUED and (row.attempts or row.last_status_code):
        return Fate.RETRYING
    return Fate(row.status)


def event_fate(
    status: str,
    error: str,
    rows: Sequence[Delivery],
    *,
    mapped_nothing: str = "",
    requests: Mapping[int, int] | None = None,
) -> FateInWords:
    """The fate of one event of a batch in ``status``; ``rows`` are its outbox rows,
    ``mapped_nothing`` why a mapped event has none (found by the caller, on demand) and
    ``requests`` the HTTP attempt that carried each row last."""
    if status in BATCH_FATES:
        fate, detail = BATCH_FATES[InboundBatch.Status(status)]
        return FateInWords(fate, detail)
    if status == InboundBatch.Status.FAILED:
        return FateInWords(Fate.NOT_FORWARDED, f"could not be mapped: {error}"[:300])
    if not rows:
        return FateInWords(Fate.NOT_FORWARDED, mapped_nothing)
    fates = [delivery_fate(row) for row in rows]
    fate = next(f for f in PRECEDENCE if f in fates)
    row = rows[fates.index(fate)]
    share = f"{fates.count(fate)} of {len(rows)} objects; " if len(rows) > 1 else ""
    return FateInWords(fate, share + _detail(fate, row, (requests or {}).get(row.pk)))


def _detail(fate: Fate, row: Delivery, request: int | None) -> str:
    if fate is Fate.SENT:
        return f"at {_when(row.sent_at)}" + (f" in request #{request}" if request else "")
    if fate is Fate.RETRYING:
        answer = " ".join(filter(None, [str(row.last_status_code or ""), row.last_error]))
        return f"last answer: {answer or 'none'}; next try at {_when(row.next_attempt_at)}"[:300]
    if fate is Fate.REJECTED:
        return f"Braze: {row.last_error or 'rejected'}"[:300]
    if fate is Fate.DEAD:
        return f"retries exhausted; last answer: {row.last_error or row.last_status_code}"[:300]
    if fate is Fate.DISCARDED:
        return f"discarded by an auditor at {_when(row.discarded_at)}"
    return ""


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s")
