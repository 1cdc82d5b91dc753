"""Residents' files (photos, voice samples): written inside a transaction, kept only if it
commits. A refused or failed change leaves no file behind; a replaced file is removed only
once the change that replaced it has committed."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile


def file_store(field: FieldFile, content: bytes, extension: str) -> str:
    """Write ``content`` under a fresh random name into ``field``; returns the name."""
    field.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    return field.name or ""


@contextmanager
def files_kept_only_on_commit() -> Iterator[Callable[[str], None]]:
    """Collect the names of files written inside the block; delete them if it raises."""
    written: list[str] = []
    try:
        yield written.append
    except BaseException:
        files_delete(written)
        raise


def files_delete_on_commit(names: list[str]) -> None:
    """Delete files that the current transaction replaced, once (and if) it commits."""
    transaction.on_commit(lambda: files_delete(names))


def files_delete(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)
