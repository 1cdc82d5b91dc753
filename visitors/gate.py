"""A visitor's day pass read by the gate's camera: the visitor is let out. Registered with
residents.scan_hooks, so the gate's scan API answers a day pass without residents knowing
visitors."""

import uuid
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from residents.models import Gate
from residents.scan_api import block_proof
from visitors import passes, services


def read(token: str, by: Any, gate: Gate, scan_id: uuid.UUID | None) -> dict[str, Any] | None:
    """The scan API's answer to a visitor's day pass, or None for any other code."""
    claim = passes.visitor_pass_claim(token)
    if claim is None:
        return None
    if not by.has_perm("visitors.change_visitor"):
        raise PermissionDenied
    visitor, block, replayed = services.visitor_pass_check_out(
        claim=claim, by=by, gate=gate, scan_id=scan_id
    )
    host = visitor.host
    notes = [{"level": "info", "message": f"Visitor of {host.name} (room {host.room}): let out."}]
    let_out = timezone.localdate(datetime.fromisoformat(block.timestamp))
    if claim.day < let_out:
        notes.append(
            {
                "level": "warning",
                "message": f"Their day pass was for {claim.day:%a %d %b}: they stayed past "
                "midnight.",
            }
        )
    return {
        "event": {
            "type": "visitor_out",
            "visitor_id": str(visitor.pk),
            "name": visitor.name,
            "room": "",
            "status": "OUT",
            "mode": "qr",
            "gate": block.payload.get("gate", gate.slug),
            "by": block.payload.get("by", ""),
            "at": block.timestamp,
            "photo_url": reverse("visitors:photo", args=[visitor.pk]) if visitor.photo else None,
        },
        "block": block_proof(block),
        "notes": notes,
        "replayed": replayed,
        "distance": None,
        "similarity": None,
        "frame": None,
    }
