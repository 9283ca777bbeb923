"""Request bodies → normalised batches, or a Refusal naming the problem. Pure: no I/O.

Everything is checked before anything is stored: a bulk request with one bad batch is
refused whole, so a client can fix it and resend without creating duplicates.
"""

from __future__ import annotations

import json
from typing import Any, Final

from connections.inbound.batch_checks import MAX_DEPTH, MAX_PROBLEMS, Problem, batch_problems
from connections.inbound.errors import bad_request, payload_too_large

MAX_BULK_BATCHES: Final = 100
Batch = dict[str, Any]


class _NonStandardNumber(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON and PostgreSQL do not."""


def parse_events(body: bytes, *, max_batch_bytes: int) -> list[Batch]:
    """The one batch of a ``/v2/events`` body, checked and normalised."""
    document = decode_json(body)
    if type(document) is not dict:
        raise bad_request(
            "The body must be a JSON object holding one batch; "
            "send arrays of batches to /v2/bulkevents."
        )
    return _accept([document], [""], max_batch_bytes=max_batch_bytes, outcome="")


def parse_bulk(body: bytes, *, max_batch_bytes: int) -> list[Batch]:
    """The batches of a ``/v2/bulkevents`` body (a JSON array of 1 to 100), all or none."""
    document = decode_json(body)
    if type(document) is not list or not document:
        raise bad_request("The body must be a JSON array of 1 to 100 batches.")
    if len(document) > MAX_BULK_BATCHES:
        raise bad_request(
            f"The body holds {len(document)} batches; at most {MAX_BULK_BATCHES} are accepted "
            "per request."
        )
    paths = [f"[{index}]" for index in range(len(document))]
    outcome = f" None of the {len(document)} batches in this request was stored."
    return _accept(document, paths, max_batch_bytes=max_batch_bytes, outcome=outcome)


def decode_json(body: bytes) -> Any:
    """The JSON document of a body: strict UTF-8, no NaN/Infinity, nesting bounded."""
    if not body.strip():
        raise bad_request(
            "The request body is empty (the mParticle SDK sends no body for an empty Batch "
            "or an empty list of batches)."
        )
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise bad_request(f"The body is not valid UTF-8 (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise bad_request(f"The body is not valid JSON: {error}.") from None
    except _NonStandardNumber as error:
        raise bad_request(f"The body is not valid JSON: {error}") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits.
        raise bad_request("The body is not valid JSON: a number has too many digits.") from None
    except RecursionError:
        raise bad_request(f"The body is nested deeper than {MAX_DEPTH} levels.") from None


def normalise_batch(batch: Batch) -> Batch:
    """The batch as stored: the SDKs' ``customerid`` becomes ``customer_id`` (an existing
    ``customer_id`` wins) and ``environment`` defaults to ``production`` as mParticle's does.
    ``mpid`` is kept as sent (a string or a number)."""
    normalised = dict(batch)
    identities = batch.get("user_identities")
    if isinstance(identities, dict) and "customerid" in identities:
        identities = dict(identities)
        legacy = identities.pop("customerid")
        if identities.get("customer_id") in (None, ""):
            identities["customer_id"] = legacy
        normalised["user_identities"] = identities
    if normalised.get("environment") is None:
        normalised["environment"] = "production"
    return normalised


def _refuse_constant(name: str) -> Any:
    raise _NonStandardNumber(f"{name} is not a JSON number.")


def _accept(
    batches: list[Any], paths: list[str], *, max_batch_bytes: int, outcome: str
) -> list[Batch]:
    problems: list[Problem] = []
    for batch, path in zip(batches, paths, strict=True):
        problems.extend(batch_problems(batch, path))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise bad_request(*(f"{problem}{outcome}" for problem in problems[:MAX_PROBLEMS]))
    for batch, path in zip(batches, paths, strict=True):
        _ensure_batch_fits(batch, path, max_batch_bytes, outcome)
    return [normalise_batch(batch) for batch in batches]


def _ensure_batch_fits(batch: Batch, path: str, limit: int, outcome: str) -> None:
    # Measured as compact JSON, which is what is stored; the SDK's spacing does not count.
    size = len(json.dumps(batch, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > limit:
        problem = Problem(path, f"The batch is {size} bytes; at most {limit} bytes are accepted.")
        raise payload_too_large(f"{problem}{outcome}")
