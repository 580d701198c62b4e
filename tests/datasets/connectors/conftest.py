"""``source``: the same connector test on every engine (the source fixtures live in tests/datasets/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.datasets.conftest import SourceDatabase

ENGINES = ["sqlite", "postgresql", "mysql"]


@pytest.fixture(params=ENGINES)
def source(request: pytest.FixtureRequest) -> SourceDatabase:
    """A source database on each engine in turn."""
    found: Any = request.getfixturevalue(f"{request.param}_source")
    return found
