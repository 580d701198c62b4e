"""Library lookups by natural id: a key holding NUL names no library (PostgreSQL refuses NUL in a query)."""

from __future__ import annotations

import pytest

from library.models import Library
from library.selectors import library_lookup
from tests.library.factories import LibraryFactory

pytestmark = pytest.mark.django_db


def test_a_natural_id_finds_its_library_and_one_holding_nul_finds_none():
    # given
    library = LibraryFactory()
    key = library.natural_id

    # then
    assert library_lookup(Library.objects.all(), key) == library
    assert library_lookup(Library.objects.all(), f"{key}\x00") is None
    assert library_lookup(Library.objects.all(), "\x00:x") is None
