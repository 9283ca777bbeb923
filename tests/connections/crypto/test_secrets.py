"""Braze API keys: encrypted at rest, masked everywhere, never in history, rotatable."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from connections import lifecycle, services
from connections.crypto import encryption
from connections.models import BrazeOutput, Connection
from connections.rules.validation import OutputDraft
from tests.conftest import add_output

pytestmark = pytest.mark.django_db
SENTINEL = "SENTINEL-braze-key-5e7f1a2b"


def every_stored_text() -> str:
    """Every row of every table, as text: what an attacker with a database dump would see."""
    dump: list[str] = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from Django
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def test_a_sentinel_key_appears_in_no_row_page_admin_screen_or_history(
    connection: Connection, marketer: User, auditor: User
) -> None:
    output = add_output(connection, "ios", SENTINEL)
    output.external_identity_type = "mpid"
    output.save()

    assert SENTINEL not in every_stored_text()
    pages = [  # (who, where, shows the masked key)
        (marketer, reverse("dashboard"), False),
        (marketer, connection.get_absolute_url(), True),
        (marketer, reverse("output_edit", args=[connection.pk, "ios"]), True),
        (auditor, reverse("admin:connections_brazeoutput_changelist"), True),
        (auditor, reverse("admin:connections_brazeoutput_change", args=[output.pk]), True),
        (auditor, reverse("admin:connections_brazeoutput_history", args=[output.pk]), True),
        (auditor, reverse("admin:connections_connection_change", args=[connection.pk]), True),
    ]
    for user, url, shows_masked_key in pages:
        client = Client()
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert SENTINEL not in page, url
        assert ("••••1a2b" in page) == shows_masked_key, url


def test_the_history_records_that_the_key_changed_but_not_the_key(connection: Connection) -> None:
    output = add_output(connection, "ios", "first-key-aaaa")
    services.output_save(
        connection=connection,
        draft=OutputDraft(platform="ios", api_key="second-key-bbbb"),
        settings=output.forwarding,
        output=output,
    )
    history = list(output.history.order_by("history_date").values_list("api_key_masked", flat=True))
    assert history == ["••••aaaa", "••••bbbb"]
    fields = {f.name for f in BrazeOutput.history.model._meta.get_fields()}
    assert "api_key_encrypted" not in fields
    assert "api_key_fingerprint" not in fields


def test_the_stored_key_decrypts_to_the_original(connection: Connection) -> None:
    output = add_output(connection, "ios", SENTINEL)
    assert output.api_key_encrypted != SENTINEL
    assert lifecycle.output_api_key(output=output) == SENTINEL


def test_a_wrong_encryption_key_raises_a_clear_error_instead_of_returning_ciphertext(
    connection: Connection, settings: SettingsWrapper
) -> None:
    output = add_output(connection, "ios", SENTINEL)
    settings.MPBRAZE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(encryption.EncryptionKeyError, match="cannot be decrypted"):
        lifecycle.output_api_key(output=output)


def test_rotating_re_encrypts_every_key_under_the_newest(
    connection: Connection, settings: SettingsWrapper
) -> None:
    add_output(connection, "ios", "ios-key-1111")
    add_output(connection, "web", "web-key-2222")
    old = list(settings.MPBRAZE_ENCRYPTION_KEYS)
    new = Fernet.generate_key().decode()
    settings.MPBRAZE_ENCRYPTION_KEYS = [new, *old]
    call_command("rotate_encryption_key")

    settings.MPBRAZE_ENCRYPTION_KEYS = [new]  # the old key is gone: rotated rows still open
    keys = {o.platform: lifecycle.output_api_key(output=o) for o in BrazeOutput.objects.all()}
    assert keys == {"ios": "ios-key-1111", "web": "web-key-2222"}
    assert BrazeOutput.history.count() == 2  # rotation is not a configuration change


def test_rotation_with_a_missing_old_key_fails_and_changes_nothing(
    connection: Connection, settings: SettingsWrapper
) -> None:
    output = add_output(connection, "ios", "ios-key-1111")
    settings.MPBRAZE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match=r"Output #\d+ .*Nothing was changed"):
        call_command("rotate_encryption_key")
    assert BrazeOutput.objects.get().api_key_encrypted == output.api_key_encrypted


def test_the_log_filter_redacts_credentials(
    connection: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    from mpbraze.logging import scrub

    assert scrub("Authorization: Bearer abc123") == "Authorization: Bearer [redacted]"
    assert scrub("api_key=abc123 next") == "api_key=[redacted] next"
