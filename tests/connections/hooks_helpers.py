"""A REST hook receiver on 127.0.0.1 that records each request (headers and exact body) and
answers from a script of responses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    most_at_once: int = 0  # the most requests it was answering at the same time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def receiver(
    *answers: int | tuple[int, dict[str, str]] | float, delay: float = 0.0
) -> Iterator[Receiver]:
    """Answer each request with the next status (the last repeats); a float sleeps that long
    without answering (a hanging receiver); ``delay`` is how long each answer takes."""
    script = list(answers) or [200]
    got: Receiver = Receiver(0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            with got.lock:
                got.in_flight += 1
                got.most_at_once = max(got.most_at_once, got.in_flight)
            try:
                self.answer()
            finally:
                with got.lock:
                    got.in_flight -= 1

        def answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with got.lock:
                got.requests.append(Received(self.path, headers, body))
                step = script[min(len(got.requests), len(script)) - 1]
            time.sleep(delay)
            if isinstance(step, float):
                time.sleep(step)
                return
            status, extra = step if isinstance(step, tuple) else (step, {})
            reply = b"thanks" if status < 300 else b"nope"
            self.send_response(status)
            for name, value in {"Content-Length": str(len(reply)), **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    got.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
