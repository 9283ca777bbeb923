"""manage.py create_user: a user in exactly one role, never staff, with a password shown once."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from connections.roles import AUDITOR, MARKETER
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def create_user(*args: str) -> str:
    out = io.StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


def roles(username: str) -> list[str]:
    return list(User.objects.get(username=username).groups.values_list("name", flat=True))


def test_it_creates_an_auditor_who_signs_in_to_the_admin_with_the_printed_password() -> None:
    printed = create_user("alice", "--role", "auditor", "--email", "alice@example.com")
    password = re.search(r"with password: (\S+)\n", printed)
    assert password, printed
    alice = User.objects.get(username="alice")
    assert (alice.is_staff, alice.is_superuser, alice.email) == (False, False, "alice@example.com")
    assert roles("alice") == [AUDITOR]
    client = Client()
    form = {"username": "alice", "password": password[1], "next": "/admin/"}
    signed_in = client.post("/admin/login/", form)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "mpbraze audit" in index.content.decode()


def test_it_takes_the_password_from_the_named_variable_and_does_not_print_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOB_PASSWORD", "a long and unusual passphrase")
    printed = create_user("bob", "--role", "ops", "--password-env", "BOB_PASSWORD")
    assert printed == "Created user “bob” in the Ops role.\n"
    assert User.objects.get(username="bob").check_password("a long and unusual passphrase")


def test_a_marketer_it_creates_is_refused_by_the_admin() -> None:
    password = re.search(r"with password: (\S+)\n", create_user("carol", "--role", "Marketer"))
    assert password
    assert roles("carol") == [MARKETER]
    client = Client()
    assert client.login(username="carol", password=password[1])
    assert client.get("/admin/").status_code == 403


def test_update_moves_a_user_to_exactly_the_new_role_and_keeps_the_password(
    marketer: User,
) -> None:
    User.objects.filter(pk=marketer.pk).update(is_staff=True)
    printed = create_user("marketer", "--role", "auditor", "--update")
    assert printed == "Updated user “marketer” in the Auditor role.\n"
    assert roles("marketer") == [AUDITOR]
    marketer.refresh_from_db()
    assert not marketer.is_staff
    assert marketer.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["  ", "--role", "auditor"], "The username is empty."),
        (
            ["dave", "--role", "admin"],
            "Unknown role “admin”: choose one of marketer, auditor, ops.",
        ),
        (["dave", "--role", "ops", "--email", "not-an-email"], "Invalid email address"),
        (["dave", "--role", "ops", "--password-env", "UNSET_VAR"], "UNSET_VAR is not set"),
        (["da ve", "--role", "ops"], "Invalid username “da ve”"),
        (["marketer", "--role", "auditor"], "User “marketer” exists already; pass --update"),
        (["root", "--role", "auditor", "--update"], "“root” is a superuser"),
    ],
    ids=[
        "an_empty_username",
        "an_unknown_role",
        "an_invalid_email",
        "an_unset_password_variable",
        "a_username_with_a_space",
        "an_existing_user_without_update",
        "a_superuser_even_with_update",
    ],
)
def test_it_refuses_with_a_message_naming_the_problem(
    args: list[str], message: str, marketer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNSET_VAR", raising=False)
    User.objects.create_superuser(username="root", password=PASSWORD)
    before = list(User.objects.values_list("username", "is_superuser").order_by("username"))
    with pytest.raises(CommandError, match=re.escape(message)):
        create_user(*args)
    assert list(User.objects.values_list("username", "is_superuser").order_by("username")) == before
    assert roles("marketer") == [MARKETER]


def test_it_refuses_a_weak_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAK", "12345678")
    with pytest.raises(CommandError, match=r"The password is too weak: .*too common"):
        create_user("erin", "--role", "auditor", "--password-env", "WEAK")
    assert not User.objects.filter(username="erin").exists()


def test_its_help_says_how_a_superuser_grants_a_role_in_the_admin() -> None:
    from connections.management.commands.create_user import Command

    assert "a superuser grants or changes a role by adding the user to the" in Command.help
