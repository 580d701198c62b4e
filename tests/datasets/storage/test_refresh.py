"""Refreshing a dataset from a real SQLite source: generations swapped in whole, failures leaving the old rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from datasets import storage
from datasets.connectors.base import ConnectorError
from datasets.models import Dataset, DatasetRow, Generation, GenerationStatus
from datasets.services import refresh as refresh_services
from datasets.services.refresh import (
    RefreshCancelled,
    RefreshInProgress,
    dataset_clear,
    dataset_refresh,
    dataset_run,
)
from informer.api.exceptions import DomainError
from tests.datasets.conftest import SourceDatabase
from tests.datasets.factories import DatasetFactory, datasource_from_config

SALES = """
CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, amount REAL, sold_on TEXT);
INSERT INTO sales VALUES (1, 'West', 10.5, '2024-01-02'), (2, 'East', 2, '2024-01-03'),
    (3, 'West', 7.25, '2024-02-01'), (4, 'North', NULL, '2024-02-10'), (5, 'East', 100, '2024-03-01');
"""
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def source(sqlite_source: SourceDatabase) -> SourceDatabase:
    sqlite_source.execute(SALES)
    return sqlite_source


@pytest.fixture
def dataset(db: Any, source: SourceDatabase) -> Dataset:
    datasource = datasource_from_config(source.config)
    return DatasetFactory(
        owner=datasource.owner, datasource=datasource, name="Sales", query="SELECT * FROM sales ORDER BY id"
    )


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh_services, "BATCH_ROWS", 2)


def _stored(dataset: Dataset) -> list[Any]:
    dataset.refresh_from_db()
    return list(
        DatasetRow.objects.filter(generation_id=dataset.current_generation_id)
        .order_by("position")
        .values_list("cells", flat=True)
    )


def _state(dataset: Dataset) -> dict[str, Any]:
    """Everything a failed refresh must leave as it was."""
    row = Dataset.objects.filter(pk=dataset.pk).values().get()
    row.pop("updated_at")
    return {
        "dataset": row,
        "generations": list(Generation.objects.order_by("pk").values_list("pk", "status", "records")),
        "rows": list(DatasetRow.objects.order_by("generation_id", "position").values_list("generation_id", "cells")),
    }


def test_first_refresh_stores_rows_and_fields(dataset: Dataset) -> None:
    # when
    with time_machine.travel(NOW, tick=False):
        result = dataset_refresh(dataset=dataset)

    # then
    assert (result.id, result.records, result.previous_record_count) == (dataset.pk, 5, 0)
    assert result.fields_added == ["id", "region", "amount", "sold_on"] and result.fields_updated == []
    assert (result.truncated, result.success, result.data_updated_at) == (False, True, NOW)
    assert result.as_json()["dataUpdatedAt"] == "2024-06-01T12:00:00Z"
    assert _stored(dataset) == [
        [1, "West", 10.5, "2024-01-02"],
        [2, "East", 2.0, "2024-01-03"],
        [3, "West", 7.25, "2024-02-01"],
        [4, "North", None, "2024-02-10"],
        [5, "East", 100.0, "2024-03-01"],
    ]
    assert [(field["name"], field["label"], field["dataType"]) for field in dataset.fields] == [
        ("id", "Id", "integer"),
        ("region", "Region", "string"),
        ("amount", "Amount", "number"),
        ("sold_on", "Sold on", "string"),
    ]
    assert (dataset.records, dataset.truncated, dataset.data_updated_at, dataset.refresh_started_at) == (
        5,
        False,
        NOW,
        None,
    )
    assert dataset.size == sum(len(text) for text in ('[1,"West",10.5,"2024-01-02"]',)) + sum(
        len(text)
        for text in (
            '[2,"East",2.0,"2024-01-03"]',
            '[3,"West",7.25,"2024-02-01"]',
            '[4,"North",null,"2024-02-10"]',
            '[5,"East",100.0,"2024-03-01"]',
        )
    )
    generation = Generation.objects.get()
    assert (generation.status, generation.records, generation.fields) == (GenerationStatus.READY, 5, dataset.fields)


def test_second_refresh_reports_field_changes_and_collects_the_old_generation(
    dataset: Dataset, source: SourceDatabase
) -> None:
    # given: a first refresh, then the source changes shape
    first = dataset_refresh(dataset=dataset)
    source.execute("UPDATE sales SET id = id * 1; ")
    Dataset.objects.filter(pk=dataset.pk).update(
        query="SELECT id, CAST(amount AS TEXT) AS amount, 1 AS flag FROM sales"
    )
    dataset.refresh_from_db()

    # when
    second = dataset_refresh(dataset=dataset)

    # then
    assert (second.records, second.previous_record_count) == (5, 5)
    assert second.fields_added == ["flag"] and second.fields_updated == ["amount"]
    assert list(Generation.objects.values_list("pk", flat=True)) == [second.generation_id]
    assert first.generation_id != second.generation_id
    assert DatasetRow.objects.filter(generation_id=first.generation_id).count() == 0
    assert _stored(dataset)[0] == [1, "10.5", 1]


def test_readers_see_the_old_rows_until_the_refresh_completes(
    dataset: Dataset, source: SourceDatabase, small_batches: None
) -> None:
    # given: a stored generation, then new rows at the source
    dataset_refresh(dataset=dataset)
    source.execute("DELETE FROM sales WHERE id > 1; UPDATE sales SET region = 'South';")
    source.execute("INSERT INTO sales VALUES (6, 'South', 1, '2024-04-01'), (7, 'South', 1, '2024-04-02');")
    seen: list[tuple[int, list[Any], int]] = []

    def progress(rows: int) -> None:
        # A reader in the middle of the refresh: the dataset's current rows are still the old ones.
        seen.append((rows, [cells[1] for cells in _stored(dataset)], Dataset.objects.get(pk=dataset.pk).records))

    # when
    result = dataset_refresh(dataset=dataset, progress=progress)

    # then
    assert seen == [
        (2, ["West", "East", "West", "North", "East"], 5),
        (3, ["West", "East", "West", "North", "East"], 5),
    ]
    assert result.records == 3
    assert [cells[1] for cells in _stored(dataset)] == ["South", "South", "South"]


def test_failure_mid_stream_leaves_the_old_generation(
    dataset: Dataset, source: SourceDatabase, small_batches: None
) -> None:
    # given: a stored generation, then a query SQLite fails on at its fourth row (an integer overflow)
    dataset_refresh(dataset=dataset)
    Dataset.objects.filter(pk=dataset.pk).update(
        query="SELECT id, CASE WHEN id > 3 THEN abs(-9223372036854775807 - 1) ELSE id END AS n FROM sales ORDER BY id"
    )
    dataset.refresh_from_db()
    before = _state(dataset)
    progressed: list[int] = []

    # when
    with pytest.raises(ConnectorError) as raised:
        dataset_refresh(dataset=dataset, progress=progressed.append)

    # then: rows were written before it failed, and they are gone
    assert raised.value.message == "integer overflow"
    assert progressed == [2]
    assert _state(dataset) == before


def test_failure_in_progress_callback_leaves_the_old_generation(dataset: Dataset, small_batches: None) -> None:
    dataset_refresh(dataset=dataset)
    before = _state(dataset)

    def progress(rows: int) -> None:
        raise RuntimeError("the run record could not be written")

    with pytest.raises(RuntimeError):
        dataset_refresh(dataset=dataset, progress=progress)

    assert _state(dataset) == before


def test_cancel_leaves_the_old_generation(dataset: Dataset, source: SourceDatabase, small_batches: None) -> None:
    # given
    dataset_refresh(dataset=dataset)
    source.execute("UPDATE sales SET region = 'Gone';")
    before = _state(dataset)
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) == 2

    # when
    with pytest.raises(RefreshCancelled) as raised:
        dataset_refresh(dataset=dataset, cancelled=cancelled)

    # then: it stopped after its second batch
    assert str(raised.value) == "The refresh was cancelled; the dataset keeps its previous rows."
    assert len(asked) == 2
    assert _state(dataset) == before


def test_second_refresh_while_one_runs_is_a_409(dataset: Dataset) -> None:
    # given: a refresh holds the claim
    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=timezone.now())
    before = _state(dataset)

    # when
    with pytest.raises(RefreshInProgress) as raised:
        dataset_refresh(dataset=dataset)

    # then
    assert raised.value.status_code == 409
    assert raised.value.message == "The dataset is being refreshed; try again once that refresh has finished."
    assert _state(dataset) == before


def test_refresh_inside_a_refresh_is_a_409(dataset: Dataset, small_batches: None) -> None:
    refused: list[str] = []

    def progress(rows: int) -> None:
        with pytest.raises(RefreshInProgress) as raised:
            dataset_refresh(dataset=Dataset.objects.get(pk=dataset.pk))
        refused.append(raised.value.message)

    result = dataset_refresh(dataset=dataset, progress=progress)

    assert result.records == 5 and len(refused) == 3


def test_stale_claim_is_taken_over(dataset: Dataset) -> None:
    # given: a claim older than a statement may run, left by a process that died
    stale = storage.claim_stale_before() - dt.timedelta(seconds=1)
    Dataset.objects.filter(pk=dataset.pk).update(refresh_started_at=stale)

    # when
    result = dataset_refresh(dataset=dataset)

    # then
    assert result.records == 5
    assert Dataset.objects.get(pk=dataset.pk).refresh_started_at is None


def test_claim_released_after_a_binding_error(dataset: Dataset) -> None:
    with pytest.raises(DomainError):
        dataset_refresh(dataset=dataset, params={"nope": 1})

    assert Dataset.objects.get(pk=dataset.pk).refresh_started_at is None
    assert Generation.objects.count() == 0


@pytest.mark.parametrize(
    ("max_rows", "records", "truncated"), [(3, 3, True), (4, 4, True), (5, 5, False), (9, 5, False)]
)
def test_row_cap_truncates(
    dataset: Dataset, settings: Any, small_batches: None, max_rows: int, records: int, truncated: bool
) -> None:
    settings.INFORMER_DATASET_MAX_ROWS = max_rows

    result = dataset_refresh(dataset=dataset)

    assert (result.records, result.truncated) == (records, truncated)
    assert [cells[0] for cells in _stored(dataset)] == list(range(1, records + 1))
    assert Dataset.objects.get(pk=dataset.pk).truncated is truncated


def test_byte_cap_truncates(dataset: Dataset, settings: Any, small_batches: None) -> None:
    # given: room for the first two rows and part of the third ('[1,"West",10.5,"2024-01-02"]' is 28 bytes)
    Dataset.objects.filter(pk=dataset.pk).update(query="SELECT id, region FROM sales ORDER BY id")
    dataset.refresh_from_db()
    settings.INFORMER_DATASET_MAX_BYTES = len('[1,"West"]') + len('[2,"East"]') + 5

    # when
    result = dataset_refresh(dataset=dataset)

    # then
    assert (result.records, result.truncated, result.size) == (2, True, 20)
    assert _stored(dataset) == [[1, "West"], [2, "East"]]


def test_params_are_bound_by_the_driver(dataset: Dataset) -> None:
    # given
    Dataset.objects.filter(pk=dataset.pk).update(
        query="SELECT id FROM sales WHERE region = :region AND id >= :first ORDER BY id",
        params=[
            {"name": "region", "type": "string", "default": "West", "required": False},
            {"name": "first", "type": "integer", "default": None, "required": True},
        ],
    )
    dataset.refresh_from_db()

    # when
    result = dataset_refresh(dataset=dataset, params={"region": "East' OR 1=1 --", "first": "1"})
    east = dataset_refresh(dataset=dataset, params={"region": "East", "first": 3})

    # then
    assert result.records == 0
    assert east.records == 1 and _stored(dataset) == [[5]]
    assert Generation.objects.get().params == {"region": "East", "first": 3}


def test_dataset_run_stores_nothing(dataset: Dataset) -> None:
    result = dataset_run(dataset=dataset, limit=2)

    assert result["records"] == 2 and result["success"] is True
    assert result["params"] == {}
    assert result["rows"] == [
        {"id": 1, "region": "West", "amount": 10.5, "sold_on": "2024-01-02"},
        {"id": 2, "region": "East", "amount": 2.0, "sold_on": "2024-01-03"},
    ]
    assert [field["dataType"] for field in result["fields"]] == ["integer", "string", "number", "string"]
    assert Generation.objects.count() == 0 and DatasetRow.objects.count() == 0


@pytest.mark.parametrize("limit", [0, 1001, "5", True])
def test_dataset_run_limit(dataset: Dataset, limit: Any) -> None:
    with pytest.raises(DomainError) as raised:
        dataset_run(dataset=dataset, limit=limit)

    assert raised.value.details == {"limit": ["limit: must be an integer from 1 to 1000."]}


def test_dataset_clear(dataset: Dataset) -> None:
    # given
    first = dataset_refresh(dataset=dataset)

    # when
    dataset_clear(dataset=dataset)

    # then
    dataset.refresh_from_db()
    assert (dataset.records, dataset.size, dataset.refresh_started_at) == (0, 0, None)
    assert [field["name"] for field in dataset.fields] == ["id", "region", "amount", "sold_on"]
    assert _stored(dataset) == []
    assert not Generation.objects.filter(pk=first.generation_id).exists()
    assert DatasetRow.objects.count() == 0
