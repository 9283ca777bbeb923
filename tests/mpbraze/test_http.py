"""The outbound client: fixed settings, the private-address guard and short human errors."""

from __future__ import annotations

import ipaddress
import socket
import threading
from importlib import metadata
from typing import Any

import httpx
import pytest

from devtools.fakebraze import FakeBraze
from mpbraze import http
from mpbraze.addresses import EndpointPolicy
from mpbraze.http import AddressRefused, DNSLookupFailed, base_url, describe_error, outbound_client
from tests.stdlib_server import answer, local_server


@pytest.fixture
def local_off(settings: Any) -> None:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = False
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []


@pytest.fixture
def local_on(settings: Any) -> None:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []


def test_it_sets_explicit_timeouts_a_fixed_user_agent_and_no_redirects() -> None:
    client = outbound_client(timeout=7)
    assert client.timeout == httpx.Timeout(connect=7, read=7, write=7, pool=7)
    assert client.headers["User-Agent"] == f"mpbraze/{metadata.version('mpbraze')}"
    assert client.follow_redirects is False
    assert client.trust_env is False


def test_it_uses_https_except_for_a_loopback_host_while_local_endpoints_are_allowed(
    settings: Any,
) -> None:
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = True
    assert base_url("rest.iad-01.braze.com") == "https://rest.iad-01.braze.com"
    assert base_url("127.0.0.1:9000") == "http://127.0.0.1:9000"
    assert base_url("localhost:9000") == "http://localhost:9000"
    settings.MPBRAZE_ALLOW_LOCAL_ENDPOINTS = False
    assert base_url("127.0.0.1:9000") == "https://127.0.0.1:9000"


@pytest.mark.usefixtures("local_off")
def test_it_refuses_a_host_resolving_to_loopback_without_connecting() -> None:
    with (
        local_server(answer(200)) as (port, seen),
        outbound_client() as client,
        pytest.raises(AddressRefused) as refused,
    ):
        client.get(f"http://localhost:{port}/")
    assert str(refused.value) == "refused: localhost resolves to a private address (127.0.0.1)"
    assert seen == []


@pytest.mark.usefixtures("local_on")
def test_it_connects_to_loopback_while_local_endpoints_are_allowed() -> None:
    with local_server(answer(200)) as (port, seen), outbound_client() as client:
        response = client.get(f"http://localhost:{port}/ping")
    assert response.status_code == 200
    assert seen == [f"/ping localhost:{port}"]


@pytest.mark.usefixtures("local_off")
def test_it_checks_the_address_a_public_looking_name_resolves_to(
    fake_dns: dict[str, str | None],
) -> None:
    fake_dns["rest.iad-01.braze.com"] = "10.0.0.1"
    with outbound_client() as client, pytest.raises(AddressRefused) as refused:
        client.post("https://rest.iad-01.braze.com/users/track", json={})
    assert describe_error(refused.value) == (
        "refused_address",
        "refused: rest.iad-01.braze.com resolves to a private address (10.0.0.1)",
    )


@pytest.mark.usefixtures("local_on")
def test_allowing_local_endpoints_still_refuses_private_networks(
    fake_dns: dict[str, str | None],
) -> None:
    fake_dns["braze.internal.example"] = "169.254.169.254"
    with outbound_client() as client, pytest.raises(AddressRefused):
        client.get("http://braze.internal.example/latest/meta-data/")


@pytest.mark.usefixtures("local_off")
def test_an_operator_allowed_host_is_dialled_at_its_checked_address_with_its_own_host_header(
    fake_dns: dict[str, str | None], settings: Any
) -> None:
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = ["braze.test"]
    fake_dns["braze.test"] = "127.0.0.1"
    with local_server(answer(200)) as (port, seen), outbound_client() as client:
        response = client.get(f"http://braze.test:{port}/ping")
    assert response.status_code == 200
    assert seen == [f"/ping braze.test:{port}"]


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),  # CGNAT
        ("169.254.169.254", False),  # cloud metadata
        ("240.0.0.1", False),  # reserved
        ("0.0.0.0", False),
        ("224.0.0.1", False),  # multicast
        ("fc00::1", False),
        ("fe80::1", False),
        ("::ffff:10.0.0.1", False),  # IPv4-mapped
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("127.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_pass_the_guard(address: str, allowed: bool) -> None:
    policy = EndpointPolicy(allow_local=False)
    assert http.address_allowed(ipaddress.ip_address(address), policy) is allowed


@pytest.mark.usefixtures("local_on")
def test_it_does_not_follow_a_redirect() -> None:
    with local_server(answer(302, Location="/landed")) as (port, seen), outbound_client() as c:
        response = c.get(f"http://127.0.0.1:{port}/start")
    assert response.status_code == 302
    assert seen == [f"/start 127.0.0.1:{port}"]


def test_a_failed_lookup_names_the_host(fake_dns: dict[str, str | None]) -> None:
    fake_dns["rest.nowhere.braze.com"] = None
    with outbound_client() as client, pytest.raises(DNSLookupFailed) as failed:
        client.get("https://rest.nowhere.braze.com/")
    assert describe_error(failed.value) == ("dns", "DNS lookup failed for rest.nowhere.braze.com")


@pytest.mark.usefixtures("local_on")
def test_a_silent_server_times_out_after_the_configured_seconds() -> None:
    # A listening socket nobody accepts from: the connection opens, no answer ever comes.
    with (
        socket.create_server(("127.0.0.1", 0)) as silent,
        outbound_client(timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout) as timed_out,
    ):
        client.get(f"http://127.0.0.1:{silent.getsockname()[1]}/")
    assert describe_error(timed_out.value) == ("timeout", "timed out after 0.3 s")


@pytest.mark.usefixtures("local_on")
def test_a_closed_port_reads_connection_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with outbound_client() as client, pytest.raises(httpx.ConnectError) as refused:
        client.get(f"http://127.0.0.1:{port}/")
    assert describe_error(refused.value) == ("connect_error", "connection refused")


@pytest.mark.usefixtures("local_on")
def test_a_dropped_connection_reads_connection_reset() -> None:
    with FakeBraze(keys=["k"]) as braze, outbound_client() as client:
        braze.set_faults(next_statuses=["reset"])
        with pytest.raises(httpx.HTTPError) as reset:
            client.post(f"{braze.url}/users/track", json={}, headers={"Authorization": "Bearer k"})
    assert describe_error(reset.value) == ("reset", "connection reset")


@pytest.mark.usefixtures("local_on")
def test_a_server_that_does_not_speak_tls_fails_the_handshake() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_in_plain_text() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer_in_plain_text)
    thread.start()
    with listener, outbound_client() as client, pytest.raises(httpx.ConnectError) as failed:
        client.get(f"https://127.0.0.1:{listener.getsockname()[1]}/")
    thread.join()
    assert describe_error(failed.value) == ("tls", "TLS handshake failed")
