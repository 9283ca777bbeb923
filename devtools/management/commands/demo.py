"""``make demo``: fake Braze + demo connection + web, worker and beat + SDK batches, delivered."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from connections.delivery.models import Delivery, InboundBatch
from devtools import devstack
from devtools.demo.setup import DEMO_REST_KEY, demo_connection, send_with_sdk
from devtools.fakebraze import FakeBraze


class Command(BaseCommand):
    help = "Run mpbraze against a local fake Braze and send demo batches with the mParticle SDK."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=8000, help="dashboard port")
        parser.add_argument("--braze-port", type=int, default=0, help="fake Braze port")
        parser.add_argument("--once", action="store_true", help="exit once all is delivered")
        parser.add_argument("--timeout", type=float, default=180.0)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0)
        call_command("ensure_admin")
        signal.signal(signal.SIGTERM, _interrupt)
        with FakeBraze(keys={DEMO_REST_KEY: {"users.track"}}, port=options["braze_port"]) as braze:
            self.stdout.write(f"fake Braze listening on {braze.url}")
            connection, secret = demo_connection(braze_host=urlsplit(braze.url).netloc)
            processes = [subprocess.Popen(c) for c in devstack.commands(str(options["port"]))]  # noqa: S603
            try:
                self._run(connection, secret, braze, options)
            except KeyboardInterrupt:
                pass
            finally:
                devstack.stop(processes)

    def _run(self, connection: Any, secret: str, braze: FakeBraze, options: dict[str, Any]) -> None:
        base_url = f"http://127.0.0.1:{options['port']}"
        _wait_for(lambda: _answers(base_url), options["timeout"], "the dashboard to start")
        started = timezone.now()
        batches = send_with_sdk(base_url=base_url, key=connection.inbound_key, secret=secret)
        self.stdout.write(f"sent {batches} batches with the mParticle SDK; waiting for delivery…")
        _wait_for(lambda: _all_delivered(connection, started), options["timeout"], "delivery")
        requests = [r for r in braze.requests() if r["status"] == 201]
        objects = sum(sum(r["counts"].values()) for r in requests)
        self.stdout.write(
            self.style.SUCCESS(
                f"delivered {objects} objects to the fake Braze in {len(requests)} requests.\n"
                f"Dashboard: {base_url}{connection.get_absolute_url()} (Ctrl-C stops the demo)"
            )
        )
        while not options["once"]:
            time.sleep(1)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/login/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _all_delivered(connection: Any, since: Any) -> bool:
    batches = InboundBatch.objects.filter(connection=connection, received_at__gte=since)
    if not batches.exists() or batches.exclude(status=InboundBatch.Status.MAPPED).exists():
        return False
    waiting = (Delivery.Status.QUEUED, Delivery.Status.SENDING)
    rows = Delivery.objects.filter(batch__in=batches)
    return rows.exists() and not rows.filter(status__in=waiting).exists()


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise CommandError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
