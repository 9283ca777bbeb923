"""Server-rendered SVG charts of hourly delivery figures: no library, no script, no asset.

Each chart is one inline ``<svg role="img">`` whose ``<title>`` and ``aria-label`` state the
figures in words; each hour with anything in it is a stack of bars (sent, failed, waiting from
the bottom) with its own ``<title>`` as a tooltip. Colours come from CSS classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Any

from django import template

from connections.pages.glance import SERIES, HourBucket, HourlySeries

register = template.Library()

STEP = 4  # viewBox units per hour
BAR = 3
MIN_VISIBLE = 1.5  # one failure among thousands of sends still shows
_ids = count(1)


@dataclass(frozen=True)
class Bar:
    series: str
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    x: int
    tip: str
    bars: list[Bar]


@register.inclusion_tag("connections/_hourly_chart.svg")
def hourly_chart(
    series: HourlySeries, label: str, height: int = 28, days: bool = False
) -> dict[str, Any]:
    """``{% hourly_chart series "Last 24 hours" %}``: a stacked bar per hour, as wide as its
    container, ``height`` CSS pixels high; ``days`` draws a line at each midnight (UTC)."""
    top = max(map(_total, series.buckets), default=0)
    return {
        "summary": chart_summary(series, label),
        "title_id": f"chart-title-{next(_ids)}",
        "width": series.hours * STEP,
        "height": height,
        "columns": [
            _column(n, bucket, top, height)
            for n, bucket in enumerate(series.buckets)
            if _total(bucket)
        ],
        "day_lines": [n * STEP for n, b in enumerate(series.buckets) if b.hour.hour == 0 and n]
        if days
        else [],
    }


def chart_summary(series: HourlySeries, label: str) -> str:
    """The chart in words: totals and, when there is one, the busiest hour."""
    text = f"{label}: {series.sent} sent, {series.failed} failed, {series.waiting} waiting"
    busiest = max(series.buckets, key=_total, default=None)
    if busiest is None or not _total(busiest):
        return f"{text}; nothing in any hour."
    return f"{text}; busiest hour {hour_label(busiest)} with {_total(busiest)}."


def hour_label(bucket: HourBucket) -> str:
    return bucket.hour.strftime("%a %-d %b %H:00 UTC")


def _column(position: int, bucket: HourBucket, top: int, height: int) -> Column:
    bars, y = [], float(height)
    for name in SERIES:
        value = getattr(bucket, name)
        if value:
            size = max(value / top * height, MIN_VISIBLE)
            y -= size
            bars.append(Bar(series=name, y=round(max(y, 0.0), 2), height=round(size, 2)))
    counts = f"{bucket.sent} sent, {bucket.failed} failed, {bucket.waiting} waiting"
    return Column(x=position * STEP, tip=f"{hour_label(bucket)}: {counts}", bars=bars)


def _total(bucket: HourBucket) -> int:
    return bucket.sent + bucket.failed + bucket.waiting
