"""Sort indexes: built on a generation's first sort by a field, reused, read by the plan, dropped with it."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.db import connection

from datasets import sort_indexes, storage
from datasets.data import Cell, _sortable_text, data_page
from datasets.models import Dataset, DatasetRow, Generation, GenerationStatus
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(
    ("id", "integer"),
    ("region", "string"),
    ("amount", "number"),
    ("sold_on", "date"),
    ("sold_at", "datetime"),
    ("paid", "boolean"),
)
ROWS = [
    (1, "west", 10, "2024-01-10", "2024-01-10T08:00:00Z", True),
    (2, "East", 2, "2023-12-31", "2024-01-10T07:59:59.500000Z", False),
    (3, "North", 2.5, "2024-02-01", "2024-01-09T23:00:00-02:00", None),
    (4, None, None, None, None, True),
    (5, "West 100%_", 100, "2024-01-02", "2024-03-01T00:00:00", False),
    (6, "east", 2, "2023-12-31", "2024-01-10T08:00:00Z", None),
    (7, "", -3, "2024-01-10", None, True),
    (8, None, None, None, "2024-01-10T08:00:00Z", False),
]
SORTS = ["id", "-id", "amount", "-amount", "region", "-region", "sold_on", "-sold_on", "sold_at", "-sold_at", "paid",
         "-paid"]  # fmt: skip
POSITION = {"id": 0, "region": 1, "amount": 2, "sold_on": 3, "sold_at": 4, "paid": 5}
KIND = {"id": "number", "region": "text", "amount": "number", "sold_on": "time", "sold_at": "time", "paid": "boolean"}


@pytest.fixture
def small_min_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sort_indexes, "MIN_ROWS", 0)


@pytest.fixture
def generation(db: Any, small_min_rows: None) -> Generation:
    return stored_generation(DatasetFactory(), FIELDS, ROWS)


def _ids(generation: Generation, **options: Any) -> list[int]:
    items, _ = data_page(generation_id=generation.pk, fields=FIELDS, **options)
    return [item["id"] for item in items]


def _name(generation: Generation, field: str) -> str:
    return sort_indexes.index_name(generation.pk, POSITION[field], KIND[field])


def _indexed(field: str) -> bool:
    return sort_indexes.indexable(KIND[field])


def test_first_sort_builds_the_index_and_the_next_reuses_it(generation: Generation) -> None:
    # given
    assert sort_indexes.generation_indexes(generation.pk) == []

    # when
    first = _ids(generation, sort="amount")
    second = _ids(generation, sort="-amount")

    # then
    assert first == [7, 2, 6, 3, 1, 5, 4, 8]
    assert second == [4, 8, 5, 1, 3, 2, 6, 7]
    assert sort_indexes.generation_indexes(generation.pk) == [f"dsrow_g{generation.pk}_f2_number"]


@pytest.mark.parametrize("sort", SORTS)
def test_sorted_pages_are_the_same_with_and_without_the_index(
    db: Any, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    # given: a generation too small to be indexed, and the same rows in one that is
    plain = stored_generation(DatasetFactory(), FIELDS, ROWS)
    expected = [_ids(plain, sort=sort, start=start, limit=3) for start in (0, 3, 6)]
    assert sort_indexes.generation_indexes(plain.pk) == []
    monkeypatch.setattr(sort_indexes, "MIN_ROWS", 0)
    indexed = stored_generation(DatasetFactory(), FIELDS, ROWS)

    # when
    pages = [_ids(indexed, sort=sort, start=start, limit=3) for start in (0, 3, 6)]

    # then
    assert pages == expected
    field = sort.lstrip("-")
    assert sort_indexes.generation_indexes(indexed.pk) == ([_name(indexed, field)] if _indexed(field) else [])


def test_sorts_with_q_and_filter_use_the_same_index(generation: Generation) -> None:
    assert _ids(generation, sort="-amount", q="e", filter={"amount": {"gte": 2}}) == [5, 1, 2, 6]
    assert sort_indexes.generation_indexes(generation.pk) == [f"dsrow_g{generation.pk}_f2_number"]


def test_a_generation_never_sorted_has_none(generation: Generation) -> None:
    # when
    _ids(generation, start=2, limit=2)
    _ids(generation, q="west")
    _ids(generation, filter={"amount": 2})

    # then
    assert sort_indexes.generation_indexes(generation.pk) == []


def test_no_index_for_a_small_or_unready_generation(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    small = stored_generation(DatasetFactory(), FIELDS, ROWS)
    failed = stored_generation(DatasetFactory(), FIELDS, ROWS, current=False)
    Generation.objects.filter(pk=failed.pk).update(status=GenerationStatus.FAILED)

    # when: below MIN_ROWS; then not READY
    _ids(small, sort="amount")
    monkeypatch.setattr(sort_indexes, "MIN_ROWS", 0)
    _ids(failed, sort="amount")

    # then
    assert sort_indexes.generation_indexes() == []


def test_at_most_the_cap_per_generation(generation: Generation, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setattr(sort_indexes, "MAX_PER_GENERATION", 2)

    # when
    for sort in ("amount", "region", "paid", "id"):
        _ids(generation, sort=sort)

    # then: the first two fields sorted
    assert sort_indexes.generation_indexes(generation.pk) == [
        f"dsrow_g{generation.pk}_f1_text",
        f"dsrow_g{generation.pk}_f2_number",
    ]
    assert _ids(generation, sort="paid") == [2, 5, 8, 1, 4, 7, 3, 6]


def test_indexes_go_with_their_generation(generation: Generation) -> None:
    # given: two generations of one dataset sorted, and one of another dataset
    dataset = Dataset.objects.get(pk=generation.dataset_id)
    _ids(generation, sort="amount")
    _ids(generation, sort="region")
    other = stored_generation(DatasetFactory(), FIELDS, ROWS)
    _ids(other, sort="amount")
    newer = stored_generation(dataset, FIELDS, ROWS)
    _ids(newer, sort="id")

    # when: the old generation is no longer current and is collected
    collected = storage.generations_collect(dataset_id=dataset.pk)

    # then
    assert collected == 1
    assert not Generation.objects.filter(pk=generation.pk).exists()
    assert sort_indexes.generation_indexes(generation.pk) == []
    assert sort_indexes.generation_indexes() == sorted([f"dsrow_g{other.pk}_f2_number", f"dsrow_g{newer.pk}_f0_number"])

    # when: a generation is deleted, and a dataset's rows with all its generations
    storage.generation_delete(other.pk)
    storage.dataset_rows_delete_all(dataset.pk)

    # then
    assert sort_indexes.generation_indexes() == []


def test_orphans_are_swept(generation: Generation) -> None:
    # given: an index whose generation went without it (a drop that timed out)
    _ids(generation, sort="amount")
    Generation.objects.filter(pk=generation.pk).update(status=GenerationStatus.FAILED)

    # when
    dropped = sort_indexes.drop_orphans()

    # then
    assert dropped == 1
    assert sort_indexes.generation_indexes() == []


def test_concurrent_first_sorts_do_not_fail(generation: Generation) -> None:
    # given: another request built the index between this one's look at the catalog and its CREATE
    real = sort_indexes.generation_indexes
    calls = []

    def stale(generation_id: int | None = None) -> list[str]:
        calls.append(generation_id)
        return [] if len(calls) == 1 else real(generation_id)

    _ids(generation, sort="amount")
    sort_indexes.generation_indexes = stale  # type: ignore[assignment]
    try:
        # when
        ids = _ids(generation, sort="amount")
    finally:
        sort_indexes.generation_indexes = real  # type: ignore[assignment]

    # then
    assert ids == [7, 2, 6, 3, 1, 5, 4, 8]
    assert real(generation.pk) == [f"dsrow_g{generation.pk}_f2_number"]


def _plan(generation: Generation, sort: str) -> str:
    field = sort.lstrip("-")
    key = _sortable_text(POSITION[field]) if KIND[field] == "text" else Cell(POSITION[field], KIND[field])
    order = key.desc(nulls_first=True) if sort.startswith("-") else key.asc(nulls_last=True)
    query = DatasetRow.objects.filter(generation_id=generation.pk).order_by(order, "position")[:100]
    return query.explain()


@pytest.mark.parametrize("sort", ["amount", "-amount", "region", "-region"])
def test_the_plan_reads_the_index(db: Any, small_min_rows: None, sort: str) -> None:
    # given: enough rows, in two generations, that a scan costs more than the index
    randomly = random.Random(7)
    choices = [None, *range(-500, 500)]
    rows = [
        (n, randomly.choice(["west", "East", None]), randomly.choice(choices), None, None, None) for n in range(20_000)
    ]
    stored_generation(DatasetFactory(), FIELDS, rows[:5000])
    generation = stored_generation(DatasetFactory(), FIELDS, rows)
    _ids(generation, sort=sort, limit=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE datasets_datasetrow")

    # when
    plan = _plan(generation, sort)

    # then
    name = _name(generation, sort.lstrip("-"))
    assert name in plan, plan
