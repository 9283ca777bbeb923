"""English formats for the whole site: unambiguous dates, times with seconds and the zone.

An auditor compares times with logs and Braze's dashboard, so "Nov. 1, 2026, 9:05 a.m." is not
enough: every time shows its seconds and zone (``T``: "UTC" under ``TIME_ZONE = "UTC"``).
"""

from __future__ import annotations

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s T"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
