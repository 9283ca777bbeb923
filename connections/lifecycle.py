"""A connection's forwarding state and its outputs' keys: the part of the connection that
delivery acts on. Below ``connections.services`` (the marketer's writes) and used by it, by the
forwarder and by the connectivity checks alike.
"""

from __future__ import annotations

from django.utils import timezone

from connections.crypto import encryption
from connections.delivery.schedule import forward_schedule
from connections.hooks import emit as hooks
from connections.models import BrazeOutput, Connection, Platform


def connection_pause(
    *, connection: Connection, reason: str, refused_output: BrazeOutput | None = None
) -> bool:
    """Stop forwarding (rows stay queued) and say why on the connection's page.

    With ``refused_output``, pause only if that output still holds the configuration Braze
    refused (its key, instance and REST endpoint): a worker that started before a fix must
    not pause the connection again.
    """
    paused = Connection.objects.filter(pk=connection.pk)
    if refused_output is not None:
        paused = paused.filter(
            outputs__pk=refused_output.pk,
            outputs__api_key_fingerprint=refused_output.api_key_fingerprint,
            outputs__braze_instance=refused_output.braze_instance,
            outputs__custom_rest_endpoint=refused_output.custom_rest_endpoint,
        )
    values = {"paused_reason": reason[:1000], "paused_at": timezone.now()}
    # Only a connection that was forwarding announces a pause; a new reason is just saved.
    started = paused.filter(paused_reason="").update(**values)
    changed = started or paused.update(**values)
    if changed:
        connection.paused_reason = reason[:1000]
    if started:
        hooks.connection_paused(connection, reason[:1000])
    return bool(changed)


def connection_resume(*, connection: Connection) -> None:
    """Clear the pause and send what waited."""
    was_paused = Connection.objects.filter(pk=connection.pk).exclude(paused_reason="").exists()
    connection.paused_reason = ""
    connection.paused_at = None
    connection.save(update_fields=["paused_reason", "paused_at", "updated_at"])
    if was_paused:
        hooks.connection_resumed(connection)
    for output_id in connection.outputs.filter(platform=Platform.SERVER).values_list(
        "pk", flat=True
    ):
        forward_schedule(output_id=output_id)


def output_api_key(*, output: BrazeOutput) -> str:
    """The decrypted Braze key: only for the transport and connectivity checks."""
    return encryption.decrypt(output.api_key_encrypted)
