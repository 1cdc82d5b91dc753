"""The tamper battery: every change is made behind the application's back (raw SQL)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DataError, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import crypto, registry
from ledger.models import Block
from ledger.verification import (
    ROW_FIELDS,
    ChainChecker,
    Report,
    chain_verify,
)

MIDDLE = 5


def verify() -> tuple[int, str]:
    """Run verify_chain as cron would; return its exit status and everything it printed."""
    out = io.StringIO()
    try:
        call_command("verify_chain", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def assert_detected_at(index: int, *codes: str, audit=None) -> None:
    """verify_chain finds ``codes`` at block ``index``; so does the standalone verifier on an
    export of the chain (``audit``: the fixture), run in a subprocess of its own."""
    status, output = verify()
    assert status == 1, output
    assert f"block {index}:" in output, output
    report = chain_verify()
    found = {problem.code for problem in report.problems if problem.index == index}
    assert set(codes) <= found, report.problems
    if audit is not None:
        assert_audit_finds(audit, index, *codes)


def assert_audit_finds(audit, index: int, *codes: str, **options) -> None:
    status, report = audit(**options)
    assert status == 1, report
    found = {problem["code"] for problem in report["problems"] if problem["index"] == index}
    assert set(codes) <= found, report


@pytest.fixture
def ten(chain):
    return chain(10)  # blocks 0 (genesis) .. 10


def test_an_untouched_chain_is_valid(ten, audit) -> None:
    status, output = verify()

    assert status == 0
    assert "Ledger valid: 11 blocks checked" in output
    status, report = audit()
    assert status == 0, report
    assert (report["blocks"], report["head"]["size"]) == (11, 11)
    assert report["signatures_checked"] is True


@pytest.mark.parametrize(
    ("column", "value", "codes"),
    [
        ("timestamp", "2026-01-01T00:00:00.000000+00:00", ["hash_mismatch"]),
        ("timestamp", "2026-11-23 10:35:00.000000+00:00", ["format", "hash_mismatch"]),
        ("data", '{"n": 44, "note": "event 4", "type": "test"}', ["hash_mismatch"]),
        ("prev_hash", "f" * 64, ["hash_mismatch", "broken_link"]),
        ("hash", "0" * 64, ["hash_mismatch"]),
        ("signature", "0" * 64, ["bad_signature"]),
        ("key_id", "k-unknown", ["unknown_key"]),
        ("type", "scan", ["format"]),
        ("subject", "6f1c2b7e-1f0a-4c1e-9d3a-0b8f9c7e5a11", ["format"]),
    ],
)
def test_it_detects_an_edited_field_of_a_middle_block(
    ten, tamper, audit, column, value, codes
) -> None:
    tamper(f'UPDATE ledger_block SET {column} = %s WHERE "index" = %s', [value, MIDDLE])

    # type and subject are the database's indexed copies, not part of the block: an export
    # has only the hashed fields, so only verify_chain can hold the copies to the data.
    exported = column not in ("type", "subject")
    assert_detected_at(MIDDLE, *codes, audit=audit if exported else None)


def test_it_detects_data_that_is_not_json(ten, tamper, audit) -> None:
    edit = ('UPDATE ledger_block SET data = %s WHERE "index" = %s', ["not json", MIDDLE])
    if connection.vendor == "postgresql":
        # The GIN index over data::jsonb (the field filters') refuses text that is not JSON;
        # only someone who drops the index can store such a block.
        with pytest.raises(DataError):
            tamper(*edit)
        tamper("DROP INDEX ledger_block_data_gin")
    tamper(*edit)

    assert_detected_at(MIDDLE, "format", "hash_mismatch", audit=audit)


def test_an_edited_hash_also_breaks_the_next_link(ten, tamper, audit) -> None:
    tamper('UPDATE ledger_block SET hash = %s WHERE "index" = %s', ["0" * 64, MIDDLE])

    assert_detected_at(MIDDLE + 1, "broken_link", audit=audit)


def test_it_detects_a_renumbered_block(ten, tamper, audit) -> None:
    tamper('UPDATE ledger_block SET "index" = 50 WHERE "index" = %s', [MIDDLE])

    status, output = verify()
    assert status == 1
    assert "block 5 is missing before block 6" in output
    assert "block 50" in output
    # The export stops at the head: the audit sees the gap (block 50 is not exported).
    assert_audit_finds(audit, MIDDLE + 1, "gap")


def test_it_detects_a_deleted_middle_block(ten, tamper, audit) -> None:
    tamper('DELETE FROM ledger_block WHERE "index" = %s', [MIDDLE])

    assert_detected_at(MIDDLE + 1, "gap", "broken_link", audit=audit)


def test_it_detects_a_forged_block_appended_without_the_key(ten, tamper, audit) -> None:
    last = Block.objects.get(index=10)
    timestamp = crypto.format_timestamp(crypto.datetime.now(crypto.UTC))
    data = crypto.canonical_json({"type": "test", "n": "forged"})
    forged_hash = crypto.block_hash(11, timestamp, data, last.hash)
    tamper(
        'INSERT INTO ledger_block ("index", timestamp, data, prev_hash, hash, signature, key_id,'
        " type, subject) VALUES (11, %s, %s, %s, %s, %s, %s, 'test', '')",
        [timestamp, data, last.hash, forged_hash, crypto.sign(b"guessed key", forged_hash), "k1"],
    )

    status, output = verify()
    assert status == 1
    assert "block 11 lies beyond the chain head" in output

    tamper(  # cover it up
        "UPDATE ledger_chainhead SET size = 12, hash = %s, timestamp = %s",
        [forged_hash, timestamp],
    )
    assert_detected_at(11, "bad_signature", audit=audit)
    # Without the HMAC key an auditor cannot tell: the forged block hashes and links.
    status, report = audit(keys=False)
    assert status == 0 and report["signatures_checked"] is False
    assert any("signatures were not checked" in note for note in report["notes"])


def test_it_detects_a_forged_block_inserted_in_the_middle(ten, tamper, audit) -> None:
    tamper('UPDATE ledger_block SET "index" = "index" + 100 WHERE "index" > %s', [MIDDLE])
    tamper('UPDATE ledger_block SET "index" = "index" - 99 WHERE "index" > 100')
    data = crypto.canonical_json({"type": "test", "n": "inserted"})
    before = Block.objects.get(index=MIDDLE)
    timestamp = before.timestamp
    forged_hash = crypto.block_hash(MIDDLE + 1, timestamp, data, before.hash)
    tamper(
        'INSERT INTO ledger_block ("index", timestamp, data, prev_hash, hash, signature, key_id,'
        " type, subject) VALUES (%s, %s, %s, %s, %s, %s, 'k1', 'test', '')",
        [MIDDLE + 1, timestamp, data, "1" * 64, forged_hash, "2" * 64],
    )

    assert_detected_at(MIDDLE + 1, "hash_mismatch", "bad_signature", audit=audit)
    assert_detected_at(MIDDLE + 2, "hash_mismatch", "broken_link", audit=audit)


def test_it_detects_two_swapped_blocks(ten, tamper, audit) -> None:
    tamper('UPDATE ledger_block SET "index" = 1000 WHERE "index" = 4')
    tamper('UPDATE ledger_block SET "index" = 4 WHERE "index" = 5')
    tamper('UPDATE ledger_block SET "index" = 5 WHERE "index" = 1000')

    assert_detected_at(4, "hash_mismatch", "broken_link", audit=audit)
    assert_detected_at(5, "hash_mismatch", "broken_link", audit=audit)


def test_it_detects_a_chain_verified_with_the_wrong_key(ten, settings, audit) -> None:
    settings.LEDGER_HMAC_KEYS = {settings.LEDGER_SIGNING_KEY_ID: "not the key that signed"}

    report = chain_verify()

    assert report.problem_count == 11
    assert {p.code for p in report.problems} == {"bad_signature"}
    assert verify()[0] == 1
    status, audited = audit()
    assert status == 1 and audited["problem_count"] == 11
    assert {p["code"] for p in audited["problems"]} == {"bad_signature"}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("size = 10", "block 10 lies beyond the chain head"),
        ("size = 12", "head says the chain has 12 blocks, but the last one is block 10"),
        ("hash = '" + "e" * 64 + "'", "head hash differs from the last block's hash"),
    ],
)
def test_it_detects_an_edited_head_row(ten, tamper, audit, assignment, message) -> None:
    tamper(f"UPDATE ledger_chainhead SET {assignment}")

    status, output = verify()
    assert status == 1
    assert message in output
    # The export's trailer carries the head: the audit sees the same contradiction.
    status, report = audit()
    expected = {(p.index, p.code) for p in chain_verify().problems}
    assert status == 1 and {(p["index"], p["code"]) for p in report["problems"]} == expected


def test_it_detects_time_going_backwards_even_when_re_signed(ten, tamper, audit, settings) -> None:
    # Someone holding the key re-signs block 5 with an earlier time: only the order shows it.
    key = settings.LEDGER_HMAC_KEYS[settings.LEDGER_SIGNING_KEY_ID].encode()
    block = Block.objects.get(index=MIDDLE)
    earlier = "2000-01-01T00:00:00.000000+00:00"
    new_hash = crypto.block_hash(block.index, earlier, block.data, block.prev_hash)
    tamper(
        'UPDATE ledger_block SET timestamp = %s, hash = %s, signature = %s WHERE "index" = %s',
        [earlier, new_hash, crypto.sign(key, new_hash), MIDDLE],
    )

    assert_detected_at(MIDDLE, "timestamp_backwards", audit=audit)


def test_truncation_with_a_matching_head_is_beyond_what_a_chain_can_show(
    ten, tamper, audit
) -> None:
    # Threat 2 in DESIGN: deleting the newest blocks and moving the head back leaves a
    # valid, shorter chain. Only a checkpoint kept outside the database can tell.
    block_9 = Block.objects.get(index=9)
    tamper('DELETE FROM ledger_block WHERE "index" = 10')
    tamper(
        "UPDATE ledger_chainhead SET size = 10, hash = %s, timestamp = %s",
        [block_9.hash, block_9.timestamp],
    )

    assert verify()[0] == 0
    assert audit()[0] == 0


def test_an_incremental_run_checks_from_the_given_index(ten, tamper) -> None:
    tamper('UPDATE ledger_block SET signature = %s WHERE "index" = 2', ["0" * 64])

    late = chain_verify(from_index=6)
    early = chain_verify(from_index=3)

    assert late.valid and late.blocks == 6  # blocks 5..10: 5 anchors the link to 6
    assert not early.valid
    assert [p.index for p in early.problems] == [2]  # the anchor block itself is checked


def test_verification_reads_in_a_constant_number_of_queries(chain, django_assert_num_queries):
    chain(5)
    with django_assert_num_queries(4):  # the head, the archive's anchor, the blocks, past-head
        chain_verify(extra_checks=False)
    chain(300)
    with django_assert_num_queries(4):
        chain_verify(extra_checks=False)


def test_registered_extra_checks_report_through_the_same_report(ten) -> None:
    def status_replay(report: Report) -> None:
        report.add(None, "resident_status", "resident 7 is IN but the ledger says OUT")

    registry.register(checks=[status_replay])
    try:
        report = chain_verify()
        assert not report.valid
        assert report.problems[-1].code == "resident_status"
        assert chain_verify(extra_checks=False).valid
    finally:
        registry.unregister_check(status_replay)
    assert chain_verify().valid


# --- The pure checker on rows in memory -----------------------------------------------------


def _rows(chain_length: int = 8) -> list[tuple]:
    return list(Block.objects.order_by("index").values_list(*ROW_FIELDS)[:chain_length])


def _check(rows: list[tuple], keys, expected_index: int = 0) -> Report:
    report = Report()
    ChainChecker(
        keys, report, subject_keys=registry.subject_keys(), expected_index=expected_index
    ).check(rows)
    return report


def test_the_checker_reports_duplicates_and_gaps(ten, settings) -> None:
    keys = {k: v.encode() for k, v in settings.LEDGER_HMAC_KEYS.items()}
    rows = _rows()

    duplicated = _check([*rows[:4], rows[3], *rows[4:]], keys)
    gapped = _check([*rows[:3], *rows[6:]], keys)

    assert ("duplicate", 3) in {(p.code, p.index) for p in duplicated.problems}
    assert any(p.code == "gap" and "blocks 3..5 are missing" in p.message for p in gapped.problems)


@pytest.mark.django_db
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_character_change_to_any_stored_field_is_detected(chain, data) -> None:
    if not Block.objects.exists():
        chain(6)
    from django.conf import settings as django_settings

    keys = {k: v.encode() for k, v in django_settings.LEDGER_HMAC_KEYS.items()}
    rows = _rows()
    assert _check(rows, keys).valid

    row_number = data.draw(st.integers(0, len(rows) - 1), label="block")
    column = data.draw(st.integers(0, len(ROW_FIELDS) - 1), label="field")
    original = str(rows[row_number][column])
    if original:
        position = data.draw(st.integers(0, len(original) - 1), label="position")
        replacement = data.draw(
            st.characters(codec="utf-8").filter(lambda c: c != original[position]), label="char"
        )
        changed = original[:position] + replacement + original[position + 1 :]
    else:  # an empty field (no subject): the one-character change is a character added
        changed = data.draw(st.characters(codec="utf-8"), label="char")
    if column == 0:  # index is an integer column: the change must still be a number
        if not (changed.isascii() and changed.isdigit()):
            return
        changed = int(changed)
    tampered = list(rows)
    tampered[row_number] = (*rows[row_number][:column], changed, *rows[row_number][column + 1 :])

    assert not _check(tampered, keys).valid, (ROW_FIELDS[column], original, changed)


def test_problem_lists_are_capped_but_counted(ten, settings) -> None:
    settings.LEDGER_HMAC_KEYS = {settings.LEDGER_SIGNING_KEY_ID: "wrong"}
    from ledger import verification

    original = verification.MAX_PROBLEMS_KEPT
    verification.MAX_PROBLEMS_KEPT = 3
    try:
        report = chain_verify()
    finally:
        verification.MAX_PROBLEMS_KEPT = original
    assert report.problem_count == 11
    assert len(report.problems) == 3
    assert json.loads(json.dumps(report.as_dict()))["problem_count"] == 11


def test_it_detects_a_head_timestamp_pushed_into_the_future(ten, tamper) -> None:
    tamper("UPDATE ledger_chainhead SET timestamp = %s", ["9999-12-31T23:59:59.999999+00:00"])

    codes = {p.code for p in chain_verify().problems}

    assert {"head_mismatch", "timestamp_future"} <= codes
