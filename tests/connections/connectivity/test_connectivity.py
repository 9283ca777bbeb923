"""Connectivity checks against the fake Braze and stdlib servers, on loopback only; a DNS
failure is simulated at the resolver (nothing leaves the machine)."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.core.management import call_command

from connections import lifecycle
from connections.connectivity.models import ConnectivityCheck
from connections.connectivity.probe import tls_handshake
from connections.connectivity.services import (
    connection_test_connectivity,
    connectivity_check_run,
    output_test_connectivity,
)
from connections.models import BrazeOutput, Connection
from devtools.fakebraze import FakeBraze
from tests.connections.delivery_helpers import REST_KEY
from tests.stdlib_server import answer, local_server

pytestmark = pytest.mark.django_db


def run(output: BrazeOutput) -> ConnectivityCheck:
    check = output_test_connectivity(output=output)
    connectivity_check_run(check_id=check.pk)
    check.refresh_from_db()
    return check


def steps(check: ConnectivityCheck) -> list[tuple[str, str]]:
    return list(check.steps.values_list("name", "outcome"))


def point_at(output: BrazeOutput, host: str) -> BrazeOutput:
    """Data as a stored configuration would hold it (the rules are tested elsewhere)."""
    BrazeOutput.objects.filter(pk=output.pk).update(custom_rest_endpoint=host)
    output.refresh_from_db()
    return output


def failing_http(output: BrazeOutput) -> tuple[str, str]:
    check = run(output)
    assert check.outcome == "failed"
    http = check.steps.get(name="http")
    assert http.outcome == "failed"
    assert check.summary == http.message
    return http.outcome, http.message


def test_a_valid_key_passes_every_step_and_writes_nothing(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    check = run(output)
    assert check.outcome == "passed"
    assert steps(check) == [
        ("dns", "passed"),
        ("tcp", "passed"),
        ("tls", "skipped"),  # plain HTTP to the local fake
        ("http", "passed"),
    ]
    assert check.summary == (
        "Braze answered the empty test request with a validation error (HTTP 400), which "
        "proves the API key and the instance are right; nothing was written"
    )
    assert braze.accepted_objects() == []
    assert check.duration_ms is not None
    assert check.finished_at is not None


def test_a_wrong_key_gets_the_401_sentence(output: BrazeOutput, braze: FakeBraze) -> None:
    braze.remove_key(REST_KEY)
    assert failing_http(output)[1] == (
        "API key rejected by Braze (401): the key is wrong or belongs to another instance"
    )


def test_a_key_without_the_permission_gets_the_403_sentence(
    output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.set_key(REST_KEY, permissions=())
    assert failing_http(output)[1] == (
        "API key refused by Braze (403): the key lacks the users.track permission"
    )


@pytest.mark.parametrize(
    ("status", "headers", "sentence"),
    [
        (404, {}, "nothing answers /users/track at 127.0.0.1 (404): check the REST endpoint"),
        (
            301,
            {"Location": "https://example.com/"},
            "127.0.0.1 redirects /users/track (301): check the REST endpoint",
        ),
        (
            500,
            {},
            "Braze at 127.0.0.1 answered 500: a problem on Braze's side, try again later",
        ),
    ],
)
def test_answers_that_are_not_braze_accepting_a_key_are_named(
    output: BrazeOutput, status: int, headers: dict[str, str], sentence: str
) -> None:
    with local_server(answer(status, b"", **headers)) as (port, _seen):
        assert failing_http(point_at(output, f"127.0.0.1:{port}"))[1] == sentence


def test_a_closed_port_fails_at_tcp(output: BrazeOutput) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens
    check = run(point_at(output, f"127.0.0.1:{port}"))
    assert steps(check) == [("dns", "passed"), ("tcp", "failed")]
    assert check.summary == f"connection refused by 127.0.0.1 port {port}"


@pytest.fixture
def silent_server() -> Iterator[int]:
    def never_answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)

    with local_server(never_answer) as (port, _seen):
        yield port


def test_a_server_that_never_answers_times_out_within_the_bound(
    output: BrazeOutput, silent_server: int, settings: Any
) -> None:
    settings.MPBRAZE_CONNECTIVITY_STEP_TIMEOUT_SECONDS = 0.5
    message = failing_http(point_at(output, f"127.0.0.1:{silent_server}"))[1]
    # The server closes without answering after 3 s: a check that waited for it would say so.
    assert message == "timed out after 0.5 s (talking to 127.0.0.1)"


def test_tls_to_a_plain_http_port_fails_the_handshake() -> None:
    with local_server(answer(200)) as (port, _seen):
        step = tls_handshake("localhost", "127.0.0.1", port, timeout=2)
    assert (step.name, step.outcome) == ("tls", "failed")
    assert step.message == "TLS handshake with localhost failed"


def test_a_dns_failure_is_named_at_the_dns_step(
    output: BrazeOutput, fake_dns: dict[str, str | None]
) -> None:
    fake_dns["rest.nowhere.invalid"] = None
    check = run(point_at(output, "rest.nowhere.invalid"))
    assert steps(check) == [("dns", "failed")]
    assert check.summary == "DNS lookup failed for rest.nowhere.invalid"


def test_a_host_resolving_to_a_private_address_is_refused_before_any_connection(
    output: BrazeOutput, fake_dns: dict[str, str | None], settings: Any
) -> None:
    settings.MPBRAZE_ALLOWED_ENDPOINT_HOSTS = []
    fake_dns["rest.inside.example"] = "10.1.2.3"
    check = run(point_at(output, "rest.inside.example"))
    assert steps(check) == [("dns", "failed")]
    assert check.summary == "refused: rest.inside.example resolves to a private address (10.1.2.3)"


def test_an_app_outputs_check_reaches_its_sdk_endpoint(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    app = connection.outputs.get(platform="ios")
    host = output.custom_rest_endpoint
    BrazeOutput.objects.filter(pk=app.pk).update(custom_sdk_endpoint=host)
    check = run(BrazeOutput.objects.get(pk=app.pk))
    assert check.outcome == "passed"
    assert check.steps.get(name="http").message.startswith("127.0.0.1 answered HTTP ")


def test_a_passing_check_of_the_server_output_resumes_a_paused_connection(
    connection: Connection, output: BrazeOutput
) -> None:
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    check = run(output)
    connection.refresh_from_db()
    assert connection.paused_reason == ""
    assert check.summary.endswith("The connection was paused; it has resumed.")


def test_a_failing_check_leaves_the_connection_paused(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    lifecycle.connection_pause(connection=connection, reason="Braze answered 401")
    braze.remove_key(REST_KEY)
    run(output)
    connection.refresh_from_db()
    assert connection.paused_reason == "Braze answered 401"


def test_a_key_that_cannot_be_decrypted_is_reported_not_crashed_on(output: BrazeOutput) -> None:
    BrazeOutput.objects.filter(pk=output.pk).update(api_key_encrypted="not-a-fernet-token")
    check = run(output)
    assert check.outcome == "failed"
    assert "the API key cannot be decrypted" in check.summary


def test_a_second_click_gets_the_check_already_running(output: BrazeOutput) -> None:
    first = output_test_connectivity(output=output)
    assert output_test_connectivity(output=output).pk == first.pk
    assert ConnectivityCheck.objects.count() == 1


def test_a_connection_check_fans_out_to_every_output(
    connection: Connection, output: BrazeOutput, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        checks = connection_test_connectivity(connection=connection)
    assert sorted(check.output.platform for check in checks) == ["ios", "server"]
    assert len(callbacks) == 2  # one task each, published after the commit


def test_the_command_prints_each_step_and_exits_1_when_one_fails(
    connection: Connection, output: BrazeOutput, braze: FakeBraze
) -> None:
    out = io.StringIO()
    call_command("test_connection", connection.pk, "--output", "server", stdout=out)
    assert "✓ HTTP" in out.getvalue()
    braze.remove_key(REST_KEY)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("test_connection", connection.pk, "--output", "server", "--json", stdout=out)
    assert exited.value.code == 1
    [result] = json.loads(out.getvalue())
    assert (result["platform"], result["outcome"]) == ("server", "failed")
    assert result["steps"][-1]["message"].startswith("API key rejected by Braze (401)")


def test_auditors_read_checks_and_their_steps_in_the_admin_and_nobody_edits(
    client: Any, auditor: Any, outsider: Any, output: BrazeOutput, braze: FakeBraze
) -> None:
    braze.remove_key(REST_KEY)
    check = run(output)
    client.force_login(auditor)
    listing = client.get("/admin/connections/connectivitycheck/")
    assert listing.status_code == 200
    assert "API key rejected by Braze (401)" in listing.content.decode()
    page = client.get(f"/admin/connections/connectivitycheck/{check.pk}/change/")
    assert page.status_code == 200
    assert "connected to 127.0.0.1 port" in page.content.decode()  # the TCP step's message
    assert (
        client.post(f"/admin/connections/connectivitycheck/{check.pk}/delete/").status_code == 403
    )
    client.force_login(outsider)
    assert client.get("/admin/connections/connectivitycheck/").status_code == 403  # no audit role


def test_an_app_output_without_an_sdk_endpoint_is_not_probed(connection: Connection) -> None:
    from tests.conftest import add_output

    app = add_output(
        connection,
        "android",
        "android-key-0001",
        braze_instance="custom",
        custom_rest_endpoint="rest.iad-03.braze.com",
    )
    check = run(app)
    assert check.outcome == "passed"
    assert (check.verdict, check.verdict_label) == ("not_probed", "Not probed")
    assert steps(check) == [("http", "skipped")]
    assert check.summary == "no SDK endpoint is set: the app's SDK uses its built-in default"
