"""Deep sorted pages: planned without index scans on PostgreSQL, with the same rows as through the index."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from datasets import data, sort_indexes
from datasets.data import data_page
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(("id", "integer"), ("region", "string"), ("amount", "number"))
ROWS = [(number, ("west", "East", None, "north")[number % 4], (number * 37) % 11 or None) for number in range(40)]
SORTS = ["amount", "-amount", "region", "-region", "id", "-id"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def generation(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sort_indexes, "MIN_ROWS", 0)  # the sort index is built for these few rows too
    return stored_generation(DatasetFactory(), FIELDS, ROWS)


def _ids(generation: Any, **options: Any) -> list[int]:
    items, _ = data_page(generation_id=generation.pk, fields=FIELDS, **options)
    return [item["id"] for item in items]


@pytest.mark.parametrize("sort", SORTS)
def test_a_deep_page_has_the_rows_the_index_gives(generation, monkeypatch, sort):
    # given: the pages through the sort index
    shallow = [_ids(generation, sort=sort, start=start, limit=7) for start in (0, 7, 14, 21, 28, 35)]

    # when: every page from offset 1 on counts as deep
    monkeypatch.setattr(data, "DEEP_SORTED_START", 1)
    deep = [_ids(generation, sort=sort, start=start, limit=7) for start in (0, 7, 14, 21, 28, 35)]

    # then
    assert deep == shallow
    assert sorted(id_ for page in deep for id_ in page) == list(range(40))


def test_a_deep_page_is_planned_without_index_scans_on_postgresql_alone(generation, monkeypatch):
    monkeypatch.setattr(data, "DEEP_SORTED_START", 1)
    seen: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    # when
    with connection.execute_wrapper(record):
        _ids(generation, sort="-amount", start=10, limit=5)

    # then: on PostgreSQL set for the page's own read only; SQLite has no such settings and gets none
    if connection.vendor != "postgresql":
        assert not [sql for sql in seen if "enable_indexscan" in sql]
        return
    assert "SET LOCAL enable_indexscan = off" in seen
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone() == ("on",)
