"""A stand-in for Braze's SDK API: the host the Braze Web SDK talks to from the browser
(``https://{JavaScript endpoint}/api/v3/…``), which tests cannot reach.

What the Braze Web SDK sends (read from the SDK that ``@mparticle/web-braze-kit`` bundles): a
JSON ``POST {baseUrl}/data/`` with ``api_key``, ``device_id``, ``sdk_version``, ``time``, the
current ``user_id`` (also in ``respond_with.user_id``), and ``events`` (``{"name": "ce",
"data": {"n": "Viewed Shoes", "p": {…}}, "user_id": …, …}``; ``ss`` opens a session, ``p`` a
purchase) and ``attributes``; headers ``X-Braze-Api-Key``, ``X-Requested-With`` and
``Content-Type: application/json``, so the browser sends a CORS preflight first. Other paths
(``/content_cards/sync``, ``/feature_flags/sync``) follow server configuration, which this
stand-in answers with both features off.

What it expects back: a 2xx with a JSON object; ``{"error": …}`` or ``{"auth_error": …}`` in it
make the SDK keep the data and retry. Every request is recorded for tests to read.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, cast

PREFIX: Final = "/api/v3/"
BODY_LIMIT: Final = 5 * 1024 * 1024
PREFLIGHT_MAX_AGE_SECONDS: Final = 86400


@dataclass(frozen=True)
class SdkRequest:
    """One request as the stand-in received it."""

    path: str
    api_key: str
    header_api_key: str
    user_id: str | None
    origin: str
    host: str
    events: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)

    def custom_event_names(self) -> list[str]:
        return [e["data"]["n"] for e in self.events if e.get("name") == "ce" and e.get("data")]


class SdkApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext | None) -> None:
        super().__init__(address, SdkApiHandler)
        if context is not None:
            # Handshake in the handler's thread, not in accept(): one slow client never
            # holds up the others.
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self.scheme = "https" if context is not None else "http"
        self.recorded: list[SdkRequest] = []
        self.lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            return  # a browser dropping a kept-alive connection
        super().handle_error(request, client_address)

    def record(self, request: SdkRequest) -> None:
        with self.lock:
            self.recorded.append(request)


class SdkApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeBrazeSdkApi/1"
    timeout = 30  # an idle kept-alive connection frees its thread

    @property
    def api(self) -> SdkApiServer:
        return cast(SdkApiServer, self.server)

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def do_OPTIONS(self) -> None:
        """The preflight of a JSON POST with Braze's headers: granted for any site, as the
        SDK API serves every customer's pages."""
        requested = self.headers.get("Access-Control-Request-Headers", "")
        self._reply(
            204,
            None,
            {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": requested,
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            },
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not self.path.startswith(PREFIX) or length > BODY_LIMIT:
            self._reply(404 if length <= BODY_LIMIT else 413, {"error": "not found"})
            self.close_connection = True
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._reply(400, {"error": "The body must be a JSON object."})
            return
        self.api.record(self._recorded(body))
        self._reply(200, answer_for(self.path[len(PREFIX) :], body))

    def do_GET(self) -> None:
        self._reply(404, {"error": "not found"})

    def _recorded(self, body: dict[str, Any]) -> SdkRequest:
        respond_with = body.get("respond_with") or {}
        user_id = body.get("user_id") or respond_with.get("user_id")
        return SdkRequest(
            path=self.path,
            api_key=str(body.get("api_key", "")),
            header_api_key=self.headers.get("X-Braze-Api-Key", ""),
            user_id=None if user_id is None else str(user_id),
            origin=self.headers.get("Origin", ""),
            host=self.headers.get("Host", ""),
            events=list(body.get("events") or []),
            attributes=list(body.get("attributes") or []),
        )

    def _reply(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if document is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def answer_for(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the SDK accepts for each path: server configuration when the SDK asks for it
    (``respond_with.config``), with content cards and feature flags off."""
    if path.startswith("content_cards/"):
        return {"cards": [], "full_sync": True, "last_full_sync_at": int(time.time())}
    if path.startswith("feature_flags/"):
        return {"feature_flags": []}
    respond_with = body.get("respond_with") or {}
    if "config" not in respond_with:
        return {}
    return {
        "config": {
            "time": int(time.time()),
            "events_blacklist": [],
            "attributes_blacklist": [],
            "purchases_blacklist": [],
            "content_cards": {"enabled": False},
            "feature_flags": {"enabled": False},
        }
    }


class BrazeSdkApi:
    """The stand-in on a free loopback port, served by a daemon thread; HTTPS when given a
    server ``ssl.SSLContext`` (the Braze Web SDK reaches its endpoint over ``https`` only).

    ``with BrazeSdkApi(context=...) as sdk_api:`` then configure ``sdk_api.endpoint`` as a Web
    output's custom JavaScript endpoint and read ``sdk_api.requests()``.
    """

    def __init__(
        self, *, context: ssl.SSLContext | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.server = SdkApiServer((host, port), context)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The authority, as a Braze endpoint setting holds it (``127.0.0.1:PORT``)."""
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.server.scheme}://{self.endpoint}"

    def start(self) -> BrazeSdkApi:
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
        self.server.server_close()

    def __enter__(self) -> BrazeSdkApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def requests(self) -> list[SdkRequest]:
        with self.server.lock:
            return list(self.server.recorded)

    def reset(self) -> None:
        with self.server.lock:
            self.server.recorded.clear()
