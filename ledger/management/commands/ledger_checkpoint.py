"""Make checkpoint keys and signed checkpoints of the ledger's head."""

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger import crypto
from ledger.checkpoints import (
    CONFLICTS,
    CheckpointError,
    checkpoint_accept,
    checkpoint_create,
    checkpoint_load,
    checkpoint_record,
    checkpoint_witness,
)
from ledger.files import atomic_file


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
        record = actions.add_parser(
            "record",
            help="keep a checkpoint made elsewhere on the server, for receipts (the app's role)",
        )
        record.add_argument("file", type=Path, metavar="FILE")
        create.add_argument(
            "--witness",
            action="append",
            metavar="URL",
            help="ask this witness to cosign (repeatable; default: settings.LEDGER_WITNESS_URLS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "keygen":
            self._keygen(options["private_key"])
        elif options["action"] == "record":
            self._record(options["file"])
        else:
            self._create(options["private_key"], options["out"], options["witness"])

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

    def _record(self, path: Path) -> None:
        try:
            recorded = checkpoint_accept(checkpoint_load(path))
        except CheckpointError as exc:
            raise CommandError(f"not recorded: {exc}", returncode=1) from exc
        except DatabaseError as exc:
            raise CommandError(f"not recorded: database error: {exc}", returncode=2) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Recorded the checkpoint of {recorded.size} blocks: receipts now.")
        )

    def _create(self, key_path: Path, out: Path | None, urls: list[str] | None) -> None:
        try:
            pem = key_path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {key_path}: {exc}", returncode=2) from exc
        if out is not None and not out.parent.is_dir():
            raise CommandError(f"{out.parent} is not a directory: nothing signed", returncode=2)
        try:
            checkpoint = checkpoint_create(private_key_pem=pem)
        except CheckpointError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        except DatabaseError as exc:
            raise CommandError(f"cannot read the chain: {exc}", returncode=2) from exc
        refusals = checkpoint_witness(
            checkpoint, settings.LEDGER_WITNESS_URLS if urls is None else urls
        )
        for refusal in refusals:
            self.stderr.write(f"witness: {refusal.code}: {refusal.message}")
        try:
            checkpoint_record(checkpoint)
        except DatabaseError:  # the signed file is what counts; receipts wait for a copy
            self.stderr.write(
                "note: the database refused to record the checkpoint (a read-only role): run "
                "`manage.py ledger_checkpoint record FILE` on the server, as the application's "
                "role, so that receipts can be given against it"
            )
        text = json.dumps(checkpoint, indent=2)
        if out is None:
            self.stdout.write(text)
        else:
            try:
                with atomic_file(out) as handle:
                    handle.write((text + "\n").encode())
            except OSError as exc:
                raise CommandError(f"cannot write {out}: {exc}", returncode=2) from exc
            cosigned = len(checkpoint["cosignatures"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"Checkpoint of {checkpoint['size']} blocks written to {out}"
                    + (f", cosigned by {cosigned} witness(es)" if cosigned else "")
                )
            )
        conflicts = [refusal for refusal in refusals if refusal.code in CONFLICTS]
        if conflicts:
            for refusal in conflicts:
                if refusal.latest is not None:
                    self.stderr.write(
                        "the witness's own checkpoint: " + json.dumps(refusal.latest, indent=2)
                    )
            raise CommandError(
                f"{len(conflicts)} witness(es) saw another history of this ledger (a split "
                "view, or a chain rewritten since they cosigned): investigate before trusting "
                "it; run `manage.py verify_chain` with their checkpoints",
                returncode=1,
            )
