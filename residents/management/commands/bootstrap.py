"""First run: create the first administrator, once, and say how to log in."""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create the first superuser if there is none. The password comes from "
        "HOSTEL_ADMIN_PASSWORD, or is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="default: admin")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write(
                "An administrator already exists; reset a password with "
                "`python manage.py changepassword USERNAME`."
            )
            return
        password = os.environ.get("HOSTEL_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.create_superuser(options["username"], email="", password=password)
        shown = (
            "the password in HOSTEL_ADMIN_PASSWORD"
            if os.environ.get("HOSTEL_ADMIN_PASSWORD")
            else f"password {password}  (shown only this once)"
        )
        self.stdout.write(
            self.style.SUCCESS(f"Created administrator {options['username']!r} with {shown}")
        )
