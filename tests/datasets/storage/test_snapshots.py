"""Snapshots: O(1) pins on a generation, restore, delete, and cleanup by count and age."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets.models import Dataset, DatasetRow, Generation, Snapshot
from datasets.services.refresh import RefreshInProgress
from datasets.services.snapshots import snapshot_cleanup, snapshot_create, snapshot_delete, snapshot_restore
from informer.api.exceptions import DomainError
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation

FIELDS = fields_of(("id", "integer"))
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def dataset(db: Any) -> Dataset:
    return DatasetFactory(name="Sales")


def test_snapshot_is_o1(dataset: Dataset) -> None:
    # given: one dataset of 1 row, one of 3,000
    small = stored_generation(dataset, FIELDS, [(1,)])
    big_dataset = DatasetFactory()
    big = stored_generation(big_dataset, FIELDS, [(index,) for index in range(3000)])

    owner, big_owner = dataset.owner, big_dataset.owner

    # when
    with CaptureQueriesContext(connection) as small_queries:
        first = snapshot_create(dataset=dataset, name="Before", note="why", user=owner)
    with CaptureQueriesContext(connection) as big_queries:
        second = snapshot_create(dataset=big_dataset, trigger="job", user=big_owner)

    # then: the same few statements, no row copied
    assert len(small_queries) == len(big_queries) <= 5
    assert (first.generation_id, first.name, first.note, first.trigger, first.created_by) == (
        small.pk,
        "Before",
        "why",
        "manual",
        dataset.owner,
    )
    assert second.generation_id == big.pk
    assert DatasetRow.objects.count() == 3001


def test_snapshot_of_a_dataset_never_refreshed(dataset: Dataset) -> None:
    with pytest.raises(DomainError) as raised:
        snapshot_create(dataset=dataset)

    assert raised.value.message == "The dataset has never been refreshed: there are no rows to take a snapshot of."
    assert Snapshot.objects.count() == 0


def test_snapshot_keeps_its_rows_after_a_refresh_and_restores(dataset: Dataset) -> None:
    # given: a snapshot, then new rows made current (the old generation no longer current)
    old = stored_generation(dataset, FIELDS, [(1,), (2,)])
    snapshot = snapshot_create(dataset=dataset)
    new = stored_generation(dataset, fields_of(("id", "integer"), ("extra", "string")), [(3, "x")])

    # when
    restored = snapshot_restore(snapshot=snapshot)

    # then
    assert (restored.current_generation_id, restored.records, restored.fields) == (old.pk, 2, FIELDS)
    assert restored.data_updated_at == old.completed_at
    assert restored.refresh_started_at is None
    assert not Generation.objects.filter(pk=new.pk).exists()  # unreferenced now: collected
    assert DatasetRow.objects.filter(generation_id=new.pk).count() == 0
    assert DatasetRow.objects.filter(generation_id=old.pk).count() == 2


def test_restore_while_refreshing_is_a_409(dataset: Dataset) -> None:
    stored_generation(dataset, FIELDS, [(1,)])
    snapshot = snapshot_create(dataset=dataset)
    stored_generation(dataset, FIELDS, [(2,)])
    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=timezone.now())
    before = Dataset.objects.filter(pk=dataset.pk).values().get()

    with pytest.raises(RefreshInProgress):
        snapshot_restore(snapshot=snapshot)

    assert Dataset.objects.filter(pk=dataset.pk).values().get() == before


def test_snapshot_delete_collects_its_generation_unless_current(dataset: Dataset) -> None:
    # given: a snapshot of the current generation and one of an older generation
    old = stored_generation(dataset, FIELDS, [(1,)])
    of_old = snapshot_create(dataset=dataset)
    current = stored_generation(dataset, FIELDS, [(2,)])
    of_current = snapshot_create(dataset=dataset)

    # when
    snapshot_delete(snapshot=of_current)
    snapshot_delete(snapshot=of_old)

    # then
    assert list(Generation.objects.values_list("pk", flat=True)) == [current.pk]
    assert DatasetRow.objects.filter(generation_id=old.pk).count() == 0
    assert Snapshot.objects.count() == 0


def _snapshots_at(dataset: Dataset, *moments: dt.datetime, trigger: str = "job") -> list[Snapshot]:
    made = []
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            made.append(snapshot_create(dataset=dataset, trigger=trigger, name=moment.date().isoformat()))
    return made


@pytest.mark.parametrize(
    ("keep", "max_age_days", "left"),
    [
        (2, None, ["05-31", "05-30"]),
        (None, 10, ["05-31", "05-30", "05-22"]),  # 05-22 12:00 is exactly 10 days old: kept
        (1, 10, ["05-31", "05-30", "05-22"]),  # beyond the newest one AND older than 10 days
        (4, 1, ["05-31", "05-30", "05-22", "05-01"]),
        (0, None, []),
        (None, 0, []),
    ],
)
def test_cleanup_keep_and_max_age(
    dataset: Dataset, keep: int | None, max_age_days: int | None, left: list[str]
) -> None:
    # given: job snapshots of different ages, and a manual one that is old
    stored_generation(dataset, FIELDS, [(1,)])
    days = [
        dt.datetime(2024, month, day, 12, tzinfo=dt.UTC) for month, day in ((5, 31), (5, 30), (5, 22), (5, 1), (4, 1))
    ]
    _snapshots_at(dataset, *days)
    manual = _snapshots_at(dataset, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), trigger="manual")[0]
    other = DatasetFactory()
    stored_generation(other, FIELDS, [(1,)])
    _snapshots_at(other, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))

    # when
    with time_machine.travel(NOW, tick=False):
        deleted = snapshot_cleanup(datasets=[dataset], keep=keep, max_age_days=max_age_days)

    # then
    remaining = Snapshot.objects.filter(dataset=dataset).exclude(pk=manual.pk).order_by("-created_at")
    assert [snapshot.name[5:] for snapshot in remaining] == left
    assert deleted == 5 - len(left)
    assert Snapshot.objects.filter(pk=manual.pk).exists()
    assert Snapshot.objects.filter(dataset=other).count() == 1


def test_cleanup_includes_manual_when_asked(dataset: Dataset) -> None:
    # given: a pinned older generation, only reachable through the manual snapshot
    old = stored_generation(dataset, FIELDS, [(1,)])
    _snapshots_at(dataset, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), trigger="manual")
    stored_generation(dataset, FIELDS, [(2,)])
    _snapshots_at(dataset, dt.datetime(2024, 5, 1, tzinfo=dt.UTC), trigger="api")

    # when
    deleted = snapshot_cleanup(datasets=Dataset.objects.all(), keep=1, max_age_days=None, include_manual=True, now=NOW)

    # then: the older one went, with its generation's rows
    assert deleted == 1
    assert list(Snapshot.objects.values_list("trigger", flat=True)) == ["api"]
    assert not Generation.objects.filter(pk=old.pk).exists()
    assert DatasetRow.objects.filter(generation_id=old.pk).count() == 0


@pytest.mark.parametrize(
    ("keep", "max_age_days", "field", "message"),
    [
        (None, None, "keep", "keep: give keep, maxAgeDays or both."),
        (-1, None, "keep", "keep: must be a whole number of 0 or more."),
        (None, "7", "maxAgeDays", "maxAgeDays: must be a whole number of 0 or more."),
    ],
)
def test_cleanup_rules_are_checked(dataset: Dataset, keep: Any, max_age_days: Any, field: str, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        snapshot_cleanup(datasets=[dataset], keep=keep, max_age_days=max_age_days)

    assert raised.value.details == {field: [message]}
