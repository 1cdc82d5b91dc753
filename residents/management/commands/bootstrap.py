"""First run: create the first administrator, once, and say how to log in."""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from residents import services
from residents.models import Resident

DEMO_RESIDENTS = [
    ("Ada Okafor", "B-214", 2, "Nurse"),
    ("Bo Lindqvist", "A-101", 1, "Student, engineering"),
    ("Chen Wei", "C-301", 3, "Chef"),
    ("Dolores Ibarra", "A-105", 1, "Student, law"),
    ("Emeka Nwosu", "B-220", 2, "Bus driver"),
    ("Fatima Zahra", "C-310", 3, "Pharmacist"),
    ("Giorgos Papas", "A-110", 1, "Student, medicine"),
    ("Hana Sato", "B-201", 2, "Translator"),
    ("Ivan Petrov", "C-305", 3, "Electrician"),
    ("Jamila Haddad", "A-102", 1, "Student, architecture"),
    ("Kofi Mensah", "B-218", 2, "Security officer"),
    ("Lucía Romero", "C-320", 3, "Teacher"),
]


class Command(BaseCommand):
    help = (
        "Create the first superuser if there is none; its password comes from "
        "HOSTEL_ADMIN_PASSWORD or is generated and printed once. --demo also loads demo "
        "residents and a guard and a warden account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="default: admin")
        parser.add_argument(
            "--demo", action="store_true", help="load demo residents and guard/warden accounts"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        admin = users.filter(is_superuser=True).order_by("pk").first()
        if admin is not None:
            self.stdout.write(
                "An administrator already exists; reset a password with "
                "`python manage.py changepassword USERNAME`."
            )
        else:
            from_env = os.environ.get("HOSTEL_ADMIN_PASSWORD")
            password = from_env or secrets.token_urlsafe(12)
            admin = users.create_superuser(options["username"], email="", password=password)
            shown = (
                "the password in HOSTEL_ADMIN_PASSWORD"
                if from_env
                else f"password {password}  (shown only this once)"
            )
            self.stdout.write(
                self.style.SUCCESS(f"Created administrator {options['username']!r} with {shown}")
            )
        if options["demo"]:
            self._demo(admin)

    def _demo(self, admin: Any) -> None:
        users = get_user_model().objects
        for username, role in (("guard", "guards"), ("warden", "wardens")):
            if users.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(9)
            user = users.create_user(username, password=password)
            user.groups.add(Group.objects.get(name=role))
            self.stdout.write(f"Created {role[:-1]} {username!r} with password {password}")
        if Resident.objects.exists():
            self.stdout.write("Residents exist already; no demo residents added.")
            return
        with transaction.atomic():
            for name, room, floor, occupation in DEMO_RESIDENTS:
                services.resident_register(
                    by=admin, name=name, room=room, floor=floor, occupation=occupation
                )
        self.stdout.write(self.style.SUCCESS(f"Added {len(DEMO_RESIDENTS)} demo residents."))
