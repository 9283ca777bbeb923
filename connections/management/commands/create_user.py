"""Create a user in one role, or move an existing user to one; print a generated password once."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from connections.roles import AUDITOR, MARKETER, OPS

ROLES = {"marketer": MARKETER, "auditor": AUDITOR, "ops": OPS}


class Command(BaseCommand):
    help = (
        "Create USERNAME in exactly one role: marketer (configures connections), auditor (reads"
        " the audit admin at /admin/) or ops (reads the admin, tests connections, replays and"
        " discards failed sends). The user is neither staff nor superuser. The password is read"
        " from the environment variable named by --password-env, or generated and printed once."
        " With --update an existing user is moved to the role instead of refused (its other"
        " groups and staff status are removed; its password is kept unless --password-env is"
        " given). In the admin, a superuser grants or changes a role by adding the user to the"
        " Marketer, Auditor or Ops group (Users, the user, Permissions, Groups); no staff status"
        " is needed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="marketer, auditor or ops")
        parser.add_argument("--email", default=None)
        parser.add_argument(
            "--password-env", default=None, metavar="VAR", help="variable holding the password"
        )
        parser.add_argument(
            "--update", action="store_true", help="re-role the user if it exists already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = _username(options["username"])
        group = _role_group(options["role"])
        email = _email(options["email"])
        given = _password_from_env(options["password_env"])
        if given is not None:
            _check_password(given, User(username=username, email=email or ""))
        with transaction.atomic():
            user, created = _user_for(username, update=options["update"])
            generated = secrets.token_urlsafe(12) if created and given is None else None
            _assign(user, group, email=email, password=given or generated)
        self._report(user, group, created=created, generated=generated)

    def _report(self, user: User, group: Group, *, created: bool, generated: str | None) -> None:
        done = "Created" if created else "Updated"
        if generated is None:
            self.stdout.write(f"{done} user “{user.username}” in the {group.name} role.")
            return
        self.stdout.write(
            self.style.WARNING(
                f"{done} user “{user.username}” in the {group.name} role with password: {generated}"
                "\nIt is shown only this once; change it after signing in."
            )
        )


def _username(raw: str) -> str:
    username = raw.strip()
    if not username:
        raise CommandError("The username is empty.")
    try:
        User._meta.get_field("username").run_validators(username)
    except ValidationError as error:
        raise CommandError(f"Invalid username “{username}”: {' '.join(error.messages)}") from None
    return username


def _role_group(role: str) -> Group:
    name = ROLES.get(role.strip().lower())
    if name is None:
        raise CommandError(f"Unknown role “{role}”: choose one of {', '.join(ROLES)}.")
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise CommandError(f"The {name} group does not exist yet: run manage.py migrate first.")
    return group


def _email(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        validate_email(raw)
    except ValidationError:
        raise CommandError(f"Invalid email address “{raw}”.") from None
    return raw


def _password_from_env(variable: str | None) -> str | None:
    if variable is None:
        return None
    password = os.environ.get(variable, "")
    if not password:
        raise CommandError(f"The environment variable {variable} is not set or is empty.")
    return password


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise CommandError(f"The password is too weak: {' '.join(error.messages)}") from None


def _user_for(username: str, *, update: bool) -> tuple[User, bool]:
    """The existing user (with ``update`` only) or a new unsaved one; superusers are left be."""
    user = User.objects.select_for_update().filter(username=username).first()
    if user is None:
        return User(username=username), True
    if not update:
        raise CommandError(f"User “{username}” exists already; pass --update to change its role.")
    if user.is_superuser:
        raise CommandError(f"User “{username}” is a superuser; this command does not demote one.")
    return user, False


def _assign(user: User, group: Group, *, email: str | None, password: str | None) -> None:
    """Exactly this one role: no other group, no staff status, not a superuser."""
    user.is_staff = False
    user.is_superuser = False
    if email is not None:
        user.email = email
    if password is not None:
        user.set_password(password)
    user.save()
    user.groups.set([group])
