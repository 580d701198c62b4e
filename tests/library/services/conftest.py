"""Fixtures of the sync and file services: a local library over a folder of this test's own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from library.models import Library, LibraryFile
from tests.library.factories import LibraryFactory

MTIME = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def write(path: Path, content: bytes, mtime: int = MTIME) -> Path:
    """Write ``content`` at ``path`` (folders created) with a known modification time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


@pytest.fixture
def folder(local_library_root: Path, media: Path) -> Path:
    """The library's folder ``docs`` under the library root (stored contents go to this test's media)."""
    path = local_library_root / "docs"
    path.mkdir()
    return path


@pytest.fixture
def library(owner: Any, folder: Path) -> Library:
    """The owner's local library "Docs" over ``folder``."""
    return LibraryFactory(owner=owner, name="Docs", slug="docs", settings={"path": "docs"})


def files_of(library: Library) -> dict[str, tuple[Any, ...]]:
    """Every row of ``library`` by path: (directory, size, sha256, parent's path, index status)."""
    rows = LibraryFile.objects.filter(library=library).select_related("parent")
    return {
        row.path: (row.directory, row.size, row.sha256, row.parent.path if row.parent else None, row.index_status)
        for row in rows
    }
