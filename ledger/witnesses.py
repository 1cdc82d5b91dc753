"""Asking witnesses to cosign checkpoints, checking their cosignatures, finding split views.

The client side of the protocol that ledger.witness serves (its docstring has the wire
format). Pure: standard library, cryptography and the ledger's pure modules, no Django, so
an auditor can check cosignatures and look for split views with this module alone.

A cosignature says "witness W saw, at `timestamp`, the tree of `size` blocks with this root
and head hash, and it extends every tree W cosigned before". Two checkpoints signed by the
log key for one size with different roots are a split view: the hostel showed two histories.
"""

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import HEX64, TIMESTAMP, canonical_json, checkpoint_signature_valid

COSIGNED = "hostel-ledger-witness/1"
MAX_RESPONSE = 1024 * 1024


class WitnessError(Exception):
    """A witness could not be reached, refused, or answered something unusable."""

    def __init__(self, code: str, message: str, *, latest: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.latest = latest  # the witness's own latest checkpoint, when it sent one


def cosignature_message(checkpoint: Mapping[str, Any], cosignature: Mapping[str, Any]) -> bytes:
    """The bytes a witness signs: who, when, and the checkpoint's tree statement."""
    return canonical_json(
        {
            "cosigned": COSIGNED,
            "witness": cosignature["witness"],
            "timestamp": cosignature["timestamp"],
            "chain": checkpoint["chain"],
            "size": checkpoint["size"],
            "head_hash": checkpoint["head_hash"],
            "tree_root": checkpoint["tree_root"],
        }
    ).encode()


def cosignature_valid(
    checkpoint: Mapping[str, Any], cosignature: Mapping[str, Any], public_key_b64: str
) -> bool:
    """True when ``cosignature`` is that key's well-formed signature over ``checkpoint``."""
    try:
        if not isinstance(cosignature["witness"], str):
            return False
        if not TIMESTAMP.fullmatch(cosignature["timestamp"]):
            return False
        size = checkpoint["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return False
        if not (
            HEX64.fullmatch(checkpoint["head_hash"]) and HEX64.fullmatch(checkpoint["tree_root"])
        ):
            return False
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        signature = base64.b64decode(cosignature["signature"], validate=True)
        public.verify(signature, cosignature_message(checkpoint, cosignature))
    except (KeyError, TypeError, ValueError, InvalidSignature):
        return False
    return True


def witness_latest(url: str, *, timeout: float = 10) -> dict[str, Any] | None:
    """The last checkpoint the witness at ``url`` cosigned, or None when it has none yet."""
    latest = _describe(url, timeout)["latest"]
    return latest if isinstance(latest, dict) else None


def witness_submit(
    url: str,
    checkpoint: Mapping[str, Any],
    proof_from: Callable[[int], list[bytes]],
    *,
    timeout: float = 10,
) -> dict[str, Any]:
    """Have the witness at ``url`` cosign ``checkpoint``; its checked cosignature.

    ``proof_from(old_size)`` is the RFC 9162 consistency proof from the tree of ``old_size``
    blocks to the checkpoint's; it is asked for only when the witness has seen a smaller tree.
    """
    described = _describe(url, timeout)
    latest = described["latest"]
    old_size = latest.get("size") if isinstance(latest, dict) else None
    proof: list[bytes] = []
    if isinstance(old_size, int) and 0 < old_size < checkpoint["size"]:
        proof = proof_from(old_size)
    answer = _exchange(
        url, {"checkpoint": dict(checkpoint), "proof": [p.hex() for p in proof]}, timeout
    )
    cosignature = answer.get("cosignature")
    if not isinstance(cosignature, dict):
        raise WitnessError("bad_response", f"witness {url} answered without a cosignature")
    if cosignature.get("public_key") != described["public_key"] or not cosignature_valid(
        checkpoint, cosignature, described["public_key"]
    ):
        raise WitnessError(
            "bad_cosignature",
            f"witness {url} answered a cosignature its key {described['public_key']} did not make",
        )
    return cosignature


def split_views(
    checkpoints: Iterable[Mapping[str, Any]], witness_keys: Mapping[str, str], log_key: str
) -> list[tuple[int, str]]:
    """(size, message) for each size with two log-signed checkpoints that disagree.

    Checkpoints not signed by ``log_key`` are ignored; a cosignature counts when it is valid
    for the key ``witness_keys`` gives its witness's name. Sorted by size.
    """
    versions: dict[int, dict[tuple[str, str], set[str]]] = {}
    for checkpoint in checkpoints:
        if not checkpoint_signature_valid(checkpoint, log_key):
            continue
        version = (checkpoint["head_hash"], checkpoint.get("tree_root", ""))
        names = versions.setdefault(checkpoint["size"], {}).setdefault(version, set())
        names |= _cosigners(checkpoint, witness_keys)
    found = []
    for size, seen in sorted(versions.items()):
        heads = {head for head, _ in seen}
        roots = {root for _, root in seen if root}
        if len(heads) < 2 and len(roots) < 2:
            continue
        described = "; ".join(
            f"head_hash {head} tree_root {root or '(none)'} cosigned by "
            + (", ".join(sorted(names)) or "no known witness")
            for (head, root), names in sorted(seen.items())
        )
        found.append((size, f"{len(seen)} different checkpoints of size {size}: {described}"))
    return found


def _cosigners(checkpoint: Mapping[str, Any], witness_keys: Mapping[str, str]) -> set[str]:
    cosignatures = checkpoint.get("cosignatures")
    if not isinstance(cosignatures, list):
        return set()
    names: set[str] = set()
    for cosignature in cosignatures:
        name = cosignature.get("witness") if isinstance(cosignature, dict) else None
        key = witness_keys.get(name) if isinstance(name, str) else None
        if key is not None and cosignature_valid(checkpoint, cosignature, key):
            names.add(str(name))
    return names


def _describe(url: str, timeout: float) -> dict[str, Any]:
    described = _exchange(url, None, timeout)
    if not isinstance(described.get("public_key"), str) or "latest" not in described:
        raise WitnessError("bad_response", f"{url} does not describe itself as a witness")
    return described


def _exchange(url: str, payload: Mapping[str, Any] | None, timeout: float) -> dict[str, Any]:
    """GET (no payload) or POST ``url``; the JSON object it answers, or WitnessError."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise WitnessError("bad_url", f"a witness URL must be http(s)://…, not {url!r}")
    headers = {"Accept": "application/json"}
    data = None
    if payload is not None:
        data = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_RESPONSE)
    except urllib.error.HTTPError as error:
        raise _refusal(url, error) from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise WitnessError("timeout", f"witness {url} did not answer in {timeout} s") from error
        raise WitnessError("unreachable", f"cannot reach witness {url}: {error.reason}") from error
    except TimeoutError as error:
        raise WitnessError("timeout", f"witness {url} did not answer in {timeout} s") from error
    except (OSError, http.client.HTTPException) as error:
        raise WitnessError("unreachable", f"witness {url} broke off: {error!r}") from error
    answer = _json_object(body)
    if answer is None:
        raise WitnessError("bad_response", f"witness {url} did not answer a JSON object")
    return answer


def _refusal(url: str, error: urllib.error.HTTPError) -> WitnessError:
    try:
        answer = _json_object(error.read(MAX_RESPONSE)) or {}
    except OSError:
        answer = {}
    code = answer.get("error")
    message = answer.get("message")
    latest = answer.get("latest")
    return WitnessError(
        code if isinstance(code, str) else f"http_{error.code}",
        f"witness {url} refused (HTTP {error.code}): "
        + (message if isinstance(message, str) else str(error.reason)),
        latest=latest if isinstance(latest, dict) else None,
    )


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
