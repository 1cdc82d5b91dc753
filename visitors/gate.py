"""A visitor's day pass read by the gate's camera: the visitor is let out. Registered with
residents.scan_hooks, so the gate's scan API answers a day pass without residents knowing
visitors."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from residents.models import Gate
from visitors import passes, services


def read(token: str, by: Any, gate: Gate) -> dict[str, Any] | None:
    """The scan API's answer to a visitor's day pass, or None for any other code."""
    claim = passes.visitor_pass_claim(token)
    if claim is None:
        return None
    if not by.has_perm("visitors.change_visitor"):
        raise PermissionDenied
    visitor, block = services.visitor_pass_check_out(claim=claim, by=by, gate=gate.slug)
    host = visitor.host
    return {
        "event": {
            "type": "visitor_out",
            "visitor_id": str(visitor.pk),
            "name": visitor.name,
            "room": "",
            "status": "OUT",
            "mode": "qr",
            "gate": gate.slug,
            "by": by.get_username(),
            "at": block.timestamp,
            "photo_url": reverse("visitors:photo", args=[visitor.pk]) if visitor.photo else None,
        },
        "block": {
            "index": block.index,
            "timestamp": block.timestamp,
            "hash": block.hash,
            "signature": block.signature,
            "key_id": block.key_id,
        },
        "notes": [
            {"level": "info", "message": f"Visitor of {host.name} (room {host.room}): let out."}
        ],
        "replayed": False,
        "distance": None,
        "similarity": None,
    }
