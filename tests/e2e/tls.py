"""TLS for browser tests: a self-signed certificate for 127.0.0.1 made at test time, and a
TLS-terminating proxy in front of a plain-HTTP server (the live server).

The mParticle Web SDK fetches its configuration (and posts alias requests and forwarding
statistics) over ``https://`` whatever ``forceHttps`` says, so a page that reaches mpbraze with
``requestConfig`` on needs mpbraze behind TLS, as in production. Chromium must be started with
``--ignore-certificate-errors`` to accept the certificate (``insecure_browser`` in conftest).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Certificate:
    """A certificate and its key, PEM-encoded, both as files (``ssl`` loads files only)."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def certificate_create(*, folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (and localhost), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = datetime.datetime.now(datetime.UTC)
    names = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(names, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@contextlib.contextmanager
def certificate() -> Iterator[Certificate]:
    with tempfile.TemporaryDirectory(prefix="mpbraze-tls-") as folder:
        yield certificate_create(folder=Path(folder))


@contextlib.contextmanager
def tls_proxy(target_port: int, context: ssl.SSLContext) -> Iterator[int]:
    """Serve TLS on a free loopback port, piping each connection's bytes to
    ``127.0.0.1:target_port`` in plain text; yields the port. An asyncio loop in a thread."""
    loop = asyncio.new_event_loop()
    servers: list[asyncio.Server] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass  # a browser dropping a kept-alive connection
        finally:
            writer.close()

    async def relay(client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        try:
            target_in, target_out = await asyncio.open_connection(LOOPBACK, target_port)
        except OSError:
            client_out.close()
            return
        with contextlib.suppress(asyncio.CancelledError):  # the proxy stopping
            await asyncio.gather(pipe(client_in, target_out), pipe(target_in, client_out))

    async def serve() -> int:
        servers.append(await asyncio.start_server(relay, LOOPBACK, 0, ssl=context))
        return int(servers[0].sockets[0].getsockname()[1])

    async def shutdown() -> None:
        servers[0].close()
        relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in relays:
            task.cancel()
        await asyncio.gather(*relays, return_exceptions=True)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
    finally:
        if servers:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
