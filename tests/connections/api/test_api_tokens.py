"""API tokens: shown once, kept as a hash, scoped, expiring and revocable (issue 11, tokens)."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.api.models import ApiToken
from connections.api.tokens import api_token_authenticate, api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def created(user: User, *args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", user.username, *args, stdout=out, stderr=err)
    assert "Shown only this once." in err.getvalue()
    return out.getvalue().strip()


def test_the_command_prints_a_token_once_and_keeps_only_its_hash(ops: User) -> None:
    plain = created(ops, "--scope", "write,read", "--expires", "30d", "--name", "deploy bot")
    assert re.fullmatch(r"mpb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", plain)
    token = ApiToken.objects.get()
    stored = repr(ApiToken.objects.values().get())
    assert plain.split("_", 2)[2] not in stored
    assert (token.scopes, token.name, token.user) == (["read", "write"], "deploy bot", ops)
    assert token.expires_at is not None
    assert 29.9 < (token.expires_at - timezone.now()).total_seconds() / 86400 <= 30
    found = api_token_authenticate(plain)
    assert found is not None
    assert found.pk == token.pk
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nobody", "--scope", "read"], "No user named 'nobody'"),
        (["ops", "--scope", "read,admin"], "--scope: expected one or more of read, write, replay"),
        (["ops", "--scope", "read", "--expires", "soon"], "--expires: expected a duration"),
        (["ops", "--scope", "read", "--expires", "0d"], "--expires: expected a duration"),
    ],
)
def test_the_command_names_what_is_wrong(ops: User, arguments: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("create_api_token", *arguments)
    assert not ApiToken.objects.exists()


def test_expired_revoked_wrong_or_malformed_tokens_and_inactive_users_are_refused(
    ops: User,
) -> None:
    token, plain = api_token_create(user=ops, scopes=["read"])
    assert api_token_authenticate(plain) is not None
    assert api_token_authenticate(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    for malformed in ("", "Bearer x", "mpb_short_secret", plain + "x", plain.replace("mpb", "mpx")):
        assert api_token_authenticate(malformed) is None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_authenticate(plain) is None
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    api_token_revoke(token=token)
    assert api_token_authenticate(plain) is None
    _other, other_plain = api_token_create(user=ops, scopes=["read"])
    User.objects.filter(pk=ops.pk).update(is_active=False)
    assert api_token_authenticate(other_plain) is None


def test_ops_create_their_own_token_in_the_admin_and_see_it_once(ops: User, auditor: User) -> None:
    client = Client()
    client.force_login(ops)
    add = reverse("admin:connections_apitoken_add")
    refused = client.post(add, {"name": "ci", "scope_choices": ["read"], "expires_in": "soon"})
    assert "expected a duration such as 30d or 12h" in refused.content.decode()
    answer = client.post(
        add, {"name": "ci", "scope_choices": ["read", "replay"], "expires_in": "12h"}, follow=True
    )
    plain = re.search(r"mpb_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", answer.content.decode())
    assert plain is not None
    token = api_token_authenticate(plain.group(0))
    assert token is not None
    assert (token.user, token.scopes) == (ops, ["read", "replay"])
    listing = client.get(reverse("admin:connections_apitoken_changelist")).content.decode()
    assert token.prefix in listing
    assert plain.group(0) not in listing
    api_token_create(user=auditor, scopes=["read"], name="not yours")
    assert "not yours" not in listing
    viewer = Client()
    viewer.force_login(auditor)
    assert viewer.get(reverse("admin:connections_apitoken_changelist")).status_code == 403


def test_revoking_in_the_admin_stops_the_token(ops: User, settings: Any) -> None:
    token, plain = api_token_create(user=ops, scopes=["read"])
    client = Client()
    client.force_login(ops)
    client.post(
        reverse("admin:connections_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert ApiToken.objects.get().revoked_at is not None
    assert api_token_authenticate(plain) is None
