"""Verify the ledger. Exit codes: 0 valid, 1 problems found, 2 could not run."""

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import mail_admins
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger import crypto
from ledger.checkpoints import (
    CheckpointError,
    checkpoint_check,
    checkpoint_load,
    split_view_check,
)
from ledger.services import verification_run
from ledger.verification import Report
from ledger.witnesses import WitnessError, witness_latest


class Command(BaseCommand):
    help = (
        "Verify the ledger's hash chain, signatures and head. Exit status: 0 valid, "
        "1 problems found, 2 could not run (no key, database unreachable)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing when the chain is valid (cron)"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--from-index",
            type=int,
            default=0,
            metavar="N",
            help="check blocks from index N on (and N-1, for the link): incremental runs",
        )
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            type=Path,
            metavar="FILE",
            help="also check the chain against this signed checkpoint (repeatable)",
        )
        parser.add_argument(
            "--checkpoint-key",
            metavar="BASE64",
            help="trusted Ed25519 public key for checkpoints "
            "(default: settings.LEDGER_CHECKPOINT_PUBLIC_KEY)",
        )
        parser.add_argument(
            "--archive",
            type=Path,
            metavar="DIR",
            help="also verify the archived blocks, from their segments in DIR (archive_chain), "
            "with the live chain as one chain",
        )
        parser.add_argument(
            "--witness",
            action="append",
            default=[],
            metavar="URL",
            help="also compare the checkpoint this witness last cosigned (repeatable)",
        )
        parser.add_argument(
            "--witness-key",
            action="append",
            default=[],
            metavar="NAME=BASE64",
            help="a witness's public key, to count its cosignatures "
            "(default: settings.LEDGER_WITNESS_KEYS)",
        )
        parser.add_argument(
            "--no-record",
            action="store_true",
            help="do not keep this run's result for the dashboard (for read-only access)",
        )
        parser.add_argument(
            "--mail-admins", action="store_true", help="mail settings.ADMINS if problems are found"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_index"] < 0:
            raise CommandError("--from-index must be 0 or more", returncode=2)
        archive = options["archive"]
        if archive is not None and options["from_index"]:
            raise CommandError("--archive verifies the whole chain: no --from-index", returncode=2)
        if archive is not None and not archive.is_dir():
            raise CommandError(f"--archive {archive} is not a directory", returncode=2)
        try:
            if not settings.LEDGER_HMAC_KEYS:
                raise ImproperlyConfigured("no ledger key is configured (LEDGER_HMAC_KEY)")
            checks: list[Callable[[Report], None]] = [
                partial(
                    checkpoint_check,
                    checkpoint=checkpoint,
                    public_key=options["checkpoint_key"],
                    name=path.name,
                    archive=archive,
                )
                for path, checkpoint in self._checkpoints(options)
            ]
            if options["checkpoint_key"]:
                checks.append(self._split_view_check(options))
            report, run = verification_run(
                trigger="command",
                from_index=options["from_index"],
                also=checks,
                record=not options["no_record"],
                archive=archive,
                checkpoint_key=options["checkpoint_key"] or "",
            )
        except (ImproperlyConfigured, CheckpointError) as exc:
            raise CommandError(f"cannot verify: {exc}", returncode=2) from exc
        except DatabaseError as exc:
            raise CommandError(f"cannot verify: database error: {exc}", returncode=2) from exc

        if run is None and not options["no_record"]:
            self.stderr.write(
                "note: this run's result was not recorded (the database refused the write); "
                "a read-only role should pass --no-record"
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        elif not (options["quiet"] and report.valid):
            self.stdout.write(self._summary(report))

        if report.valid:
            return
        if options["mail_admins"]:
            mail_admins(
                f"Ledger verification found {report.problem_count} problem(s)",
                self._summary(report),
                fail_silently=False,
            )
        raise CommandError(f"{report.problem_count} problem(s) found", returncode=1)

    def _checkpoints(self, options: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
        options["checkpoint_key"] = options["checkpoint_key"] or getattr(
            settings, "LEDGER_CHECKPOINT_PUBLIC_KEY", ""
        )
        options["_loaded"] = []
        if not options["checkpoint"] and not options["checkpoint_key"]:
            if options["witness"] or options["witness_key"]:
                raise ImproperlyConfigured(
                    "witnesses are compared by the checkpoints' key: --checkpoint-key or "
                    "LEDGER_CHECKPOINT_PUBLIC_KEY"
                )
            return []
        if not options["checkpoint_key"]:
            raise ImproperlyConfigured(
                "checkpoints need a trusted public key: --checkpoint-key or "
                "LEDGER_CHECKPOINT_PUBLIC_KEY"
            )
        try:  # a misconfigured key is not evidence of tampering: refuse to verify at all
            crypto.public_key_check(options["checkpoint_key"])
        except ValueError as exc:
            raise ImproperlyConfigured(f"the checkpoints' public key: {exc}") from None
        options["_loaded"] = [(path, checkpoint_load(path)) for path in options["checkpoint"]]
        return options["_loaded"]

    def _split_view_check(self, options: dict[str, Any]) -> Callable[[Report], None]:
        """Checkpoints from every source, to find two that disagree on one size."""
        keys = dict(getattr(settings, "LEDGER_WITNESS_KEYS", {}))
        for pair in options["witness_key"]:
            name, sep, key = pair.partition("=")
            if not sep or not name:
                raise ImproperlyConfigured(f"--witness-key {pair!r}: expected NAME=BASE64")
            keys[name] = key
        for name, key in keys.items():
            try:
                crypto.public_key_check(key)
            except ValueError as exc:
                raise ImproperlyConfigured(f"witness {name}'s key: {exc}") from None
        given = [checkpoint for _, checkpoint in options["_loaded"]]
        for url in options["witness"]:
            try:
                latest = witness_latest(url)
            except WitnessError as exc:
                raise ImproperlyConfigured(f"witness {url}: {exc.message}") from exc
            if latest is not None:
                given.append(latest)
        key = options["checkpoint_key"]
        return partial(split_view_check, checkpoints=given, public_key=key, witness_keys=keys)

    def _summary(self, report: Report) -> str:
        scope = f"from block {report.from_index}" if report.from_index else "whole chain"
        head = f"head: {report.head_size} blocks, hash {report.head_hash or '-'}"
        notes = [f"note: {note}" for note in report.notes]
        if report.valid:
            valid = f"Ledger valid: {report.blocks} blocks checked ({scope}); {head}"
            return "\n".join([self.style.SUCCESS(valid), *notes])
        lines = [
            self.style.ERROR(
                f"Ledger INVALID: {report.problem_count} problem(s) in {report.blocks} blocks "
                f"checked ({scope}); {head}"
            )
        ]
        for problem in report.problems:
            where = "chain" if problem.index is None else f"block {problem.index}"
            lines.append(f"  {where}: {problem.code}: {problem.message}")
        if report.problem_count > len(report.problems):
            lines.append(f"  ... and {report.problem_count - len(report.problems)} more")
        return "\n".join(lines + notes)
