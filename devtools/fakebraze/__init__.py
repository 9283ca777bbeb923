"""A faithful fake of Braze's ``POST /users/track`` for tests, ``make demo`` and benchmarks.

Run it with ``python manage.py fake_braze --port N`` or in-process with ``FakeBraze``;
``BrazeSdkApi`` stands in for the SDK API the Braze Web SDK calls from browsers.
Behaviour follows ``shared/reference/braze_rest_api.md`` §8.
"""

from __future__ import annotations

from devtools.fakebraze.client import FakeBrazeControl
from devtools.fakebraze.config import BatchMode, FakeBrazeConfig, Faults, RateLimit
from devtools.fakebraze.keys import fingerprint
from devtools.fakebraze.sdk_api import BrazeSdkApi
from devtools.fakebraze.server import FakeBraze, make_server

__all__ = [
    "BatchMode",
    "BrazeSdkApi",
    "FakeBraze",
    "FakeBrazeConfig",
    "FakeBrazeControl",
    "Faults",
    "RateLimit",
    "fingerprint",
    "make_server",
]
