"""Verify the ledger. Exit codes: 0 valid, 1 problems found, 2 could not run."""

import json
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import mail_admins
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger import crypto
from ledger.checkpoints import CheckpointError, checkpoint_check, checkpoint_load
from ledger.services import verification_run
from ledger.verification import Report


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
        try:
            if not settings.LEDGER_HMAC_KEYS:
                raise ImproperlyConfigured("no ledger key is configured (LEDGER_HMAC_KEY)")
            checks = [
                partial(
                    checkpoint_check,
                    checkpoint=checkpoint,
                    public_key=options["checkpoint_key"],
                    name=path.name,
                )
                for path, checkpoint in self._checkpoints(options)
            ]
            report, run = verification_run(
                trigger="command",
                from_index=options["from_index"],
                also=checks,
                record=not options["no_record"],
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
        if not options["checkpoint"]:
            return []
        options["checkpoint_key"] = options["checkpoint_key"] or getattr(
            settings, "LEDGER_CHECKPOINT_PUBLIC_KEY", ""
        )
        if not options["checkpoint_key"]:
            raise ImproperlyConfigured(
                "checkpoints need a trusted public key: --checkpoint-key or "
                "LEDGER_CHECKPOINT_PUBLIC_KEY"
            )
        try:  # a misconfigured key is not evidence of tampering: refuse to verify at all
            crypto.public_key_check(options["checkpoint_key"])
        except ValueError as exc:
            raise ImproperlyConfigured(f"the checkpoints' public key: {exc}") from None
        return [(path, checkpoint_load(path)) for path in options["checkpoint"]]

    def _summary(self, report: Report) -> str:
        scope = f"from block {report.from_index}" if report.from_index else "whole chain"
        head = f"head: {report.head_size} blocks, hash {report.head_hash or '-'}"
        if report.valid:
            return self.style.SUCCESS(
                f"Ledger valid: {report.blocks} blocks checked ({scope}); {head}"
            )
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
        return "\n".join(lines)
