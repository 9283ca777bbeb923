"""Create the first admin user once; print a generated password unless one was given."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user if none exists (password from DJANGO_SUPERUSER_PASSWORD)."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin user “{username}” with password: {password}\n"
                    "It is shown only this once; change it after signing in."
                )
            )
        else:
            self.stdout.write(f"Created admin user “{username}”.")
