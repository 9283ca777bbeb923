"""Mapping throughput on one core for a realistic mix of mParticle events (docs/mapping.md).

The mix per batch: custom events with 10 attributes, purchases of 3 products, attribute
changes and screen views, plus a profile of 10 user attributes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mapping.engine import map_batch
from mapping.objects import MappingContext
from mapping.output_settings import BatchSizeMode, OutputSettings
from mapping.requests import build_track_requests
from tests.benchmarks.report import BenchmarkRow, best_seconds

BATCHES = 500
TARGET_EVENTS_PER_SECOND = 50_000
CONTEXT = MappingContext(
    settings=OutputSettings(forward_screen_views=True),
    now=datetime(2025, 1, 1, tzinfo=UTC),
    app_ids={"ios": "11ae5b4b-2445-4440-a04f-bf537764c9ad"},
)


def custom_event(n: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {f"attr_{i}": f"value {n}-{i}" for i in range(6)}
    attributes.update({"count": n, "ratio": n / 7, "flag": n % 2 == 0, "$source": "push"})
    data = {"event_name": f"Event {n % 12}", "custom_event_type": "navigation"}
    return {
        "event_type": "custom_event",
        "data": {**_common(n), **data, "custom_attributes": attributes},
    }


def purchase(n: int) -> dict[str, Any]:
    products = [
        {
            "id": f"sku-{n}-{i}",
            "name": f"Widget {i}",
            "price": 19.99 + i,
            "quantity": i + 1,
            "brand": "Acme",
            "custom_attributes": {"color": "red", "size": "M"},
        }
        for i in range(3)
    ]
    action = {
        "action": "purchase",
        "transaction_id": f"T-{n}",
        "total_amount": "120.50",
        "tax_amount": 4.5,
        "shipping_amount": "0.00",
        "products": products,
    }
    data = {
        **_common(n),
        "product_action": action,
        "currency_code": "EUR",
        "custom_attributes": {"channel": "app"},
    }
    return {"event_type": "commerce_event", "data": data}


def attribute_change(n: int) -> dict[str, Any]:
    data = {
        **_common(n),
        "user_attribute_name": f"plan_{n % 3}",
        "new": "premium",
        "is_new_attribute": False,
    }
    return {"event_type": "user_attribute_change", "data": data}


def screen_view(n: int) -> dict[str, Any]:
    data = {**_common(n), "screen_name": f"Screen {n % 5}", "custom_attributes": {"tab": "home"}}
    return {"event_type": "screen_view", "data": data}


def _common(n: int) -> dict[str, Any]:
    return {
        "timestamp_unixtime_ms": 1_700_000_000_000 + n * 1000,
        "source_message_id": f"msg-{n}",
        "session_id": 42,
    }


def realistic_batch(n: int) -> dict[str, Any]:
    events = [custom_event(n * 20 + i) for i in range(10)]
    events += [purchase(n * 20 + 10 + i) for i in range(3)]
    events += [attribute_change(n * 20 + 13 + i) for i in range(3)]
    events += [screen_view(n * 20 + 16 + i) for i in range(4)]
    return {
        "events": events,
        "environment": "production",
        "device_info": {"platform": "iOS", "os_version": "17.1"},
        "user_identities": {"customerid": f"cust-{n}", "email": f"user{n}@example.com"},
        "user_attributes": {
            "$FirstName": "Jane",
            "$Age": 33,
            "$Gender": "female",
            "$Zip": 2134,
            "plan": "trial",
            "tags": ["a", "b"],
            "score": 12.5,
            "vip": True,
            "city_name": "Boston",
            "seen": "yes",
        },
        "mpid": "7346244611012968789",
    }


def bench_mapping() -> list[BenchmarkRow]:
    texts = [json.dumps(realistic_batch(n)) for n in range(BATCHES)]
    parsed = [json.loads(text) for text in texts]
    events = sum(len(batch["events"]) for batch in parsed)
    loads = best_seconds(lambda: [json.loads(text) for text in texts])
    mapping = best_seconds(lambda: [map_batch(batch, CONTEXT) for batch in parsed])
    both = best_seconds(lambda: [map_batch(json.loads(text), CONTEXT) for text in texts])
    verdict = "meets" if events / mapping >= TARGET_EVENTS_PER_SECOND else "BELOW"
    return [
        BenchmarkRow("mapping", "json.loads only", events / loads, "events/s", "reference"),
        BenchmarkRow(
            "mapping",
            "map_batch (parsed)",
            events / mapping,
            "events/s",
            f"{verdict} target {TARGET_EVENTS_PER_SECOND:,}",
        ),
        BenchmarkRow("mapping", "json.loads + map_batch", events / both, "events/s"),
        BenchmarkRow(
            "mapping",
            "map_batch per batch",
            mapping / BATCHES * 1e6,
            "µs",
            f"{events // BATCHES} events per batch",
        ),
    ]


def bench_requests() -> list[BenchmarkRow]:
    """Packing the mapped objects of many batches into /users/track requests."""
    objects = [
        item for n in range(BATCHES) for item in map_batch(realistic_batch(n), CONTEXT).objects
    ]
    seconds = best_seconds(lambda: build_track_requests(objects, BatchSizeMode.COMBINED_75))
    requests = len(build_track_requests(objects, BatchSizeMode.COMBINED_75).requests)
    note = f"{len(objects):,} objects into {requests:,} requests"
    return [
        BenchmarkRow("requests", "build_track_requests", len(objects) / seconds, "objects/s", note)
    ]
