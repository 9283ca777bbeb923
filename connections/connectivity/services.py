"""Starting and running connectivity checks; a passing check of the Server output resumes a
paused connection (its rows then drain)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from connections import lifecycle
from connections.connectivity import http_steps
from connections.connectivity.models import ConnectivityCheck, ConnectivityStep
from connections.connectivity.probe import Step, Target, probe
from connections.crypto.encryption import EncryptionKeyError
from connections.delivery import retry
from connections.hooks import emit as hooks
from connections.models import BrazeOutput, Connection, Platform
from mpbraze.publish import publish

logger = logging.getLogger(__name__)
# A second click within this long gets the check already running, not a new one.
REUSE_SECONDS = 5


def output_test_connectivity(
    *, output: BrazeOutput, started_by: AbstractBaseUser | AnonymousUser | None = None
) -> ConnectivityCheck:
    """Record a check of ``output`` and run it on a worker after commit (or reuse one that
    started moments ago)."""
    recent = ConnectivityCheck.objects.filter(
        output=output,
        outcome=ConnectivityCheck.Outcome.PENDING,
        started_at__gte=timezone.now() - timedelta(seconds=REUSE_SECONDS),
    ).first()
    if recent is not None:
        return recent
    user = started_by if isinstance(started_by, User) else None
    check = ConnectivityCheck.objects.create(
        connection_id=output.connection_id, output=output, started_by=user
    )
    transaction.on_commit(lambda: _enqueue(check.pk), robust=True)
    return check


def connection_test_connectivity(
    *, connection: Connection, started_by: AbstractBaseUser | AnonymousUser | None = None
) -> list[ConnectivityCheck]:
    """A check of every output of the connection, one task each."""
    return [
        output_test_connectivity(output=output, started_by=started_by)
        for output in connection.outputs.order_by("platform")
    ]


def _enqueue(check_id: int) -> None:
    try:
        publish("mpbraze.connectivity_check_run", (check_id,))
    except Exception:  # the broker is down: say so on the check instead of leaving it running
        logger.warning("Could not start connectivity check %s", check_id, exc_info=True)
        _finish(
            ConnectivityCheck.objects.get(pk=check_id),
            [Step("http", "failed", 0, "the check could not start: the task queue is down")],
        )


def connectivity_check_run(*, check_id: int) -> ConnectivityCheck | None:
    """Run a recorded check (quietly nothing when it is gone or already done)."""
    check = (
        ConnectivityCheck.objects.select_related("output__connection")
        .filter(pk=check_id, outcome=ConnectivityCheck.Outcome.PENDING)
        .first()
    )
    if check is None:
        return None
    _finish(check, output_probe(check.output))
    return check


def output_probe(output: BrazeOutput) -> list[Step]:
    """The steps for one output: its REST endpoint with the key for the Server output, the
    SDK endpoint (and the JS endpoint for Web) for app outputs."""
    timeout = float(settings.MPBRAZE_CONNECTIVITY_STEP_TIMEOUT_SECONDS)
    if output.platform != Platform.SERVER and not output.sdk_host:
        message = "no SDK endpoint is set: the app's SDK uses its built-in default"
        return [Step("http", "skipped", 0, message)]
    if output.platform != Platform.SERVER:
        steps = probe(Target(output.sdk_host, timeout), http_steps.reachability_step)
        if output.platform == Platform.WEB and output.js_host and not _failed(steps):
            steps += probe(Target(output.js_host, timeout), http_steps.reachability_step)
        return steps
    try:
        api_key = lifecycle.output_api_key(output=output)
    except EncryptionKeyError as error:
        message = f"the API key cannot be decrypted ({error}): enter it again"
        return [Step("http", "failed", 0, message)]
    return probe(Target(output.rest_host, timeout), http_steps.server_step(api_key))


def _failed(steps: list[Step]) -> bool:
    return any(step.failed for step in steps)


def _finish(check: ConnectivityCheck, steps: list[Step]) -> None:
    failed = [step for step in steps if step.failed]
    check.outcome = ConnectivityCheck.Outcome.FAILED if failed else ConnectivityCheck.Outcome.PASSED
    check.summary = (failed[0] if failed else steps[-1]).message[:2000]
    check.finished_at = timezone.now()
    check.duration_ms = int((check.finished_at - check.started_at).total_seconds() * 1000)
    with transaction.atomic():
        ConnectivityStep.objects.bulk_create(
            ConnectivityStep(
                connectivity_check=check,
                position=n,
                name=step.name,
                outcome=step.outcome,
                latency_ms=step.latency_ms,
                message=step.message[:2000],
            )
            for n, step in enumerate(steps)
        )
        check.save(update_fields=["outcome", "summary", "finished_at", "duration_ms"])
        if not failed and check.output.platform == Platform.SERVER:
            _resume_on_proof(check)
        hooks.connection_check_finished(check)


def _resume_on_proof(check: ConnectivityCheck) -> None:
    """Braze accepted the Server output's key at its endpoint: a pause for a refused key or
    endpoint is over."""
    connection = check.output.connection
    if connection.paused_reason:
        lifecycle.connection_resume(connection=connection)
        retry.connection_retry_now(connection=connection, user=check.started_by, after_test=True)
        check.summary = f"{check.summary}. The connection was paused; it has resumed."
        check.save(update_fields=["summary"])
