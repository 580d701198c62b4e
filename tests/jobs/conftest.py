"""Fixtures shared by the jobs tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobs.models import Job
from tests.factories import JobFactory


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """File storage in a directory of this test's own."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def job(owner: Any) -> Job:
    """The owner's job "Nightly" (modules that need more in it define their own)."""
    return JobFactory(owner=owner, name="Nightly", slug="nightly")
