"""The HTTP layer: read a request off the socket, route it, write (or withhold) the answer."""

from __future__ import annotations

import json
import socket
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from devtools.fakebraze.control import CONTROL_PREFIX, handle_control
from devtools.fakebraze.faults import FaultAction
from devtools.fakebraze.state import FakeBrazeState
from devtools.fakebraze.track import handle_braze
from devtools.fakebraze.wire import IncomingRequest, Reply, message

# Oversized bodies are read and discarded so the client sees the 413 instead of a reset;
# beyond this the connection is simply closed after answering.
DRAIN_LIMIT = 64 * 1024 * 1024
CHUNK = 64 * 1024


class FakeBrazeHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP server carrying the fake's shared state."""

    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], state: FakeBrazeState) -> None:
        self.state = state
        super().__init__(address, FakeBrazeHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) leaves a broken pipe: expected, not an error.
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class FakeBrazeHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive like Braze's load balancers."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeBraze/1"
    # Headers and body go out in two writes; Nagle plus delayed ACKs would add ~40 ms each.
    disable_nagle_algorithm = True

    @property
    def state(self) -> FakeBrazeState:
        return cast(FakeBrazeHTTPServer, self.server).state

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        request = self._read_request()
        if request is None:
            return
        if request.path.startswith(CONTROL_PREFIX):
            self._deliver(handle_control(self.state, request))
            return
        with self.state.recorder.in_flight():  # until the answer is written, latency included
            self._deliver(handle_braze(self.state, request))

    def _read_request(self) -> IncomingRequest | None:
        length = self._content_length()
        if length is None:
            return None
        url = urlsplit(self.path)
        too_large = length > self.state.max_body_bytes
        body = self._drain(length) if too_large else self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = dict(parse_qsl(url.query))
        return IncomingRequest(self.command, url.path, headers, body, query, too_large)

    def _content_length(self) -> int | None:
        """The body length; answers 400/411 itself (and closes) when it cannot be trusted."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse(message(411))
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._refuse(message(400, "Invalid Content-Length"))
            return None
        return length

    def _drain(self, length: int) -> bytes:
        if length > DRAIN_LIMIT:
            self.close_connection = True
            return b""
        while length > 0:
            chunk = self.rfile.read(min(length, CHUNK))
            if not chunk:
                break
            length -= len(chunk)
        return b""

    def _refuse(self, reply: Reply) -> None:
        self.close_connection = True
        reply.headers["Connection"] = "close"
        self._send(reply)

    def _deliver(self, reply: Reply) -> None:
        if reply.delay_seconds:
            self.state.stopping.wait(reply.delay_seconds)
        if reply.drop is FaultAction.RESET:
            self._reset_connection()
        elif reply.drop is FaultAction.TIMEOUT:
            self.state.stopping.wait(reply.hang_seconds)
            self.close_connection = True  # hang up with a FIN and no answer
        else:
            self._send(reply)

    def _reset_connection(self) -> None:
        # A zero linger turns the close into a TCP RST: "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        if self.state.verbose:
            sys.stderr.write(f"fake Braze: {self.address_string()} {format % args}\n")
