"""Library test fixtures: a library root of the test's own, and real WebDAV and S3 servers on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def local_library_root(settings: Any, tmp_path: Path) -> Path:
    """INFORMER_LIBRARY_ROOT in a folder of this test's own (created, empty)."""
    root = tmp_path / "library-root"
    root.mkdir()
    settings.INFORMER_LIBRARY_ROOT = root
    return root
