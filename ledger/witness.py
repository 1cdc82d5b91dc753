"""A witness: a small server, run by someone other than the hostel, that cosigns checkpoints.

    python -m ledger.witness keygen --out witness.pem        # prints the public key (base64)
    python -m ledger.witness serve --name university-it --key witness.pem \\
        --log-key <hostel checkpoint public key> --state witness-state.json \\
        [--host 127.0.0.1] [--port 0]                         # prints http://HOST:PORT/

It cosigns a checkpoint only when the hostel's checkpoint key signed it and its tree extends
the last one it cosigned (an RFC 9162 consistency proof), so the hostel cannot show two
histories to two people without one witness refusing or two witnesses' cosignatures
contradicting each other (ledger.witnesses.split_views). Its first checkpoint is trusted on
first use. It vouches for the tree (size, tree_root); head_hash is bound by the log's signature
and must not change at a size it has seen. Needs no Django: the standard library,
cryptography and the ledger's pure modules.

Protocol, JSON over HTTP, UTF-8:

GET /   200 {"witness": NAME, "public_key": B64, "latest": CHECKPOINT | null}
        latest is the last checkpoint it cosigned, as it received it (statement fields,
        public_key, signature).

POST /  body {"checkpoint": CHECKPOINT, "proof": [HEX, ...]}, at most 64 KiB, with
        Content-Length. proof is the RFC 9162 consistency proof from the witness's latest size
        to the checkpoint's size, each node as 64 hex digits; [] when the witness has no latest
        or the sizes are equal (it is then ignored).
        200 {"cosignature": COSIGNATURE}: it cosigned, and stored the checkpoint as its latest
            when bigger (same checkpoint again: cosigned again).
        Refusals are {"error": CODE, "message": TEXT} plus "latest" for the 409s:
        400 bad_json        the body is not JSON
        400 bad_request     not {"checkpoint": {...}, "proof": [...]}, a proof node not 64 hex,
                            or a body shorter than its Content-Length
        400 bad_checkpoint  chain not "hostel-ledger", size not an integer >= 1, head_hash or
                            tree_root not 64 lowercase hex, signature not a string
        400 no_tree_root    a checkpoint without tree_root (made before the Merkle tree)
        403 bad_signature   not signed by the log key given with --log-key
        409 older_than_seen smaller than its latest
        409 split_view      the same size as its latest with another tree_root or head_hash
        409 inconsistent    bigger, and the proof does not prove it extends its latest
        411 length_required no Content-Length
        413 too_large       more than 64 KiB
        Any other path: 404 not_found; an unexpected failure: 500 internal (logged to stderr);
        other HTTP errors (501 not_implemented for other methods): JSON, the phrase as code.

COSIGNATURE = {"witness": NAME, "public_key": B64, "timestamp": RFC 3339 UTC with µs,
               "signature": B64}, the Ed25519 signature by the witness key over
    canonical_json({"cosigned": "hostel-ledger-witness/1", "witness", "timestamp", "chain",
                    "size", "head_hash", "tree_root"}).encode()   (ledger.witnesses)

State: one JSON file {"latest": CHECKPOINT | null}, replaced atomically (temporary file in the
same directory, fsync, os.replace, directory fsync) under one lock that serialises submissions.
"""

import argparse
import base64
import contextlib
import json
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.crypto import (
    CHECKPOINT_CHAIN,
    CHECKPOINT_FIELDS,
    HEX64,
    checkpoint_keygen,
    checkpoint_signature_valid,
    format_timestamp,
    load_private_key,
    public_key_b64,
    public_key_check,
)
from ledger.files import atomic_file
from ledger.witnesses import cosignature_message

MAX_BODY = 64 * 1024
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
STATUS = {
    "bad_json": 400,
    "bad_request": 400,
    "bad_checkpoint": 400,
    "no_tree_root": 400,
    "bad_signature": 403,
    "not_found": 404,
    "older_than_seen": 409,
    "split_view": 409,
    "inconsistent": 409,
    "length_required": 411,
    "too_large": 413,
    "internal": 500,
}


class Refused(Exception):
    def __init__(self, code: str, message: str, latest: dict[str, Any] | None = None):
        super().__init__(message)
        self.answer: dict[str, Any] = {"error": code, "message": message}
        if latest is not None:
            self.answer["latest"] = latest
        self.status = STATUS[code]


class Witness:
    """The witness's key, the log key it trusts, and its latest checkpoint (kept on disk)."""

    def __init__(self, name: str, private: Ed25519PrivateKey, log_key: str, state: Path):
        self.name = name
        self.private = private
        self.public_key = public_key_b64(private)
        self.log_key = log_key
        self.state = state
        self.lock = threading.Lock()
        self.latest = load_latest(state)

    def describe(self) -> dict[str, Any]:
        return {"witness": self.name, "public_key": self.public_key, "latest": self.latest}

    def submit(self, body: Any) -> dict[str, Any]:
        checkpoint, proof = parse_submission(body)
        if not checkpoint_signature_valid(checkpoint, self.log_key):
            raise Refused("bad_signature", "the checkpoint is not signed by the log key")
        with self.lock:
            latest = self.latest
            if latest is not None:
                check_extends(latest, checkpoint, proof)
            if latest is None or checkpoint["size"] > latest["size"]:
                save_latest(self.state, checkpoint)
                self.latest = checkpoint
        return {"cosignature": self.cosign(checkpoint)}

    def cosign(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        cosignature = {
            "witness": self.name,
            "public_key": self.public_key,
            "timestamp": format_timestamp(datetime.now(UTC)),
        }
        signature = self.private.sign(cosignature_message(checkpoint, cosignature))
        return {**cosignature, "signature": base64.b64encode(signature).decode()}


def parse_submission(body: Any) -> tuple[dict[str, Any], list[bytes]]:
    """The checkpoint (its signed fields only) and the proof, or Refused."""
    if not isinstance(body, dict) or not isinstance(body.get("checkpoint"), dict):
        raise Refused("bad_request", 'the body must be {"checkpoint": {...}, "proof": [...]}')
    proof = body.get("proof")
    if not isinstance(proof, list) or not all(
        isinstance(p, str) and HEX64.fullmatch(p) for p in proof
    ):
        raise Refused("bad_request", "proof must be a list of nodes, each 64 hex digits")
    given = body["checkpoint"]
    if "tree_root" not in given:
        raise Refused("no_tree_root", "the checkpoint has no tree_root: it cannot be proved")
    size = given.get("size")
    if (
        given.get("chain") != CHECKPOINT_CHAIN
        or not isinstance(size, int)
        or isinstance(size, bool)
        or size < 1
        or not all(isinstance(given.get(f), str) for f in ("head_hash", "tree_root", "signature"))
        or not (HEX64.fullmatch(given["head_hash"]) and HEX64.fullmatch(given["tree_root"]))
    ):
        raise Refused("bad_checkpoint", "the checkpoint is not a well-formed hostel checkpoint")
    kept = (*CHECKPOINT_FIELDS, "public_key", "signature")
    checkpoint = {name: given[name] for name in kept if name in given}
    return checkpoint, [bytes.fromhex(p) for p in proof]


def check_extends(
    latest: dict[str, Any], checkpoint: dict[str, Any], proof: Sequence[bytes]
) -> None:
    old, new = latest["size"], checkpoint["size"]
    if new < old:
        raise Refused(
            "older_than_seen", f"this witness has cosigned size {old}; {new} is older", latest
        )
    if new == old:
        if any(checkpoint[field] != latest[field] for field in ("tree_root", "head_hash")):
            raise Refused("split_view", f"this witness cosigned another tree of size {old}", latest)
        return
    old_root, new_root = bytes.fromhex(latest["tree_root"]), bytes.fromhex(checkpoint["tree_root"])
    if not merkle.verify_consistency(old, new, old_root, new_root, proof):
        raise Refused(
            "inconsistent", f"the proof does not show size {new} extends size {old}", latest
        )


def load_latest(state: Path) -> dict[str, Any] | None:
    """The stored latest checkpoint; ValueError when the file is not what save_latest wrote."""
    try:
        stored = json.loads(state.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ValueError(f"{state} is not a witness state file: {exc}") from exc
    if not isinstance(stored, dict) or "latest" not in stored:
        raise ValueError(f"{state} is not a witness state file")
    if stored["latest"] is None:
        return None
    try:
        latest, _ = parse_submission({"checkpoint": stored["latest"], "proof": []})
    except Refused as exc:
        raise ValueError(f"{state} holds a malformed checkpoint: {exc}") from exc
    return latest


def save_latest(state: Path, latest: dict[str, Any]) -> None:
    with atomic_file(state) as file:
        file.write(json.dumps({"latest": latest}, sort_keys=True).encode())


class WitnessServer(ThreadingHTTPServer):
    request_queue_size = 64  # socketserver's 5 resets a burst of clients

    def __init__(self, address: tuple[str, int], witness: Witness):
        super().__init__(address, Handler)
        self.witness = witness


class Handler(BaseHTTPRequestHandler):
    server_version = "hostel-witness/1"
    sys_version = ""
    timeout = 10  # seconds a client may stall before its connection is dropped

    @property
    def witness(self) -> Witness:
        return cast(WitnessServer, self.server).witness

    def do_GET(self) -> None:
        self.answer(self.witness.describe)

    def do_POST(self) -> None:
        self.answer(lambda: self.witness.submit(self.read_json()))

    def answer(self, compute: Callable[[], dict[str, Any]]) -> None:
        try:
            if urlsplit(self.path).path != "/":
                if self.command == "POST":
                    with contextlib.suppress(Refused):
                        self.read_json()  # read what came, so that the client reads the answer
                raise Refused("not_found", f"nothing at {self.path}; the witness is at /")
            status, payload = 200, compute()
        except Refused as refused:
            status, payload = refused.status, refused.answer
        except Exception:
            sys.stderr.write(
                f"witness: {self.command} {self.path} failed\n{traceback.format_exc()}"
            )
            failed = Refused("internal", "the witness failed; see its log")
            status, payload = failed.status, failed.answer
        self.send_json(status, payload)

    def read_json(self) -> Any:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise Refused("length_required", "a submission needs a Content-Length")
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            raise Refused("bad_request", f"bad Content-Length {length_header!r}")
        if length > MAX_BODY:
            self.close_connection = True
            with contextlib.suppress(OSError):  # read what came: the client reads the answer
                self.rfile.read(min(length, 16 * MAX_BODY))
            raise Refused("too_large", f"a submission is at most {MAX_BODY} bytes")
        try:
            body = self.rfile.read(length)
        except OSError:  # a timeout
            body = b""
        if len(body) != length:
            self.close_connection = True
            raise Refused("bad_request", "the body is shorter than its Content-Length")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise Refused("bad_json", f"the body is not JSON: {exc}") from exc

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        phrase = HTTPStatus(code).phrase
        self.send_json(
            code, {"error": phrase.lower().replace(" ", "_"), "message": message or phrase}
        )

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.witness",
        description="A witness that cosigns hostel ledger checkpoints.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make the witness's Ed25519 key")
    keygen.add_argument(
        "--out", required=True, type=Path, help="new file for the private key (0600)"
    )
    serve = commands.add_parser("serve", help="cosign checkpoints over HTTP")
    serve.add_argument("--name", required=True, help="the witness's name, e.g. university-it")
    serve.add_argument("--key", required=True, type=Path, help="the witness's private key (PEM)")
    serve.add_argument("--log-key", required=True, help="the hostel's checkpoint public key")
    serve.add_argument("--state", required=True, type=Path, help="where it keeps its latest")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", default=0, type=int, help="0 picks a free port")
    args = parser.parse_args(argv)

    if args.command == "keygen":
        pem, public = checkpoint_keygen()
        try:
            fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            kept = " (an existing key is kept)" if isinstance(exc, FileExistsError) else ""
            parser.error(f"cannot create {args.out}: {exc.strerror}{kept}")
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        print(public)
        return

    if not NAME.fullmatch(args.name):
        parser.error("--name: 1 to 64 letters, digits, '.', '_' or '-'")
    if not args.state.parent.is_dir():
        parser.error(f"--state: {args.state.parent} is not a directory")
    try:
        public_key_check(args.log_key)
        private = load_private_key(args.key.read_bytes())
        witness = Witness(args.name, private, args.log_key, args.state)
    except (OSError, TypeError, ValueError) as exc:  # TypeError: a PEM with a password
        parser.error(str(exc))
    try:
        server = WitnessServer((args.host, args.port), witness)
    except OSError as exc:  # the port is taken, or not ours to bind
        parser.error(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
    host, port = server.server_address[:2]
    print(f"http://{host!s}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
