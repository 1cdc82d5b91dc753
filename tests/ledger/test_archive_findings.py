"""What a review and a new user's trial of archival, receipts and checkpoints found: each
test failed on the code before its fix."""

import gzip
import io
import json
from importlib import import_module
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from ledger import archive, audit, crypto, merkle
from ledger.models import ArchiveSegment, Block, Checkpoint, TreeNode
from ledger.receipts import ReceiptError, consistency_between, receipt_for
from ledger.verification import chain_verify
from tests.conftest import as_owner, make_checkpoint
from tests.ledger.test_archive import audit as audit_export
from tests.ledger.test_archive import run_archive, verify


def everything_but_the_newest(tmp_path: Path, checkpoint_key) -> ArchiveSegment:
    segment = run_archive(tmp_path, checkpoint_key, before=timezone.now())
    assert isinstance(segment, ArchiveSegment)
    return segment


def test_a_block_written_where_the_archive_was_is_reported(
    history, checkpoint_key, tamper, tmp_path
) -> None:
    history(old=0, new=8)
    everything_but_the_newest(tmp_path, checkpoint_key)  # blocks 0..7
    tamper(
        'INSERT INTO ledger_block ("index", timestamp, data, prev_hash, hash, signature, '
        "key_id, type, subject) SELECT 2, timestamp, data, %s, hash, signature, key_id, type, "
        'subject FROM ledger_block WHERE "index" = 8',
        ["f" * 64],
    )

    assert (2, "order") in verify()
    assert (2, "order") in verify(archive=tmp_path, checkpoint_key=checkpoint_key[1])
    status, result = audit_export(tmp_path)
    assert status == 1 and (2, "order") in {(p["index"], p["code"]) for p in result["problems"]}


def test_postgresql_refuses_a_block_where_the_archive_was(
    history, checkpoint_key, tmp_path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    history(old=0, new=8)
    everything_but_the_newest(tmp_path, checkpoint_key)

    with pytest.raises(DatabaseError, match="archived"), connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO ledger_block ("index", timestamp, data, prev_hash, hash, signature, '
            "key_id, type, subject) SELECT 2, timestamp, data, %s, hash, signature, key_id, "
            'type, subject FROM ledger_block WHERE "index" = 8',
            ["f" * 64],
        )


def test_a_second_run_waits_for_the_first_and_never_overwrites_its_segment(
    history, checkpoint_key, tmp_path, monkeypatch
) -> None:
    """Run B plans while run A archives into the same directory: before, B planned outside
    the directory's lock and then wrote over the segment A had just recorded."""
    history(old=10, new=2)
    plan = archive.archive_plan
    refused: list[str] = []

    def plan_while_another_runs(before):
        with monkeypatch.context() as inner:
            inner.setattr(archive, "archive_plan", plan)
            try:  # already the tables' owner here (run_archive below)
                archive.chain_archive(
                    before=before, out=tmp_path, private_key_pem=checkpoint_key[0].read_bytes()
                )
            except archive.ArchiveError as exc:
                refused.append(str(exc))
        return plan(before)

    monkeypatch.setattr(archive, "archive_plan", plan_while_another_runs)
    run_archive(tmp_path, checkpoint_key)

    assert refused and "another archive run" in refused[0]
    assert ArchiveSegment.objects.count() == 1
    assert chain_verify(archive=tmp_path, checkpoint_key=checkpoint_key[1]).valid


def test_the_archive_directory_is_made_and_must_hold_the_earlier_segments(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=6, new=0)
    first = tmp_path / "new" / "archive"
    everything_but_the_newest(first, checkpoint_key)  # made, with its parents
    history(old=0, new=3)

    with pytest.raises(archive.ArchiveError, match="does not hold the previous segments"):
        run_archive(tmp_path / "elsewhere", checkpoint_key, before=timezone.now())

    assert ArchiveSegment.objects.count() == 1 and Block.objects.count() == 4


def test_a_key_that_is_not_the_configured_ones_half_signs_nothing(
    history, checkpoint_key, settings, tmp_path
) -> None:
    history(old=4, new=2)
    settings.LEDGER_CHECKPOINT_PUBLIC_KEY = crypto.checkpoint_keygen()[1]

    with pytest.raises(archive.ArchiveError, match="not the half"):
        run_archive(tmp_path, checkpoint_key)
    with pytest.raises(CommandError, match="not the half"):
        call_command("ledger_checkpoint", "create", "--private-key", str(checkpoint_key[0]))

    assert Block.objects.count() == 7 and not Checkpoint.objects.exists()


def test_a_cut_or_garbled_segment_is_reported_not_a_traceback(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=6, new=2)
    segment = everything_but_the_newest(tmp_path, checkpoint_key)
    path = tmp_path / segment.file_name
    whole = path.read_bytes()

    path.write_bytes(whole[: len(whole) // 2])
    cut = verify(archive=tmp_path, checkpoint_key=checkpoint_key[1])
    path.write_bytes(gzip.compress(b'{"index": 0, "timestamp": 12345}\n'))
    garbled = verify(archive=tmp_path, checkpoint_key=checkpoint_key[1])

    assert (None, "archive_altered") in cut
    assert (None, "format") in garbled
    with pytest.raises(CommandError) as failed:
        call_command("verify_chain", "--archive", str(tmp_path), stdout=io.StringIO())
    assert failed.value.returncode == 1


def test_an_export_from_a_later_block_audits_after_an_archive(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=6, new=8)
    run_archive(tmp_path, checkpoint_key)  # blocks 0..6
    out = tmp_path / "tail.jsonl"
    call_command("export_chain", "--out", str(out), "--from-index", "12", stdout=io.StringIO())

    result = audit.audit_export(
        audit.export_lines(out), archived=audit.export_archived(out), archive=tmp_path
    )

    assert result.valid, result.problems


def test_a_hostile_trailer_cannot_make_the_audit_loop_for_ever(
    history, checkpoint_key, tmp_path
) -> None:
    history(old=4, new=2)
    run_archive(tmp_path, checkpoint_key)
    out = tmp_path / "live.jsonl"
    call_command("export_chain", "--out", str(out), stdout=io.StringIO())
    lines = out.read_text().splitlines()
    trailer = json.loads(lines[-1])
    trailer["trailer"]["archived"]["segments"] = 10**12
    out.write_text("\n".join([*lines[:-1], json.dumps(trailer)]) + "\n")

    result = audit.audit_export(
        audit.export_lines(out),
        archived=audit.export_archived(out),
        archive=tmp_path,
        checkpoint_key=checkpoint_key[1],
    )

    assert "archive_missing" in {p["code"] for p in result.problems}


def test_a_residents_status_edited_after_an_archive_is_still_caught(
    history, checkpoint_key, tamper, tmp_path
) -> None:
    from django.contrib.auth.models import User

    from residents import services

    history(old=4, new=1)
    everything_but_the_newest(tmp_path, checkpoint_key)
    warden = User.objects.create_user("wendy")
    newcomer = services.resident_register(by=warden, name="Bo Lindqvist", room="A-101")
    # Backdating the registration as well hid the edit once (found by a second review).
    tamper(
        "UPDATE residents_resident SET status = 'IN', created_at = '2020-01-01' WHERE id = %s",
        [newcomer.pk.hex],
    )

    codes = {code for _, code in verify()}

    assert "resident_status" in codes


def test_the_ledger_counts_only_the_stored_events_and_the_csv_header_stays_first(
    history, checkpoint_key, tmp_path, admin_client
) -> None:
    history(old=9, new=3)
    run_archive(tmp_path, checkpoint_key)  # blocks 0..9: three stay

    page = admin_client.get("/ledger/").content.decode()
    api = admin_client.get("/api/ledger").json()
    csv = b"".join(admin_client.get("/ledger/export.csv").streaming_content).decode()

    assert "3 events, newest first" in page and "are archived" in page
    assert api["count"] == 3
    assert csv.splitlines()[0].startswith("index,timestamp,type")
    assert "are archived in" in csv.splitlines()[-1]


def test_a_read_only_checkpoint_is_made_then_recorded_on_the_server(
    chain, checkpoint_key, settings, tmp_path
) -> None:
    """The checkpoint runs on the auditor's machine with a read-only role: it signs, and the
    application's role records it afterwards so that receipts can be given."""
    settings.LEDGER_CHECKPOINT_PUBLIC_KEY = checkpoint_key[1]
    chain(300)  # past one stored subtree of 256 blocks
    out = tmp_path / "cp.json"

    def read_only(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise DatabaseError("permission denied (read-only role)")
        return execute(sql, params, many, context)

    err = io.StringIO()
    with connection.execute_wrapper(read_only):
        call_command(
            "ledger_checkpoint",
            "create",
            "--private-key",
            str(checkpoint_key[0]),
            "--out",
            str(out),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "ledger_checkpoint record" in err.getvalue()
    assert not TreeNode.objects.exists() and not Checkpoint.objects.exists()

    call_command("ledger_checkpoint", "record", str(out), stdout=io.StringIO())

    assert receipt_for(Block.objects.get(index=123))["tree_size"] == 301


def test_a_recorded_checkpoint_not_signed_by_the_key_gives_no_receipt(
    chain, checkpoint_key, settings, tamper
) -> None:
    chain(20)
    make_checkpoint(checkpoint_key[0])
    chain(5)
    make_checkpoint(checkpoint_key[0])
    settings.LEDGER_CHECKPOINT_PUBLIC_KEY = crypto.checkpoint_keygen()[1]

    with pytest.raises(ReceiptError, match="not the one signed"):
        receipt_for(Block.objects.get(index=3))
    with pytest.raises(ReceiptError, match="not the one signed"):
        consistency_between(21, 26)


def test_a_checkpoint_into_a_missing_directory_is_refused_before_signing(
    chain, checkpoint_key, tmp_path
) -> None:
    chain(3)

    with pytest.raises(CommandError, match="is not a directory") as refused:
        call_command(
            "ledger_checkpoint",
            "create",
            "--private-key",
            str(checkpoint_key[0]),
            "--out",
            str(tmp_path / "missing" / "cp.json"),
        )

    assert refused.value.returncode == 2 and not Checkpoint.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--witness", "http://127.0.0.1:9/"],
        ["--checkpoint-key", "KEY", "--witness-key", "it-office=not-a-key"],
    ],
    ids=["witness-without-key", "bad-witness-key"],
)
def test_verify_chain_refuses_witness_options_it_cannot_use(chain, checkpoint_key, args) -> None:
    chain(2)
    args = [checkpoint_key[1] if arg == "KEY" else arg for arg in args]

    with pytest.raises(CommandError) as refused:
        call_command("verify_chain", "--no-record", *args, stdout=io.StringIO())

    assert refused.value.returncode == 2


def test_a_receipt_checked_without_a_key_says_the_key_is_needed(tmp_path, capsys) -> None:
    path = tmp_path / "receipt.json"
    path.write_text("{}")

    assert audit.main(["--receipt", str(path)]) == 2
    assert "--checkpoint-key BASE64 is required" in capsys.readouterr().err


# --- Found by a second review ---------------------------------------------------------------


def test_a_forged_anchor_that_hides_deleted_blocks_is_reported_with_the_key(
    history, checkpoint_key, tamper
) -> None:
    """Without the HMAC key, someone with the database's owner rights records a made-up
    archive and deletes the oldest blocks: the live chain links to the forged anchor."""
    history(old=0, new=10)
    hashes = list(Block.objects.order_by("index").values_list("hash", flat=True))
    tree = merkle.Frontier()
    for block_hash in hashes[:6]:
        tree.append(merkle.block_leaf(block_hash))
    last = Block.objects.get(index=5)
    tamper(
        "INSERT INTO ledger_archivesegment (number, first_index, last_index, last_hash, "
        "last_timestamp, file_name, file_sha256, location, tree_frontier, archived_at, "
        "archived_by) VALUES (1, 0, 5, %s, %s, 'segment-000001.jsonl.gz', %s, '/nowhere', "
        "%s, %s, '')",
        [
            last.hash,
            last.timestamp,
            "0" * 64,
            json.dumps([n.hex() for n in tree.hashes()]),
            timezone.now(),
        ],
    )
    tamper('DELETE FROM ledger_block WHERE "index" <= 5')

    assert chain_verify().valid  # without the checkpoint key: only a note, as documented
    assert (5, "archive_missing") in verify(checkpoint_key=checkpoint_key[1])


def test_blocks_append_before_the_new_table_is_granted(history, checkpoint_key) -> None:
    """Between `migrate` and `db_grant` the application's role has no rights on the
    archive's table, which the block trigger reads: appends must go on (they stopped)."""
    if connection.vendor != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("REVOKE SELECT ON ledger_archivesegment FROM hostel_test_app")

    history(old=0, new=2)

    assert Block.objects.count() == 3


def test_unapplying_the_archive_migration_is_refused_once_blocks_are_archived(
    history, checkpoint_key, tmp_path
) -> None:
    from django.apps import apps

    migration = import_module("ledger.migrations.0007_archive_segments")
    history(old=4, new=2)
    everything_but_the_newest(tmp_path, checkpoint_key)

    with pytest.raises(RuntimeError, match="blocks are archived"):
        migration.drop_triggers(apps, None)


def test_the_audit_reports_a_cut_segment_as_altered(history, checkpoint_key, tmp_path) -> None:
    history(old=6, new=2)
    segment = everything_but_the_newest(tmp_path, checkpoint_key)
    path = tmp_path / segment.file_name
    path.write_bytes(path.read_bytes()[:200])

    status, result = audit_export(tmp_path, "--archive", str(tmp_path))

    assert status == 1 and "archive_altered" in {p["code"] for p in result["problems"]}


def test_one_bad_recorded_checkpoint_does_not_stop_every_receipt(
    chain, checkpoint_key, settings, tamper
) -> None:
    settings.LEDGER_CHECKPOINT_PUBLIC_KEY = checkpoint_key[1]
    chain(20)
    make_checkpoint(checkpoint_key[0])
    forged = Checkpoint.objects.get()
    tamper(
        "INSERT INTO ledger_checkpoint (size, head_hash, tree_root, created, signed, "
        "recorded_at) VALUES (21, %s, %s, %s, %s, %s)",
        [
            forged.head_hash,
            "ab" * 32,
            forged.created,
            json.dumps({**forged.signed, "tree_root": "ab" * 32}),
            timezone.now(),
        ],
    )

    assert receipt_for(Block.objects.get(index=7))["checkpoint"] == forged.signed


def test_a_segment_whose_signatures_do_not_verify_stops_the_run(
    history, checkpoint_key, tmp_path, monkeypatch
) -> None:
    history(old=6, new=2)
    write = archive._write_segment

    def resigned(out, plan):
        tree = write(out, plan)
        path = out / plan.file_name
        lines = gzip.decompress(path.read_bytes()).decode().splitlines(keepends=True)
        row = json.loads(lines[2])
        row["signature"] = "0" * 64
        lines[2] = json.dumps(row, separators=(",", ":")) + "\n"
        path.write_bytes(gzip.compress("".join(lines).encode()))
        return tree

    monkeypatch.setattr(archive, "_write_segment", resigned)
    with pytest.raises(archive.ArchiveError, match="signature does not verify"):
        run_archive(tmp_path, checkpoint_key)

    assert Block.objects.count() == 9 and not ArchiveSegment.objects.exists()


def test_an_index_past_the_chain_is_not_a_valid_empty_check(chain, tmp_path) -> None:
    """Found by a new user: `verify_chain --from-index 999` said valid, 0 blocks, and
    `export_chain --from-index 999` wrote a file the audit then called invalid."""
    chain(5)

    assert (6, "head_mismatch") in verify(from_index=999)
    assert verify(from_index=6) == set()  # from the head: nothing new, nothing wrong
    with pytest.raises(CommandError, match="there is no block 999") as refused:
        call_command("export_chain", "--out", str(tmp_path / "x.jsonl"), "--from-index", "999")
    assert refused.value.returncode == 2 and not (tmp_path / "x.jsonl").exists()
