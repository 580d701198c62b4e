"""Refreshes from PostgreSQL and MariaDB sources: typed cells, and a source that dies mid-refresh."""

from __future__ import annotations

from typing import Any

import pytest

from datasets.connectors.base import ConnectorError
from datasets.models import Dataset, DatasetRow, Generation
from datasets.services import refresh as refresh_services
from datasets.services.refresh import dataset_refresh
from tests.datasets.conftest import SourceDatabase
from tests.datasets.factories import DatasetFactory, datasource_from_config

EXPECTED_CELLS = [
    [1, "West", 10.5, "2024-01-02", "2024-01-02T08:30:00Z", True, None],
    [2, "East", 3, "2024-02-29", "2024-02-29T23:00:00Z", False, "note"],
]


def _dataset(source: SourceDatabase, query: str) -> Dataset:
    datasource = datasource_from_config(source.config)
    return DatasetFactory(owner=datasource.owner, datasource=datasource, query=query)


def _cells(dataset: Dataset) -> list[Any]:
    dataset.refresh_from_db()
    rows = DatasetRow.objects.filter(generation_id=dataset.current_generation_id).order_by("position")
    return list(rows.values_list("cells", flat=True))


def test_refresh_from_postgresql_keeps_types(db: Any, postgresql_source: SourceDatabase) -> None:
    # given
    postgresql_source.execute(
        "CREATE TABLE sales (id integer, region text, amount numeric(10, 2), sold_on date, sold_at timestamptz,"
        " paid boolean, note text);"
        "INSERT INTO sales VALUES (1, 'West', 10.50, '2024-01-02', '2024-01-02 09:30:00+01', true, NULL),"
        " (2, 'East', 3.00, '2024-02-29', '2024-02-29 23:00:00+00', false, 'note');"
    )
    dataset = _dataset(postgresql_source, "SELECT * FROM sales ORDER BY id")

    # when
    result = dataset_refresh(dataset=dataset)

    # then
    assert result.records == 2
    assert _cells(dataset) == EXPECTED_CELLS
    assert [(field["name"], field["dataType"]) for field in dataset.fields] == [
        ("id", "integer"),
        ("region", "string"),
        ("amount", "number"),
        ("sold_on", "date"),
        ("sold_at", "datetime"),
        ("paid", "boolean"),
        ("note", "string"),
    ]


def test_refresh_from_mysql_keeps_types(db: Any, mysql_source: SourceDatabase) -> None:
    # given
    mysql_source.execute(
        "CREATE TABLE sales (id int, region varchar(20), amount decimal(10, 2), sold_on date, sold_at datetime,"
        " paid boolean, note text);"
        "INSERT INTO sales VALUES (1, 'West', 10.50, '2024-01-02', '2024-01-02 08:30:00', true, NULL),"
        " (2, 'East', 3.00, '2024-02-29', '2024-02-29 23:00:00', false, 'note');"
    )
    dataset = _dataset(mysql_source, "SELECT * FROM sales ORDER BY id")

    # when
    result = dataset_refresh(dataset=dataset)

    # then: MariaDB's datetime has no zone, and its boolean is a tinyint
    assert result.records == 2
    cells = _cells(dataset)
    assert [row[:4] for row in cells] == [row[:4] for row in EXPECTED_CELLS]
    assert [row[4] for row in cells] == ["2024-01-02T08:30:00", "2024-02-29T23:00:00"]
    assert [row[5:] for row in cells] == [[1, None], [0, "note"]]


def test_source_killed_mid_refresh_leaves_the_previous_generation(
    db: Any, postgresql_source: SourceDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a stored generation, and a refresh streaming in batches of 100 rows
    postgresql_source.execute("CREATE TABLE numbers AS SELECT n FROM generate_series(1, 1000) AS n;")
    dataset = _dataset(postgresql_source, "SELECT n FROM numbers ORDER BY n")
    dataset_refresh(dataset=dataset)
    dataset.refresh_from_db()
    current, before = dataset.current_generation_id, _cells(dataset)
    postgresql_source.execute("UPDATE numbers SET n = -n;")
    monkeypatch.setattr(refresh_services, "BATCH_ROWS", 100)
    database = postgresql_source.config.database

    def kill_the_source(rows: int) -> None:
        # The source's backend dies after the first batch was stored.
        postgresql_source.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid();"
        )

    # when
    with pytest.raises(ConnectorError) as raised:
        dataset_refresh(dataset=dataset, progress=kill_the_source)

    # then
    assert "terminat" in raised.value.message.lower() or "connection" in raised.value.message.lower()
    dataset.refresh_from_db()
    assert (dataset.current_generation_id, dataset.records, dataset.refresh_started_at) == (current, 1000, None)
    assert list(Generation.objects.values_list("pk", flat=True)) == [current]
    assert DatasetRow.objects.count() == 1000
    assert _cells(dataset) == before
