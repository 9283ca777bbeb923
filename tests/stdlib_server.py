"""A plain stdlib HTTP server for answers no fake gives (non-JSON, endless bodies, redirects)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Respond = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def local_server(respond: Respond) -> Iterator[tuple[int, list[str]]]:
    """Serve on 127.0.0.1; yields the port and the "path host" of each request seen.

    Request bodies are read before ``respond`` answers, so clients never see a reset.
    """
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            seen.append(f"{self.path} {self.headers['Host']}")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            respond(self)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def answer(status: int, body: bytes = b"ok", **headers: str) -> Respond:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond
