"""The layers point one way: the project's shared helpers import no app, the ledger never
imports or names residents, and every domain error code has its HTTP status."""

import ast
import re
from pathlib import Path

import pytest
from rest_framework.test import APIRequestFactory

from hostel.api import ERROR_STATUS, exception_handler
from hostel.errors import DomainError

ROOT = Path(__file__).resolve().parent.parent
APPS = ("ledger", "residents")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def from_apps(modules: set[str], apps: tuple[str, ...]) -> set[str]:
    return {name for name in modules if name.split(".")[0] in apps}


@pytest.mark.parametrize("module", ["api.py", "errors.py", "pagination.py"])
def test_the_project_s_shared_helpers_import_no_app(module) -> None:
    assert from_apps(imported_modules(ROOT / "hostel" / module), APPS) == set()


def test_the_ledger_never_imports_residents() -> None:
    for path in (ROOT / "ledger").rglob("*.py"):
        assert from_apps(imported_modules(path), ("residents",)) == set(), path


def test_the_ledger_s_code_and_pages_name_no_resident_field() -> None:
    words = re.compile(r"resident_id|resident_name|\broom\b|\.gate\b|\"gate\"")
    paths = [*(ROOT / "ledger").rglob("*.py"), *(ROOT / "templates" / "ledger").glob("*.html")]
    for path in paths:
        if "migrations" not in path.parts:
            assert not words.search(path.read_text()), path


def test_the_biometrics_and_pure_modules_import_no_django() -> None:
    pure = [
        "residents/biometrics/face.py",
        "residents/biometrics/voice.py",
        "residents/biometrics/liveness.py",
        "hostel/errors.py",
    ]
    for module in pure:
        assert not {m for m in imported_modules(ROOT / module) if m.startswith("django")}


def raised_codes() -> set[str]:
    """Every code the apps raise a domain error with, read from the source."""
    pattern = re.compile(
        r"(?:ScanRefused|ResidentError|UploadError|LedgerError|FaceError|VoiceError|LivenessError)"
        r"\(\s*\"(\w+)\""
    )
    codes = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            codes |= set(pattern.findall(path.read_text()))
    return codes


def test_every_domain_error_code_has_its_status_in_the_one_table() -> None:
    codes = raised_codes()
    assert {"revoked_pass", "no_face", "silence", "invalid_event", "inactive"} <= codes
    assert codes - set(ERROR_STATUS) == set()


def test_a_domain_error_becomes_the_error_envelope_with_the_table_s_status() -> None:
    request = APIRequestFactory().post("/api/scan")

    known = exception_handler(DomainError("anti_passback", "Already IN."), {"request": request})
    unknown = exception_handler(DomainError("something_new", "No."), {"request": request})

    assert known is not None and known.status_code == 409
    assert known.data == {"error": {"code": "anti_passback", "message": "Already IN."}}
    assert unknown is not None and unknown.status_code == 400
