import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("verify_chain", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.fixture
def broken(chain, tamper):
    chain(4)
    tamper('UPDATE ledger_block SET signature = %s WHERE "index" = 2', ["0" * 64])


def test_it_exits_0_and_prints_a_summary_when_valid(chain) -> None:
    chain(3)

    status, output = run()

    assert status == 0
    assert "Ledger valid: 4 blocks checked (whole chain)" in output


def test_quiet_prints_nothing_when_valid_for_cron(chain) -> None:
    chain(3)

    assert run("--quiet") == (0, "")


def test_quiet_still_speaks_up_when_problems_are_found(broken) -> None:
    status, output = run("--quiet")

    assert status == 1
    assert "block 2: bad_signature" in output


def test_json_output_is_machine_readable(broken) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("verify_chain", "--json", stdout=out)

    report = json.loads(out.getvalue())
    assert caught.value.returncode == 1
    assert report["valid"] is False
    assert report["blocks"] == 5
    assert report["problems"] == [
        {"index": 2, "code": "bad_signature", "message": "signature does not verify with key 'k1'"}
    ]


def test_from_index_skips_what_an_earlier_run_checked(broken) -> None:
    assert run("--from-index", "4")[0] == 0
    assert run("--from-index", "3")[0] == 1


def test_mail_admins_sends_the_problems(broken, settings) -> None:
    settings.ADMINS = [("Warden", "warden@example.org")]

    status, _ = run("--mail-admins", "--quiet")

    assert status == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["warden@example.org"]
    assert "1 problem" in mail.outbox[0].subject
    assert "block 2: bad_signature" in mail.outbox[0].body


def test_mail_admins_stays_silent_when_valid(chain, settings) -> None:
    settings.ADMINS = [("Warden", "warden@example.org")]
    chain(2)

    assert run("--mail-admins")[0] == 0
    assert mail.outbox == []


def test_it_exits_2_without_a_key(chain, settings) -> None:
    chain(1)
    settings.LEDGER_HMAC_KEYS = {}

    status, output = run()

    assert status == 2
    assert "no ledger key" in output


def test_it_exits_2_when_the_database_is_unreachable(tmp_path) -> None:
    env = dict(
        os.environ,
        DATABASE_URL="postgresql://nobody@127.0.0.1:9/nowhere?connect_timeout=2",
        DJANGO_SETTINGS_MODULE="hostel.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_chain", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2, result.stderr
    assert "cannot verify: database error" in result.stderr


def test_each_run_is_kept_for_the_dashboard_unless_told_not_to(broken) -> None:
    from ledger.models import VerificationRun

    run("--quiet")
    run("--quiet", "--no-record")

    kept = VerificationRun.objects.get()
    assert (kept.valid, kept.problem_count, kept.trigger) == (False, 1, "command")
    assert kept.problems[0]["code"] == "bad_signature"
