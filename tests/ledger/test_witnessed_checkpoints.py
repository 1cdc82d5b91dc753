"""Checkpoints cosigned by witnesses on loopback (python -m ledger.witness, as a partner
runs it), and the split view a hostel that shows two histories is caught by."""

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ledger import crypto, witnesses
from ledger.models import Checkpoint
from tests.conftest import REPO, as_owner
from tests.ledger.test_checkpoints import rewrite_from


@pytest.fixture
def log_key(tmp_path) -> tuple[Path, str]:
    pem, public = crypto.checkpoint_keygen()
    path = tmp_path / "log.pem"
    path.write_bytes(pem)
    return path, public


@pytest.fixture
def witness(tmp_path, log_key) -> Iterator[Callable[[str], tuple[str, str]]]:
    """Start a witness process: (its URL, its public key)."""
    running: list[subprocess.Popen[str]] = []
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}

    def start(name: str) -> tuple[str, str]:
        key = tmp_path / f"{name}.pem"
        made = subprocess.run(
            [sys.executable, "-m", "ledger.witness", "keygen", "--out", str(key)],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=environment,
            check=True,
        )
        public = made.stdout.strip().split()[-1]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger.witness",
                "serve",
                "--name",
                name,
                "--key",
                str(key),
                "--log-key",
                log_key[1],
                "--state",
                str(tmp_path / f"{name}.state.json"),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=environment,
        )
        running.append(process)
        assert process.stdout is not None
        return process.stdout.readline().strip(), public

    yield start
    for process in running:
        process.kill()
        process.wait()


def create(log_key, out: Path, *urls: str) -> tuple[int, str]:
    args = ["ledger_checkpoint", "create", "--private-key", str(log_key[0]), "--out", str(out)]
    for url in urls:
        args += ["--witness", url]
    err = io.StringIO()
    try:
        call_command(*args, stdout=io.StringIO(), stderr=err)
    except CommandError as exc:
        return exc.returncode, err.getvalue() + str(exc)
    return 0, err.getvalue()


def verify(log_key, *args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command(
            "verify_chain",
            "--json",
            "--no-record",
            "--checkpoint-key",
            log_key[1],
            *args,
            stdout=out,
        )
    except CommandError as exc:
        return exc.returncode, json.loads(out.getvalue()) if out.getvalue() else {}
    return 0, json.loads(out.getvalue())


def test_witnesses_cosign_each_checkpoint_that_extends_the_last(
    chain, log_key, witness, tmp_path
) -> None:
    (first_url, first_key), (second_url, second_key) = witness("it-office"), witness("parents")
    chain(10)
    assert create(log_key, tmp_path / "1.json", first_url, second_url) == (0, "")
    chain(5)

    status, errors = create(log_key, tmp_path / "2.json", first_url, second_url)

    assert status == 0, errors
    signed = json.loads((tmp_path / "2.json").read_text())
    keys = {"it-office": first_key, "parents": second_key}
    assert {c["witness"] for c in signed["cosignatures"]} == set(keys)
    for cosignature in signed["cosignatures"]:
        assert witnesses.cosignature_valid(signed, cosignature, keys[cosignature["witness"]])
    assert Checkpoint.objects.order_by("-size")[0].signed == signed
    latest = witnesses.witness_latest(first_url)
    assert latest is not None and latest["size"] == 16
    assert verify(log_key, "--checkpoint", str(tmp_path / "2.json"))[0] == 0


def test_an_unreachable_witness_is_reported_and_the_checkpoint_still_made(
    chain, log_key, tmp_path
) -> None:
    chain(3)

    status, errors = create(log_key, tmp_path / "1.json", "http://127.0.0.1:9/")

    assert status == 0 and "witness: unreachable" in errors
    assert json.loads((tmp_path / "1.json").read_text())["cosignatures"] == []


def test_two_histories_shown_to_two_witnesses_are_a_split_view(
    chain, log_key, witness, tamper, settings, tmp_path
) -> None:
    (honest_url, honest_key), (fooled_url, fooled_key) = witness("it-office"), witness("parents")
    chain(10)
    assert create(log_key, tmp_path / "shown-to-it.json", honest_url)[0] == 0
    # The hostel rewrites block 4 with its keys and shows the other witness that history.
    rewrite_from(4, tamper, settings)
    assert create(log_key, tmp_path / "shown-to-parents.json", fooled_url)[0] == 0

    status, errors = create(log_key, tmp_path / "again.json", honest_url)

    assert status == 1 and "split_view" in errors and "another history" in errors
    with as_owner():  # a hostel hiding its tracks keeps no copies here
        Checkpoint.objects.all().delete()
    keys = ["--witness-key", f"it-office={honest_key}", "--witness-key", f"parents={fooled_key}"]
    status, report = verify(
        log_key,
        "--checkpoint",
        str(tmp_path / "shown-to-it.json"),
        "--checkpoint",
        str(tmp_path / "shown-to-parents.json"),
        *keys,
    )
    assert status == 1
    split = [p for p in report["problems"] if p["code"] == "split_view"]
    assert len(split) == 1 and split[0]["index"] == 10
    assert "it-office" in split[0]["message"] and "parents" in split[0]["message"]
    # An auditor who holds no file asks the witnesses what they cosigned.
    status, report = verify(log_key, "--witness", honest_url, "--witness", fooled_url, *keys)
    assert "split_view" in {p["code"] for p in report["problems"]}
