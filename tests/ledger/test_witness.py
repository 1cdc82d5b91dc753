"""Witnesses over real HTTP on loopback: the server (ledger.witness) in a thread and as the
`python -m ledger.witness` process an auditor runs, and its client (ledger.witnesses).
No database: the checkpoints are signed over made-up block hashes."""

import ast
import base64
import hashlib
import http.client
import json
import select
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import crypto, merkle, witness
from ledger.witnesses import (
    WitnessError,
    cosignature_valid,
    split_views,
    witness_latest,
    witness_submit,
)

ROOT = Path(__file__).resolve().parents[2]
HASHES = tuple(hashlib.sha256(str(i).encode()).hexdigest() for i in range(20))
# Another history: the same first four blocks, then different ones.
FORK = HASHES[:4] + tuple(hashlib.sha256(f"fork {i}".encode()).hexdigest() for i in range(4, 20))


def leaves(hashes: Sequence[str]) -> list[bytes]:
    return [merkle.block_leaf(block_hash) for block_hash in hashes]


def proofs(size: int, hashes: Sequence[str] = HASHES) -> Callable[[int], list[bytes]]:
    """proof_from for a chain of ``size`` blocks of ``hashes``."""
    perfect = merkle.perfect_from_leaves(leaves(hashes[:size]))
    return lambda old_size: merkle.consistency_proof(old_size, size, perfect)


@dataclass(frozen=True)
class Log:
    private: Ed25519PrivateKey
    public: str

    def checkpoint(self, size: int, hashes: Sequence[str] = HASHES) -> dict[str, Any]:
        return crypto.checkpoint_sign(
            self.private,
            size=size,
            head_hash=hashes[size - 1],
            tree_root=merkle.root(leaves(hashes[:size])).hex(),
            created=crypto.format_timestamp(datetime.now(UTC)),
        )


def new_log() -> Log:
    pem, public = crypto.checkpoint_keygen()
    return Log(crypto.load_private_key(pem), public)


Spawner = Callable[[Path, Path], tuple[str, "subprocess.Popen[str]"]]


@dataclass(frozen=True)
class Running:
    url: str
    public_key: str


@pytest.fixture
def log() -> Log:
    return new_log()


@pytest.fixture
def start_witness(tmp_path: Path, log: Log) -> Iterator[Callable[..., Running]]:
    """Starts witnesses in threads of this process; state files in tmp_path."""
    servers: list[witness.WitnessServer] = []

    def start(name: str = "university-it", state: Path | None = None) -> Running:
        private = crypto.load_private_key(crypto.checkpoint_keygen()[0])
        state = state or tmp_path / f"{name}.json"
        server = witness.WitnessServer(
            ("127.0.0.1", 0), witness.Witness(name, private, log.public, state)
        )
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return Running(f"http://127.0.0.1:{server.server_address[1]}/", server.witness.public_key)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def spawn_witness(tmp_path: Path, log: Log) -> Iterator[Spawner]:
    """Starts `python -m ledger.witness serve` processes: their URL and process."""
    processes: list[subprocess.Popen[str]] = []
    stderr = (tmp_path / "witness.stderr").open("w")

    def spawn(key: Path, state: Path) -> tuple[str, subprocess.Popen[str]]:
        command = ["serve", "--name", "parents", "--key", str(key), "--log-key", log.public]
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.witness", *command, "--state", str(state)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        assert select.select([process.stdout], [], [], 15)[0], "the witness printed no URL"
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "witness.stderr").read_text()
        return url, process

    yield spawn
    for process in processes:
        process.kill()
        process.communicate()
    stderr.close()


def witness_key_file(path: Path) -> Path:
    path.write_bytes(crypto.checkpoint_keygen()[0])
    return path


def post(url: str, body: bytes | None) -> tuple[int, Any]:
    """A raw request: POST ``body`` (None: no Content-Length at all); status and JSON answer."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    if body is None:
        connection.putrequest("POST", parts.path)
        connection.endheaders()
    else:
        connection.request("POST", parts.path, body=body)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def refusal(call: Callable[[], object]) -> WitnessError:
    with pytest.raises(WitnessError) as caught:
        call()
    return caught.value


def test_keygen_writes_a_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "witness.pem"
    command = [sys.executable, "-m", "ledger.witness", "keygen", "--out", str(out)]

    made = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert made.stdout.strip() == crypto.public_key_b64(crypto.load_private_key(out.read_bytes()))
    assert again.returncode != 0 and "exists" in again.stderr
    assert made.stdout.strip() == crypto.public_key_b64(crypto.load_private_key(out.read_bytes()))


def test_a_first_checkpoint_is_cosigned_and_becomes_the_witness_s_latest(
    tmp_path: Path, log: Log, spawn_witness: Spawner
) -> None:
    key = witness_key_file(tmp_path / "parents.pem")
    url, _ = spawn_witness(key, tmp_path / "state.json")
    checkpoint = log.checkpoint(5)

    assert witness_latest(url) is None
    cosignature = witness_submit(url, checkpoint, proofs(5))

    public = crypto.public_key_b64(crypto.load_private_key(key.read_bytes()))
    assert cosignature["witness"] == "parents" and cosignature["public_key"] == public
    assert cosignature_valid(checkpoint, cosignature, public)
    assert witness_latest(url) == checkpoint


def test_growing_checkpoints_are_cosigned_with_consistency_proofs(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    running = start_witness()

    for size in (1, 2, 3, 5, 8, 13, 20):
        checkpoint = log.checkpoint(size)
        cosignature = witness_submit(running.url, checkpoint, proofs(size))
        assert cosignature_valid(checkpoint, cosignature, running.public_key)
        assert witness_latest(running.url) == checkpoint

    again = witness_submit(running.url, checkpoint, proofs(20))  # the same one: idempotent
    assert cosignature_valid(checkpoint, again, running.public_key)
    assert witness_latest(running.url) == checkpoint


def test_it_refuses_a_checkpoint_older_than_its_latest(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    witness_submit(url, log.checkpoint(8), proofs(8))

    error = refusal(lambda: witness_submit(url, log.checkpoint(5), proofs(5)))

    assert error.code == "older_than_seen"
    assert error.latest is not None and error.latest["size"] == 8


def test_it_refuses_a_split_view_and_answers_its_own_version(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    shown = log.checkpoint(6)
    witness_submit(url, shown, proofs(6))

    error = refusal(lambda: witness_submit(url, log.checkpoint(6, FORK), proofs(6, FORK)))

    assert error.code == "split_view" and "size 6" in str(error)
    assert error.latest == shown
    assert witness_latest(url) == shown


def test_it_refuses_a_bigger_checkpoint_that_does_not_extend_its_latest(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    five, bigger = log.checkpoint(5), log.checkpoint(9)
    witness_submit(url, five, proofs(5))

    right = proofs(9)(5)
    flipped = [bytes([right[0][0] ^ 1]) + right[0][1:], *right[1:]]
    from_another_size = proofs(9)(4)

    for wrong in (flipped, [], from_another_size, right[:-1]):
        with pytest.raises(WitnessError) as caught:
            witness_submit(url, bigger, dict.fromkeys([5], wrong).__getitem__)
        assert caught.value.code == "inconsistent" and caught.value.latest is not None
    other_history = refusal(lambda: witness_submit(url, log.checkpoint(9, FORK), proofs(9, FORK)))
    assert other_history.code == "inconsistent"
    assert witness_latest(url) == five
    witness_submit(url, bigger, proofs(9))
    assert witness_latest(url) == bigger


def test_it_refuses_a_checkpoint_not_signed_by_the_log_key(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    altered = log.checkpoint(5) | {"size": 6, "tree_root": log.checkpoint(6)["tree_root"]}

    for checkpoint in (new_log().checkpoint(5), altered):
        with pytest.raises(WitnessError) as caught:
            witness_submit(url, checkpoint, proofs(6))
        assert caught.value.code == "bad_signature" and "HTTP 403" in str(caught.value)
    assert witness_latest(url) is None


def test_it_refuses_malformed_submissions_and_keeps_its_state(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    statement = {"chain": "hostel-ledger", "size": 2, "head_hash": HASHES[1], "created": "x"}
    signature = log.private.sign(crypto.checkpoint_message(statement))
    no_root = statement | {"signature": base64.b64encode(signature).decode()}
    good = log.checkpoint(3)

    def submission(checkpoint: object, proof: object = ()) -> bytes:
        return json.dumps({"checkpoint": checkpoint, "proof": proof}).encode()

    cases = [
        (b"<html>not json</html>", 400, "bad_json"),
        (b"[1, 2]", 400, "bad_request"),
        (submission(good, ["not hex"]), 400, "bad_request"),
        (submission(good | {"size": True}), 400, "bad_checkpoint"),
        (submission(no_root), 400, "no_tree_root"),
        (submission(good, ["00" * 32] * 2100), 413, "too_large"),
        (None, 411, "length_required"),
    ]
    for body, status, code in cases:
        answered, answer = post(url, body)
        assert (answered, answer["error"]) == (status, code)
        assert answer["message"] and "Traceback" not in answer["message"]
    assert post(url + "elsewhere", submission(good))[0] == 404
    assert refusal(lambda: witness_latest(url + "elsewhere")).code == "not_found"
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=5)
    connection.request("PUT", "/")
    response = connection.getresponse()
    assert response.status == 501 and json.loads(response.read())["error"] == "not_implemented"
    assert witness_latest(url) is None


def test_its_latest_survives_a_restart(tmp_path: Path, log: Log, spawn_witness: Spawner) -> None:
    key, state = witness_key_file(tmp_path / "parents.pem"), tmp_path / "state.json"
    seven = log.checkpoint(7)
    url, first = spawn_witness(key, state)
    witness_submit(url, seven, proofs(7))
    first.kill()  # no clean shutdown: what it answered must already be on disk
    first.wait()

    url, _ = spawn_witness(key, state)

    assert witness_latest(url) == seven
    older = refusal(lambda: witness_submit(url, log.checkpoint(4), proofs(4)))
    forked = refusal(lambda: witness_submit(url, log.checkpoint(7, FORK), proofs(7, FORK)))
    assert (older.code, forked.code) == ("older_than_seen", "split_view")
    witness_submit(url, log.checkpoint(9), proofs(9))


def test_concurrent_submissions_of_two_histories_are_cosigned_for_one_only(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    url = start_witness().url
    versions = [log.checkpoint(6, HASHES if i % 2 else FORK) for i in range(16)]
    answers: list[tuple[int, Any]] = []

    def send(checkpoint: dict[str, Any]) -> None:
        answers.append(post(url, json.dumps({"checkpoint": checkpoint, "proof": []}).encode()))

    threads = [threading.Thread(target=send, args=(version,)) for version in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    kept = witness_latest(url)
    assert kept is not None and len(answers) == 16
    for status, answer in answers:
        assert status in (200, 409)
        if status == 409:
            assert answer["error"] == "split_view" and answer["latest"] == kept
    # Every version with the kept root was cosigned, every other one refused.
    assert sum(status == 200 for status, _ in answers) == sum(
        v["tree_root"] == kept["tree_root"] for v in versions
    )


def test_an_unexpected_failure_is_a_json_500_and_changes_nothing(
    tmp_path: Path, log: Log, start_witness: Callable[..., Running], capsys: Any
) -> None:
    (tmp_path / "gone").mkdir()
    url = start_witness(state=tmp_path / "gone" / "state.json").url
    shutil.rmtree(tmp_path / "gone")  # it cannot write its state any more

    error = refusal(lambda: witness_submit(url, log.checkpoint(3), proofs(3)))

    assert error.code == "internal" and "Traceback" not in str(error)
    assert "Traceback" in capsys.readouterr().err
    assert witness_latest(url) is None


def test_a_cosignature_with_a_flipped_byte_is_invalid(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    running = start_witness()
    checkpoint = log.checkpoint(4)
    cosignature = witness_submit(running.url, checkpoint, proofs(4))
    raw = bytearray(base64.b64decode(cosignature["signature"]))
    raw[10] ^= 0x01
    flipped = cosignature | {"signature": base64.b64encode(raw).decode()}

    assert cosignature_valid(checkpoint, cosignature, running.public_key)
    assert not cosignature_valid(checkpoint, flipped, running.public_key)
    assert not cosignature_valid(checkpoint, cosignature | {"witness": "x"}, running.public_key)
    assert not cosignature_valid(log.checkpoint(5, FORK), cosignature, running.public_key)
    assert not cosignature_valid(checkpoint, cosignature, new_log().public)
    for bad in (None, {}, "x", cosignature | {"signature": "%%%"}):
        assert not cosignature_valid(checkpoint, bad, running.public_key)  # type: ignore[arg-type]
    assert not cosignature_valid({"size": 4}, cosignature, running.public_key)


def split_world(
    log: Log, start_witness: Callable[..., Running]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The hostel shows one history to the university and another to the parents."""
    university, parents = start_witness("university-it"), start_witness("parents")
    shown = log.checkpoint(6) | {"cosignatures": []}
    forked = log.checkpoint(6, FORK) | {"cosignatures": []}
    shown["cosignatures"].append(witness_submit(university.url, shown, proofs(6)))
    forked["cosignatures"].append(witness_submit(parents.url, forked, proofs(6, FORK)))
    keys = {"university-it": university.public_key, "parents": parents.public_key}
    return [shown, forked], keys


def test_split_views_names_the_witnesses_that_cosigned_each_root(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    checkpoints, keys = split_world(log, start_witness)
    consistent = [log.checkpoint(size) for size in (3, 6, 9)] + [checkpoints[0]]

    found = split_views([*consistent, checkpoints[1]], keys, log.public)

    assert [size for size, _ in found] == [6]
    message = found[0][1]
    for checkpoint, name in zip(checkpoints, ("university-it", "parents"), strict=True):
        assert f"tree_root {checkpoint['tree_root']} cosigned by {name}" in message
    assert split_views(consistent, keys, log.public) == []
    assert split_views(reversed([*consistent, checkpoints[1]]), keys, log.public) == found


def test_a_cosignature_by_an_unknown_witness_does_not_count(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    checkpoints, keys = split_world(log, start_witness)
    impostor = dict(checkpoints[1]["cosignatures"][0], witness="university-it")
    checkpoints[1]["cosignatures"].append(impostor)

    found = split_views(checkpoints, {"university-it": keys["university-it"]}, log.public)

    shown, forked = (checkpoint["tree_root"] for checkpoint in checkpoints)
    assert f"tree_root {shown} cosigned by university-it" in found[0][1]
    assert f"tree_root {forked} cosigned by no known witness" in found[0][1]
    assert split_views([checkpoints[0], new_log().checkpoint(6, FORK)], keys, log.public) == []


@contextmanager
def answering(get: bytes, post: bytes = b"") -> Iterator[str]:
    """A server that is no witness: it answers every GET and POST with fixed bytes."""

    class Fixed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(get)))
            self.end_headers()
            self.wfile.write(get)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(post)))
            self.end_headers()
            self.wfile.write(post)

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Fixed) as server:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


def test_the_client_refuses_a_cosignature_the_witness_s_key_did_not_make(
    log: Log, start_witness: Callable[..., Running]
) -> None:
    real = start_witness()
    checkpoint = log.checkpoint(3)
    cosignature = witness_submit(real.url, checkpoint, proofs(3))
    claimed_key = new_log().public  # the impostor states a key it does not hold
    described = {"witness": "university-it", "public_key": claimed_key, "latest": None}

    for forged in (cosignature, cosignature | {"public_key": claimed_key}):
        answer = json.dumps({"cosignature": forged}).encode()
        with answering(json.dumps(described).encode(), answer) as url:
            error = refusal(lambda: witness_submit(url, checkpoint, proofs(3)))
        assert error.code == "bad_cosignature"


def test_the_client_says_why_it_cannot_use_a_witness(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        timeout = refusal(lambda: witness_latest(silent_url, timeout=0.3))

    with answering(b"<html>a web page</html>") as url:
        page = refusal(lambda: witness_latest(url))

    assert refusal(lambda: witness_latest(f"http://127.0.0.1:{port}/")).code == "unreachable"
    assert timeout.code == "timeout"
    assert page.code == "bad_response"
    assert refusal(lambda: witness_latest(f"file://{tmp_path}")).code == "bad_url"


def test_the_witness_and_its_client_import_no_django() -> None:
    for module in ("witness.py", "witnesses.py"):
        tree = ast.parse((ROOT / "ledger" / module).read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not {name for name in imported if name.split(".")[0] in ("django", "rest_framework")}
        assert {name for name in imported if name.startswith("ledger.")} <= {
            "ledger.crypto",
            "ledger.files",
            "ledger.merkle",
            "ledger.witnesses",
        }
