"""Gauges read from the outbox at scrape time (never stored): the same in every process.

Bounded, indexed queries: per connection, a count stopped at ``COUNT_CAP`` (an index-only
scan of ``delivery_connection_status``) and one probe of the Server output's due index.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connections.delivery import outbox
from connections.delivery.models import Delivery
from connections.models import BrazeOutput, Platform

logger = logging.getLogger(__name__)
COUNT_CAP = 1_000_000  # a deeper queue reads as this: a scrape stays quick during a backlog
MAX_CONNECTIONS = 1000  # as /readyz: a scrape's queries stay bounded


class OutboxCollector(Collector):
    """``mpbraze_outbox_rows{connection,status}`` and ``mpbraze_outbox_oldest_due_seconds``."""

    def collect(self) -> Iterator[Metric]:
        rows = GaugeMetricFamily(
            "mpbraze_outbox_rows",
            f"Outbox rows waiting (queued) or in flight (sending), counted up to {COUNT_CAP}.",
            labels=["connection", "status"],
        )
        oldest = GaugeMetricFamily(
            "mpbraze_outbox_oldest_due_seconds",
            "How long the connection's oldest due queued row has waited (0: none is due).",
            labels=["connection"],
        )
        try:
            self._fill(rows, oldest, timezone.now())
        except DatabaseError:  # the counters still answer; /readyz says what is wrong
            logger.warning("Metrics: the outbox could not be read", exc_info=True)
            return
        yield rows
        yield oldest

    def _fill(self, rows: GaugeMetricFamily, oldest: GaugeMetricFamily, now: datetime) -> None:
        outputs = BrazeOutput.objects.filter(platform=Platform.SERVER).order_by("connection_id")
        for connection_id, output_id in outputs.values_list("connection_id", "pk")[
            :MAX_CONNECTIONS
        ]:
            label = str(connection_id)
            for status in (Delivery.Status.QUEUED, Delivery.Status.SENDING):
                rows.add_metric([label, status.value], _capped_count(connection_id, status))
            due = outbox.outbox_next_due(output_id=output_id)
            waited = 0.0 if due is None else max(0.0, (now - due).total_seconds())
            oldest.add_metric([label], waited)


def _capped_count(connection_id: int, status: str) -> int:
    rows = Delivery.objects.filter(connection_id=connection_id, status=status)
    return rows.order_by()[:COUNT_CAP].count()
