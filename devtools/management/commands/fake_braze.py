"""``manage.py fake_braze``: run the fake Braze REST server in the foreground."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from devtools.fakebraze.config import (
    BatchMode,
    FakeBrazeConfig,
    Faults,
    RateLimit,
    RateLimitStyle,
    parse_key_spec,
    parse_statuses,
)
from devtools.fakebraze.handler import FakeBrazeHTTPServer
from devtools.fakebraze.server import make_server, stop_server


class Command(BaseCommand):
    help = "Run a fake Braze REST API (POST /users/track) with injectable faults."
    # The fake needs no database and must start fast: skip the system checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
        parser.add_argument(
            "--key",
            action="append",
            default=[],
            help="API key, repeatable; KEY or KEY:perm1,perm2 (default permission users.track)",
        )
        parser.add_argument("--rate-limit", default="3000/3", help="requests/seconds")
        parser.add_argument(
            "--rate-limit-style", choices=[s.value for s in RateLimitStyle], default="standard"
        )
        parser.add_argument(
            "--batch-mode", choices=[m.value for m in BatchMode], default="combined"
        )
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--verbose-requests", action="store_true", help="log each request")
        self._add_fault_arguments(parser)

    def _add_fault_arguments(self, parser: argparse.ArgumentParser) -> None:
        faults = parser.add_argument_group("faults (all changeable via POST /_fake/faults)")
        faults.add_argument("--error-rate", type=float, default=0.0)
        faults.add_argument("--error-status", type=int, default=500)
        faults.add_argument("--latency-ms", type=int, default=0)
        faults.add_argument("--reset-rate", type=float, default=0.0)
        faults.add_argument("--processed-but-timeout-rate", type=float, default=0.0)
        faults.add_argument("--hang-seconds", type=float, default=0.0)
        faults.add_argument("--retry-after-seconds", type=int, default=1)
        faults.add_argument(
            "--next-statuses", default="", help="queue such as 503,503,429,reset,timeout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = config_from_options(options)
            server = make_server(config, options["host"], options["port"])
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        server.state.verbose = options["verbose_requests"]
        serve_until_stopped(server, announce=lambda: self._announce(server))

    def _announce(self, server: FakeBrazeHTTPServer) -> None:
        # Scripts wait for this exact line to learn the port.
        self.stdout.write(f"fake Braze listening on {server.url}")
        self.stdout.flush()


def config_from_options(options: dict[str, Any]) -> FakeBrazeConfig:
    return FakeBrazeConfig(
        keys=dict(parse_key_spec(spec) for spec in options["key"]),
        rate_limit=RateLimit.parse(options["rate_limit"], options["rate_limit_style"]),
        batch_mode=BatchMode(options["batch_mode"]),
        faults=faults_from_options(options),
        seed=options["seed"],
    )


def faults_from_options(options: dict[str, Any]) -> Faults:
    names = set(Faults.__dataclass_fields__) - {"next_statuses"}
    fields = {name: options[name] for name in names}
    return Faults.from_dict({**fields, "next_statuses": parse_statuses(options["next_statuses"])})


def serve_until_stopped(server: FakeBrazeHTTPServer, announce: Callable[[], None]) -> None:
    """Announce, serve until Ctrl-C or SIGTERM, then release the port and return normally."""
    # Both the handler and the announcement sit inside the try, so a signal sent the moment
    # a script reads the line still takes the clean path.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        announce()
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same clean path as Ctrl-C.
    raise KeyboardInterrupt
