"""Make checkpoint keys and signed checkpoints of the ledger's head."""

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger import crypto
from ledger.checkpoints import CheckpointError, checkpoint_create


class Command(BaseCommand):
    help = (
        "keygen: write a new Ed25519 private key and print its public key. "
        "create: verify the chain and sign its head with that key (exit 1 if it is invalid)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        keygen = actions.add_parser("keygen", help="write a new private key (mode 0600)")
        keygen.add_argument("--private-key", type=Path, required=True, metavar="PATH")
        create = actions.add_parser("create", help="sign the head of a verified chain")
        create.add_argument("--private-key", type=Path, required=True, metavar="PATH")
        create.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "keygen":
            self._keygen(options["private_key"])
        else:
            self._create(options["private_key"], options["out"])

    def _keygen(self, path: Path) -> None:
        pem, public_key = crypto.checkpoint_keygen()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(
                f"{path} exists; refusing to overwrite a key", returncode=2
            ) from None
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc}", returncode=2) from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        self.stdout.write(f"Private key written to {path}. Keep it away from the server.")
        self.stdout.write(f"Public key (LEDGER_CHECKPOINT_PUBLIC_KEY): {public_key}")

    def _create(self, key_path: Path, out: Path | None) -> None:
        try:
            pem = key_path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {key_path}: {exc}", returncode=2) from exc
        try:
            checkpoint = checkpoint_create(private_key_pem=pem)
        except CheckpointError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        except DatabaseError as exc:
            raise CommandError(f"cannot read the chain: {exc}", returncode=2) from exc
        text = json.dumps(checkpoint, indent=2)
        if out is None:
            self.stdout.write(text)
        else:
            out.write_text(text + "\n")
            self.stdout.write(
                self.style.SUCCESS(f"Checkpoint of {checkpoint['size']} blocks written to {out}")
            )
