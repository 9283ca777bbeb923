"""The real mParticle Python SDK as the inbound client of a live test server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import mparticle
import pytest


def sdk_config(url: str, key: str, secret: str) -> Any:
    config = mparticle.Configuration()
    config.host = url + "/v2"  # set before EventsApi: the client copies the host once
    config.api_key = key
    config.api_secret = secret
    return config


@pytest.fixture
def sdk_client(live_server: Any) -> Iterator[Callable[[str, str], Any]]:
    """Builds EventsApi clients for the live server; closes their kept-alive sockets after.

    An open keep-alive socket pins a server thread and its database session, which would
    block the test database's teardown on PostgreSQL.
    """
    clients: list[Any] = []

    def build(key: str, secret: str) -> Any:
        clients.append(mparticle.EventsApi(sdk_config(live_server.url, key, secret)))
        return clients[-1]

    yield build
    for client in clients:
        _hang_up(client.api_client.rest_client.pool_manager)


def _hang_up(pool_manager: Any) -> None:
    # close() alone leaves the socket open while a response still references it; shutdown
    # ends the connection for the server thread regardless.
    for pool in pool_manager.pools._container.values():
        for kept_alive in pool.pool.queue:
            if kept_alive is not None and kept_alive.sock is not None:
                kept_alive.sock.shutdown(socket.SHUT_RDWR)
    pool_manager.clear()
