"""Writes to connections and outputs. Views, forms and the API call these; nothing else writes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from connections.connectivity.services import (
    connection_test_connectivity,
    output_test_connectivity,
)
from connections.crypto import encryption
from connections.delivery.mapping_service import batches_resume_waiting
from connections.hooks import emit as hooks
from connections.models import (
    APP_PLATFORMS,
    BrazeOutput,
    Connection,
    ConnectivityCheck,
    Platform,
    new_web_key,
)
from connections.rules.instance_change import CHANGE_FIELDS, InstanceChange
from connections.rules.validation import OutputDraft
from mapping.output_settings import OutputSettings

INBOUND_KEY_PREFIX = "mpb_"


class OutputInUse(Exception):
    """An output cannot be removed because another output depends on it."""


def hash_inbound_secret(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash suffices and keeps per-request auth cheap.
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def inbound_secret_matches(connection: Connection, secret: str) -> bool:
    """The current secret, or the one replaced by the last rotation until its overlap ends.

    Both hashes are always compared, in constant time, so the timing tells nothing about which
    one (if any) matched.
    """
    offered = hash_inbound_secret(secret)
    current = hmac.compare_digest(connection.inbound_secret_hash, offered)
    previous = hmac.compare_digest(connection.previous_secret_hash, offered)
    return current or (previous and connection.previous_secret_valid_until is not None)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "connection"
    slug, n = base, 1
    while Connection.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def connection_create(*, name: str) -> tuple[Connection, str]:
    """Create a connection; returns it with its inbound secret (shown once, stored hashed)."""
    secret = secrets.token_urlsafe(32)
    connection = Connection.objects.create(
        name=name,
        slug=_unique_slug(name),
        inbound_key=INBOUND_KEY_PREFIX + secrets.token_hex(12),
        inbound_secret_hash=hash_inbound_secret(secret),
    )
    return connection, secret


_SECRET_FIELDS = ("inbound_secret_hash", "previous_secret_hash", "previous_secret_expires_at")


@transaction.atomic
def connection_rotate_inbound_secret(
    *, connection: Connection, overlap: timedelta = timedelta(0)
) -> str:
    """A new inbound secret (returned once, stored hashed).

    With an ``overlap`` the secret it replaces keeps working for that long, so senders can be
    switched over without losing traffic; any older secret still in its overlap stops now.
    Without one, the replaced secret stops at once.
    """
    secret = secrets.token_urlsafe(32)
    # Locked and read afresh: two rotations at once must not keep a secret neither replaced.
    current = Connection.objects.select_for_update().values_list("inbound_secret_hash", flat=True)
    connection.inbound_secret_hash = current.get(pk=connection.pk)
    if overlap > timedelta(0):
        connection.previous_secret_hash = connection.inbound_secret_hash
        connection.previous_secret_expires_at = timezone.now() + overlap
    else:
        connection.previous_secret_hash = ""
        connection.previous_secret_expires_at = None
    connection.inbound_secret_hash = hash_inbound_secret(secret)
    connection.save(update_fields=[*_SECRET_FIELDS, "updated_at"])
    return secret


def connection_rotate_web_key(*, connection: Connection) -> str:
    """A new web key; the old one stops at once (sites must publish the new one)."""
    connection.web_key = new_web_key()
    connection.save(update_fields=["web_key", "updated_at"])
    hooks.connection_updated(connection, changed=["web_key"], action="updated")
    return connection.web_key


def connection_update(
    *,
    connection: Connection,
    name: str,
    enabled: bool,
    redact_live_events: bool | None = None,
) -> Connection:
    """Rename, enable or disable; ``redact_live_events`` None keeps the setting."""
    before = {
        "name": connection.name,
        "enabled": connection.enabled,
        "redact_live_events": connection.redact_live_events,
    }
    connection.name = name
    connection.enabled = enabled
    if redact_live_events is not None:
        connection.redact_live_events = redact_live_events
    connection.save(update_fields=["name", "enabled", "redact_live_events", "updated_at"])
    changed = [field for field, value in before.items() if getattr(connection, field) != value]
    hooks.connection_updated(connection, changed=changed, action="updated")
    return connection


def connection_delete(*, connection: Connection) -> None:
    connection.delete()


@transaction.atomic
def output_save(
    *,
    connection: Connection,
    draft: OutputDraft,
    settings: OutputSettings,
    output: BrazeOutput | None = None,
) -> BrazeOutput:
    """Create or update an output from a draft that ``validate_output`` accepted."""
    created = output is None
    output = output or BrazeOutput(connection=connection)
    before = _sending_configuration(output)
    fields_before = _output_fields(output)
    values = asdict(draft)
    api_key = values.pop("api_key")
    values.pop("stored_key_fingerprint")
    output.allowed_origins = values.pop("allowed_origins").split()
    for name, value in values.items():
        setattr(output, name, value)
    if api_key:
        output.set_api_key(api_key)
    output.settings = settings.model_dump(mode="json")
    output.save()
    hooks.connection_updated(
        connection,
        changed=_changed_fields(fields_before, _output_fields(output)),
        output=output,
        action="output_created" if created else "output_updated",
    )
    connection.refresh_from_db(fields=["paused_reason"])  # a worker may have paused it
    # What Braze refused (the key, or where it was sent) changed: test it; a check that
    # passes resumes the connection, one that fails leaves it paused and says why.
    changed = _sending_configuration(output) != before
    if connection.paused_reason and changed and output.platform == Platform.SERVER:
        output_test_connectivity(output=output)
    if created and output.platform == Platform.SERVER:
        batches_resume_waiting(connection=connection)
    return output


#: Why the history rows of a "Change Braze instance…" say the outputs changed.
INSTANCE_CHANGE_REASON = "Braze instance changed for every output of the connection"


@transaction.atomic
def connection_change_instance(
    *, connection: Connection, change: InstanceChange, changed_by: User | None = None
) -> list[ConnectivityCheck]:
    """Move every output to the instance (or custom endpoints) of a change that
    ``validate_instance_change`` accepted, in one transaction, each history row naming who and
    why; then a check of each output starts. Queued objects go to the new endpoint: the
    forwarder reads an output's endpoint when it sends."""
    changed: set[str] = set()
    for output in connection.outputs.select_for_update().order_by("platform"):
        changed |= _output_move(output, change, changed_by)
    hooks.connection_updated(connection, changed=sorted(changed), action="instance_changed")
    return connection_test_connectivity(connection=connection, started_by=changed_by)


def _output_move(output: BrazeOutput, change: InstanceChange, changed_by: User | None) -> set[str]:
    before = _output_fields(output)
    moved = change.applied_to(OutputDraft(platform=output.platform))
    for name in CHANGE_FIELDS:
        setattr(output, name, getattr(moved, name))
    output._change_reason = INSTANCE_CHANGE_REASON  # type: ignore[attr-defined]
    if changed_by is not None:  # else the signed-in user, as simple_history's middleware says
        output._history_user = changed_by  # type: ignore[attr-defined]
    output.save()
    return set(_changed_fields(before, _output_fields(output)))


def _sending_configuration(output: BrazeOutput) -> tuple[str, str, str]:
    """What a pause can be about: the key, the instance, the REST endpoint."""
    return (output.api_key_fingerprint, output.braze_instance, output.custom_rest_endpoint)


def _output_fields(output: BrazeOutput) -> dict[str, object]:
    """What a ``connection.updated`` event may name as changed (the key by its fingerprint)."""
    fields = ("platform", "braze_instance", "external_identity_type", "email_identity_type")
    endpoints = ("custom_sdk_endpoint", "custom_rest_endpoint", "custom_js_endpoint")
    values = {name: getattr(output, name) for name in (*fields, *endpoints, "settings")}
    values["allowed_origins"] = list(output.allowed_origins or [])
    return {**values, "api_key": output.api_key_fingerprint}


def _changed_fields(before: dict[str, object], after: dict[str, object]) -> list[str]:
    return [name for name, value in after.items() if before.get(name) != value]


def output_delete(*, output: BrazeOutput) -> None:
    if output.platform in APP_PLATFORMS and _is_last_app_output_beside_server(output):
        raise OutputInUse(
            "Remove the Server output first: it needs at least one iOS, Android or Web output."
        )
    connection = output.connection
    output.delete()
    hooks.connection_updated(connection, changed=[], output=output, action="output_deleted")


def _is_last_app_output_beside_server(output: BrazeOutput) -> bool:
    siblings = output.connection.outputs.exclude(pk=output.pk)
    has_server = siblings.filter(platform=Platform.SERVER).exists()
    return has_server and not siblings.filter(platform__in=APP_PLATFORMS).exists()


def outputs_rotate_encryption(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored key under the newest encryption key; returns the count."""
    count = 0
    with transaction.atomic():
        for output in BrazeOutput.objects.select_for_update().iterator(chunk_size=batch_size):
            try:
                output.api_key_encrypted = encryption.rotate(output.api_key_encrypted)
            except encryption.EncryptionKeyError as error:
                raise encryption.EncryptionKeyError(
                    f"Output #{output.pk} ({output}): {error}"
                ) from error
            # A queryset update keeps rotation out of history: the key itself did not change.
            BrazeOutput.objects.filter(pk=output.pk).update(
                api_key_encrypted=output.api_key_encrypted
            )
            count += 1
    return count
