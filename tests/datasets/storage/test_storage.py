"""Writing, deleting and collecting generations' rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from datasets import storage
from datasets.models import Dataset, DatasetRow, Generation, GenerationStatus, Snapshot
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(("id", "integer"), ("name", "string"))


def _rows(generation: Generation) -> list[tuple[int, Any]]:
    return list(DatasetRow.objects.filter(generation=generation).order_by("position").values_list("position", "cells"))


@pytest.fixture
def dataset(db: Any) -> Dataset:
    return DatasetFactory(name="Sales")


def test_rows_write_stores_cells_at_their_positions(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: batches smaller than the rows, so several INSERTs (or a COPY) make them
    monkeypatch.setattr(storage, "WRITE_BATCH", 2)
    generation = Generation.objects.create(dataset=dataset)

    # when
    storage.rows_write(generation_id=generation.pk, first_position=0, cells=['[1,"a"]', '[2,"b\\\\c\\t"]', "[3,null]"])
    storage.rows_write(generation_id=generation.pk, first_position=3, cells=['[4,"é"]'])
    storage.rows_write(generation_id=generation.pk, first_position=4, cells=[])

    # then
    assert _rows(generation) == [(0, [1, "a"]), (1, [2, "b\\c\t"]), (2, [3, None]), (3, [4, "é"])]


def test_generation_rows_delete_in_batches(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: two generations, deletion four positions at a time
    monkeypatch.setattr(storage, "DELETE_BATCH", 4)
    doomed = stored_generation(dataset, FIELDS, [(index, "x") for index in range(10)], current=False)
    kept = stored_generation(dataset, FIELDS, [(1, "y")])

    # when
    deleted = storage.generation_rows_delete(doomed.pk)

    # then
    assert deleted == 10
    assert _rows(doomed) == []
    assert _rows(kept) == [(0, [1, "y"])]
    assert storage.generation_rows_delete(doomed.pk) == 0


def test_generation_delete_removes_rows_then_generation(dataset: Dataset) -> None:
    generation = stored_generation(dataset, FIELDS, [(1, "a"), (2, "b")], current=False)

    assert storage.generation_delete(generation.pk) == 2

    assert not Generation.objects.filter(pk=generation.pk).exists()
    assert DatasetRow.objects.count() == 0


def test_generations_collect_keeps_current_pinned_and_building(dataset: Dataset) -> None:
    # given: one generation of each kind
    old = stored_generation(dataset, FIELDS, [(1, "old")], current=False)
    pinned = stored_generation(dataset, FIELDS, [(2, "pinned")], current=False)
    Snapshot.objects.create(dataset=dataset, generation=pinned, name="Keep")
    failed = stored_generation(dataset, FIELDS, [(3, "failed")], current=False)
    Generation.objects.filter(pk=failed.pk).update(status=GenerationStatus.FAILED)
    current = stored_generation(dataset, FIELDS, [(4, "current")])
    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=timezone.now())
    building = Generation.objects.create(dataset=dataset, status=GenerationStatus.BUILDING)
    storage.rows_write(generation_id=building.pk, first_position=0, cells=['[5,"building"]'])
    other = stored_generation(DatasetFactory(), FIELDS, [(6, "other dataset")], current=False)

    # when
    collected = storage.generations_collect(dataset_id=dataset.pk)

    # then
    assert collected == 2
    assert set(Generation.objects.values_list("pk", flat=True)) == {pinned.pk, current.pk, building.pk, other.pk}
    assert sorted(DatasetRow.objects.values_list("generation_id", flat=True)) == sorted(
        [pinned.pk, current.pk, building.pk, other.pk]
    )
    assert _rows(old) == [] and _rows(failed) == []


def test_generations_collect_takes_abandoned_building_generation(dataset: Dataset) -> None:
    # given: a refresh whose claim went stale (its process died) left a BUILDING generation behind
    stale = storage.claim_stale_before() - dt.timedelta(seconds=1)
    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=stale)
    building = Generation.objects.create(dataset=dataset, status=GenerationStatus.BUILDING)
    storage.rows_write(generation_id=building.pk, first_position=0, cells=['[1,"x"]'])
    other = stored_generation(DatasetFactory(), FIELDS, [(6, "other")], current=False)

    # when: every dataset's generations
    collected = storage.generations_collect()

    # then
    assert collected == 2
    assert not Generation.objects.filter(pk__in=[building.pk, other.pk]).exists()
    assert DatasetRow.objects.count() == 0


def test_dataset_rows_delete_all_then_delete_leaves_no_rows(dataset: Dataset) -> None:
    # given: current, pinned and old generations, and another dataset's rows
    pinned = stored_generation(dataset, FIELDS, [(1, "a"), (2, "b")], current=False)
    Snapshot.objects.create(dataset=dataset, generation=pinned)
    stored_generation(dataset, FIELDS, [(3, "c")])
    others = stored_generation(DatasetFactory(), FIELDS, [(4, "d")])

    # when
    deleted = storage.dataset_rows_delete_all(dataset.pk)
    dataset.delete()

    # then
    assert deleted == 3
    assert Snapshot.objects.count() == 0
    assert list(Generation.objects.values_list("pk", flat=True)) == [others.pk]
    assert _rows(others) == [(0, [4, "d"])]
    assert DatasetRow.objects.count() == 1
