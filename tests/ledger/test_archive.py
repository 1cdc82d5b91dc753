"""Archival: old blocks move to verified segments; the archive and the live chain verify as
one chain, on SQLite and PostgreSQL; a crash at any step loses nothing."""

import gzip
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ledger import archive, crypto
from ledger.checkpoints import checkpoint_check
from ledger.models import ArchiveSegment, Block, LedgerImmutableError
from ledger.verification import chain_verify
from tests.conftest import REPO, as_owner, make_checkpoint

CUT = datetime(2025, 6, 1, tzinfo=UTC)


def run_archive(out, checkpoint_key, before=CUT):
    with as_owner():  # on PostgreSQL archival deletes, which only the tables' owner may
        return archive.chain_archive(
            before=before, out=out, private_key_pem=checkpoint_key[0].read_bytes()
        )


def verify(**options):
    return {(p.index, p.code) for p in chain_verify(**options).problems}


def audit(tmp_path, *extra: str) -> tuple[int, dict]:
    """Export the live chain and run the standalone verifier on it, as an auditor would."""
    out = tmp_path / "live.jsonl.gz"
    call_command("export_chain", "--out", str(out), stdout=io.StringIO())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    done = subprocess.run(
        [sys.executable, "-m", "ledger.audit", str(out), "--json", *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=120,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout else {"err": done.stderr}


def test_archived_blocks_leave_the_database_and_verify_with_the_live_chain(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=20, new=5)
    before = list(Block.objects.values_list("index", "hash"))

    segment = run_archive(tmp_path, checkpoint_key)

    assert (segment.number, segment.first_index, segment.last_index) == (1, 0, 20)
    assert segment.last_hash == before[20][1]
    assert list(Block.objects.values_list("index", flat=True)) == list(range(21, 26))
    assert (tmp_path / "segment-000001.jsonl.gz").is_file()
    report = chain_verify()
    assert report.valid and report.blocks == 5
    assert "blocks 0..20" in report.notes[0] and str(tmp_path) in report.notes[0]
    whole = chain_verify(archive=tmp_path, checkpoint_key=checkpoint_key[1])
    assert whole.valid and whole.blocks == 26, whole.problems
    status, result = audit(
        tmp_path, "--archive", str(tmp_path), "--checkpoint-key", checkpoint_key[1]
    )
    assert status == 0 and result["blocks"] == 26, result
    status, result = audit(tmp_path)
    assert status == 0 and result["blocks"] == 5
    assert any("blocks 0..20 are archived" in note for note in result["notes"])


def test_the_chain_grows_and_archives_again_after_an_archive(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=10, new=0)
    run_archive(tmp_path, checkpoint_key, before=timezone.now())  # all but the newest block
    history(old=0, new=6)

    second = run_archive(tmp_path, checkpoint_key, before=timezone.now())

    assert (second.number, second.first_index) == (2, 10)
    assert Block.objects.count() == 1
    assert chain_verify().valid
    assert chain_verify(archive=tmp_path, checkpoint_key=checkpoint_key[1]).valid
    status, result = audit(
        tmp_path, "--archive", str(tmp_path), "--checkpoint-key", checkpoint_key[1]
    )
    assert status == 0 and result["blocks"] == 17, result


def test_the_command_archives_by_date_and_says_what_it_did(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=8, new=3)
    out = io.StringIO()

    with as_owner():
        call_command(
            "archive_chain",
            "--before",
            "2025-06-01",
            "--out",
            str(tmp_path),
            "--private-key",
            str(checkpoint_key[0]),
            stdout=out,
        )

    assert "Archived blocks 0..8" in out.getvalue()
    verify_out = io.StringIO()
    call_command("verify_chain", "--archive", str(tmp_path), "--no-record", stdout=verify_out)
    assert "Ledger valid: 12 blocks checked" in verify_out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "June"], "is not a date like"),
        (["--before", "2999-01-01"], "the date is in the future"),
        (["--before", "2025-06-01", "--out", "/dev/null/archive"], "cannot use"),
    ],
)
def test_the_command_refuses_bad_input_and_changes_nothing(
    history, checkpoint_key, tmp_path, args, message
) -> None:
    history(old=4, new=2)
    options = {"--out": str(tmp_path), "--private-key": str(checkpoint_key[0])}
    for name, value in zip(args[::2], args[1::2], strict=True):
        options[name] = value

    with pytest.raises(CommandError, match=message) as refused:
        call_command("archive_chain", *[part for pair in options.items() for part in pair])

    assert refused.value.returncode == 2
    assert Block.objects.count() == 7 and not ArchiveSegment.objects.exists()
    assert not list(tmp_path.glob("segment-*"))


def test_nothing_to_archive_is_said_plainly(history, checkpoint_key, tmp_path) -> None:
    history(old=0, new=3)
    out = io.StringIO()

    call_command(
        "archive_chain",
        *(
            "--before",
            "2025-06-01",
            "--out",
            str(tmp_path),
            "--private-key",
            str(checkpoint_key[0]),
        ),
        stdout=out,
    )

    assert "Nothing to archive" in out.getvalue() and Block.objects.count() == 4


def test_a_tampered_chain_is_not_archived(history, checkpoint_key, tamper, tmp_path) -> None:
    history(old=6, new=2)
    tamper("""UPDATE ledger_block SET data = '{"type": "test", "n": 99}' WHERE "index" = 3""")

    with pytest.raises(archive.ArchiveError, match="problem"):
        run_archive(tmp_path, checkpoint_key)

    assert Block.objects.count() == 9 and not list(tmp_path.glob("segment-*"))


# --- Crashes ---------------------------------------------------------------------------------


class Crash(BaseException):
    """As abrupt as a kill: not an Exception, so no handler of ours catches it."""


@pytest.mark.parametrize(
    "step", ["planned", "segment written", "checkpoint written", "verified", "deleting"]
)
def test_a_crash_before_the_deletion_commits_loses_nothing(
    history, checkpoint_key, tmp_path, monkeypatch, step
) -> None:
    history(old=12, new=2)
    monkeypatch.setattr(archive, "DELETE_BATCH", 5)  # "deleting": after the first batch of 5
    stored = list(Block.objects.values_list("index", "hash"))

    def crash(name: str) -> None:
        if name == step:
            raise Crash(name)

    monkeypatch.setattr(archive, "_step", crash)
    with pytest.raises(Crash):
        run_archive(tmp_path, checkpoint_key)

    assert list(Block.objects.values_list("index", "hash")) == stored
    assert not ArchiveSegment.objects.exists()
    assert not list(tmp_path.glob(".*partial"))
    assert chain_verify().valid
    assert chain_verify(archive=tmp_path).valid  # an unrecorded segment file is not used
    monkeypatch.undo()
    segment = run_archive(tmp_path, checkpoint_key)  # and the next run completes the work
    assert (
        segment.number == 1
        and chain_verify(archive=tmp_path, checkpoint_key=checkpoint_key[1]).valid
    )


def test_a_crash_after_the_deletion_leaves_a_complete_archive(
    history, checkpoint_key, tmp_path, monkeypatch
) -> None:
    history(old=10, new=2)

    def crash(name: str) -> None:
        if name == "deleted":
            raise Crash(name)

    monkeypatch.setattr(archive, "_step", crash)
    with pytest.raises(Crash):
        run_archive(tmp_path, checkpoint_key)

    assert Block.objects.count() == 2 and ArchiveSegment.objects.count() == 1
    assert chain_verify(archive=tmp_path, checkpoint_key=checkpoint_key[1]).valid


def test_a_segment_that_does_not_read_back_stops_the_run(
    history, checkpoint_key, tmp_path, monkeypatch
) -> None:
    history(old=6, new=2)
    write = archive._write_segment

    def corrupted(out, plan):
        tree = write(out, plan)
        path = out / plan.file_name
        lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
        lines[2] = lines[2].replace("last year", "last yeaR")
        path.write_bytes(gzip.compress("".join(lines).encode()))
        return tree

    monkeypatch.setattr(archive, "_write_segment", corrupted)
    with pytest.raises(archive.ArchiveError, match="does not hash"):
        run_archive(tmp_path, checkpoint_key)

    assert Block.objects.count() == 9 and not ArchiveSegment.objects.exists()


# --- What verification notices ------------------------------------------------------------


@pytest.fixture
def two_segments(history, checkpoint_key, tmp_path):
    history(old=6, new=0)
    run_archive(tmp_path, checkpoint_key, before=timezone.now())
    history(old=0, new=6)
    run_archive(tmp_path, checkpoint_key, before=timezone.now())
    history(old=0, new=2)
    return tmp_path


def rewrite_segment(path, edit) -> None:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
    path.write_bytes(gzip.compress("".join(edit(lines)).encode()))


def test_a_missing_segment_is_reported(two_segments, checkpoint_key) -> None:
    (two_segments / "segment-000001.jsonl.gz").unlink()

    found = verify(archive=two_segments, checkpoint_key=checkpoint_key[1])

    assert (0, "archive_missing") in found
    status, result = audit(two_segments, "--archive", str(two_segments))
    assert status == 1 and "archive_missing" in {p["code"] for p in result["problems"]}


def test_an_altered_segment_is_reported(two_segments, checkpoint_key) -> None:
    path = two_segments / "segment-000001.jsonl.gz"
    rewrite_segment(path, lambda lines: [line.replace("last year", "LAST YEAR") for line in lines])

    found = verify(archive=two_segments, checkpoint_key=checkpoint_key[1])

    assert {(1, "hash_mismatch"), (0, "archive_altered")} <= found
    status, result = audit(two_segments, "--archive", str(two_segments))
    assert status == 1 and (1, "hash_mismatch") in {
        (p["index"], p["code"]) for p in result["problems"]
    }


def test_reordered_segments_are_reported(two_segments, checkpoint_key) -> None:
    first, second = (two_segments / f"segment-00000{n}.jsonl.gz" for n in (1, 2))
    first_bytes, second_bytes = first.read_bytes(), second.read_bytes()
    first.write_bytes(second_bytes)
    second.write_bytes(first_bytes)

    found = {code for _, code in verify(archive=two_segments, checkpoint_key=checkpoint_key[1])}

    assert {"archive_altered", "archive_mismatch", "order"} <= found
    status, result = audit(two_segments, "--archive", str(two_segments))
    assert status == 1 and {"archive_mismatch", "order"} <= {p["code"] for p in result["problems"]}


def test_a_segment_rewritten_with_the_key_is_caught_by_its_checkpoint(
    two_segments, checkpoint_key, settings
) -> None:
    """Someone with the HMAC checkpoint_key rewrites archived events, re-hashing and re-signing the
    segment: its blocks read well, but not its checkpoint, nor the anchor it must end at."""
    hmac_key = settings.LEDGER_HMAC_KEYS[settings.LEDGER_SIGNING_KEY_ID].encode()
    path = two_segments / "segment-000002.jsonl.gz"
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).decode().splitlines()]
    prev = rows[0]["prev_hash"]
    for row in rows[:-1]:
        row["data"] = row["data"].replace("this year", "THIS YEAR")
        row["prev_hash"] = prev
        row["hash"] = prev = crypto.block_hash(
            row["index"], row["timestamp"], row["data"], row["prev_hash"]
        )
        row["signature"] = crypto.sign(hmac_key, prev)
    rows[-1]["trailer"]["last_hash"] = prev
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    path.write_bytes(gzip.compress(text.encode()))

    found = verify(archive=two_segments, checkpoint_key=checkpoint_key[1])

    # Segment 2 holds blocks 6..11: no hash, signature or link is wrong inside it.
    assert found == {(6, "archive_altered"), (11, "archive_mismatch"), (11, "checkpoint_mismatch")}


def test_a_checkpoint_of_an_archived_block_is_checked_against_the_archive(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=6, new=0)
    old = tmp_path / "old.json"
    make_checkpoint(checkpoint_key[0], "--out", str(old))
    history(old=0, new=4)
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    run_archive(
        archive_dir, checkpoint_key, before=timezone.now()
    )  # blocks 0..9; block 6 among them
    checkpoint = json.loads(old.read_text())

    def checked(**more) -> set:
        report = chain_verify()
        checkpoint_check(report, checkpoint, public_key=checkpoint_key[1], name="old.json", **more)
        return {(p.index, p.code) for p in report.problems}

    assert checked() == {(6, "checkpoint_unchecked")}
    assert checked(archive=archive_dir) == set()
    status, result = audit(
        tmp_path,
        "--archive",
        str(archive_dir),
        "--checkpoint",
        str(old),
        "--checkpoint-key",
        checkpoint_key[1],
    )
    assert status == 0, result


# --- Only archival deletes ------------------------------------------------------------------


def refused(sql: str, *, archiving: bool = False) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            setting = "on" if archiving else ""
            cursor.execute("SELECT set_config('hostel.ledger_archive', %s, true)", [setting])
            cursor.execute(sql)
    except DatabaseError as exc:
        return "append-only" in str(exc)
    return False


def test_nothing_but_archival_deletes_blocks(history, checkpoint_key, tmp_path) -> None:
    history(old=4, new=2)
    with pytest.raises(LedgerImmutableError):
        Block.objects.filter(index=1).delete()
    with pytest.raises(LedgerImmutableError):
        ArchiveSegment.objects.all().delete()
    if connection.vendor != "postgresql":
        return
    # The trigger: even the owner's DELETE with the archival setting is refused for a block
    # no recorded segment covers, and without the setting for one that is.
    with as_owner():
        assert refused('DELETE FROM ledger_block WHERE "index" = 1', archiving=True)
        archive.chain_archive(
            before=timezone.now(), out=tmp_path, private_key_pem=checkpoint_key[0].read_bytes()
        )
        history(old=0, new=1)
        assert refused('DELETE FROM ledger_block WHERE "index" = 6')
        assert refused("DELETE FROM ledger_archivesegment", archiving=True)
    assert Block.objects.count() == 2 and ArchiveSegment.objects.count() == 1


def test_the_applications_role_cannot_archive(history, checkpoint_key, tmp_path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    history(old=4, new=2)

    with pytest.raises(DatabaseError, match="permission denied"):
        archive.chain_archive(
            before=CUT, out=tmp_path, private_key_pem=checkpoint_key[0].read_bytes()
        )

    assert Block.objects.count() == 7 and not ArchiveSegment.objects.exists()
