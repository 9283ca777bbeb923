"""Starting a fake Braze server: in a background thread for tests, or in the foreground."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from devtools.fakebraze.config import (
    BatchMode,
    FakeBrazeConfig,
    Faults,
    KeySpec,
    RateLimit,
    RateLimitStyle,
    normalise_keys,
)
from devtools.fakebraze.handler import FakeBrazeHTTPServer
from devtools.fakebraze.state import FakeBrazeState


def make_server(
    config: FakeBrazeConfig, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> FakeBrazeHTTPServer:
    """Bind (port 0 picks a free one) without serving yet."""
    return FakeBrazeHTTPServer((host, port), FakeBrazeState(config, verbose=verbose))


def stop_server(server: FakeBrazeHTTPServer) -> None:
    """Wake sleeping handlers and release the port; ``serve_forever`` must have returned."""
    server.state.stopping.set()
    server.server_close()


class FakeBraze:
    """An in-process fake Braze REST server on a free local port, served by a daemon thread.

    ``with FakeBraze(keys={"k": {"users.track"}}) as braze:`` then point a client at
    ``braze.url``; inspect ``braze.accepted_objects()`` and ``braze.requests()``, and change
    behaviour with ``set_faults``, ``set_key``, ``remove_key``, ``set_limits`` and ``reset``.
    """

    def __init__(
        self,
        keys: KeySpec = (),
        *,
        rate_limit: str = "3000/3",
        rate_limit_style: str = RateLimitStyle.STANDARD,
        batch_mode: str = BatchMode.COMBINED,
        faults: Faults | None = None,
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        config = FakeBrazeConfig(
            keys=normalise_keys(keys),
            rate_limit=RateLimit.parse(rate_limit, rate_limit_style),
            batch_mode=BatchMode(batch_mode),
            faults=faults or Faults(),
            seed=seed,
        )
        self.server = make_server(config, host, port)
        self.state = self.server.state
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> FakeBraze:
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
            self._thread = None
        stop_server(self.server)

    def __enter__(self) -> FakeBraze:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def accepted_objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every object accepted so far: ``{"request", "kind", "index", "body"}``."""
        return self.state.recorder.accepted(kind)

    def deleted_users(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every id ``/users/delete`` queued: ``{"request", "kind", "id"}``."""
        return self.state.deletions.deleted(kind)

    def requests(self) -> list[dict[str, Any]]:
        return self.state.recorder.requests()

    def peak_in_flight(self) -> int:
        """The most requests answered at once (concurrent senders) since the last reset."""
        return self.state.recorder.peak_in_flight()

    def set_faults(self, faults: Faults | None = None, **fields: Any) -> None:
        """Replace the fault settings: a ``Faults`` or its fields as keywords."""
        self.state.faults.set(faults or Faults.from_dict(fields))

    def set_key(self, key: str, permissions: tuple[str, ...] = ("users.track",)) -> None:
        self.state.keys.set(key, permissions)

    def remove_key(self, key: str) -> None:
        self.state.keys.remove(key)

    def set_limits(
        self,
        rate_limit: str | None = None,
        rate_limit_style: str | None = None,
        batch_mode: str | None = None,
    ) -> None:
        self.state.update_limits(rate_limit, rate_limit_style, batch_mode)

    def reset(self) -> None:
        """Forget recordings and refill rate-limit buckets; keys and faults stay."""
        self.state.reset()
