"""Container health checks: ``healthcheck web`` asks gunicorn's ``/healthz`` with a host name
the settings accept; ``healthcheck worker`` fails when the worker stopped consuming."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mpbraze.heartbeat import TOUCH_SECONDS, heartbeat_path


def accepted_host() -> str:
    """The first ``ALLOWED_HOSTS`` entry as a Host header (``.example.com`` → ``example.com``)."""
    first = settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost"
    return "localhost" if first == "*" else first.lstrip(".")


class Command(BaseCommand):
    help = "Exit 0 when this container's web server or worker is healthy, else 1 saying why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", choices=["web", "worker"])
        parser.add_argument("--url", default="http://127.0.0.1:8000/healthz")
        parser.add_argument("--max-age", type=float, default=6 * TOUCH_SECONDS)

    def handle(self, *args: Any, role: str, url: str, max_age: float, **options: Any) -> None:
        if role == "web":
            self.web(url)
        else:
            self.worker(max_age)

    def web(self, url: str) -> None:
        request = urllib.request.Request(url, headers={"Host": accepted_host()})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                status = answer.status
        except OSError as error:
            raise CommandError(f"{url}: {error}") from None
        if status != 200:
            raise CommandError(f"{url} answered {status}")

    def worker(self, max_age: float) -> None:
        path = heartbeat_path()
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            raise CommandError(f"{path} is missing: the worker is not consuming") from None
        if age > max_age:
            raise CommandError(f"{path} is {age:.0f} s old: the worker stopped consuming")
