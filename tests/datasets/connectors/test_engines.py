"""Every connector against its real engine: types, parameters, refused writes, timeouts, streaming, errors."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest

from datasets.connectors.base import Column, ConnectorError, QueryRefused
from datasets.connectors.registry import connector_for
from tests.datasets.conftest import SourceDatabase

CREATE_ITEMS = {
    "sqlite": """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, quantity INTEGER, price NUMERIC,
                            sold_on DATE, sold_at TIMESTAMP, active BOOLEAN, note TEXT);
        INSERT INTO items VALUES (1, 'Widget', 3, 9.5, '2024-01-31', '2024-01-31 12:30:00', 1, 'first'),
                                 (2, 'Gadget', 1, 12.25, '2024-02-29', '2024-02-29 23:59:59', 0, NULL),
                                 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    """,
    "postgresql": """
        CREATE TABLE items (id integer PRIMARY KEY, name text, quantity integer, price numeric(10, 2),
                            sold_on date, sold_at timestamp, active boolean, note text);
        INSERT INTO items VALUES (1, 'Widget', 3, 9.5, '2024-01-31', '2024-01-31 12:30:00', true, 'first'),
                                 (2, 'Gadget', 1, 12.25, '2024-02-29', '2024-02-29 23:59:59', false, NULL),
                                 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    """,
    "mysql": """
        CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(40), quantity INTEGER, price DECIMAL(10, 2),
                            sold_on DATE, sold_at DATETIME, active BOOLEAN, note TEXT);
        INSERT INTO items VALUES (1, 'Widget', 3, 9.5, '2024-01-31', '2024-01-31 12:30:00', true, 'first'),
                                 (2, 'Gadget', 1, 12.25, '2024-02-29', '2024-02-29 23:59:59', false, NULL),
                                 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    """,
}
NAMES = ["id", "name", "quantity", "price", "sold_on", "sold_at", "active", "note"]
# The types each driver reports for those columns (SQLite's sqlite3 reports none; MySQL's BOOLEAN is TINYINT).
COLUMN_TYPES: dict[str, list[str | None]] = {
    "sqlite": [None] * 8,
    "postgresql": ["integer", "string", "integer", "number", "date", "datetime", "boolean", "string"],
    "mysql": ["integer", "string", "integer", "number", "date", "datetime", "integer", "string"],
}
# The Python values each driver hands back.
ROWS = {
    "sqlite": [
        (1, "Widget", 3, 9.5, "2024-01-31", "2024-01-31 12:30:00", 1, "first"),
        (2, "Gadget", 1, 12.25, "2024-02-29", "2024-02-29 23:59:59", 0, None),
        (3, None, None, None, None, None, None, None),
    ],
    "postgresql": [
        (1, "Widget", 3, Decimal("9.50"), dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 12, 30), True, "first"),
        (2, "Gadget", 1, Decimal("12.25"), dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 59), False, None),
        (3, None, None, None, None, None, None, None),
    ],
    "mysql": [
        (1, "Widget", 3, Decimal("9.50"), dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 12, 30), 1, "first"),
        (2, "Gadget", 1, Decimal("12.25"), dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 59, 59), 0, None),
        (3, None, None, None, None, None, None, None),
    ],
}
SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
    "SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(10)",
    "mysql": "SELECT SLEEP(10)",
}
SERIES = {
    "sqlite": "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 2500) SELECT n FROM seq",
    "postgresql": "SELECT n FROM generate_series(1, 2500) AS n",
    # MariaDB stops a recursive CTE after max_recursive_iterations (1,000) rows: digits crossed instead.
    "mysql": "WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 "
    "UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) "
    "SELECT 1 + a.n + 10 * b.n + 100 * c.n + 1000 * e.n AS n FROM d a, d b, d c, d e "
    "WHERE a.n + 10 * b.n + 100 * c.n + 1000 * e.n < 2500 ORDER BY n",
}
WRITES = {
    "delete": "DELETE FROM items",
    "update": "UPDATE items SET quantity = 0",
    "insert": "INSERT INTO items (id) VALUES (9)",
    "create": "CREATE TABLE intruder (x integer)",
    "drop": "DROP TABLE items",
    "two statements": "SELECT 1; DELETE FROM items",
    "two statements, first trailing": "SELECT * FROM items;DELETE FROM items;",
}
# A CTE that writes, in each engine's own grammar.
CTE_WRITES = {
    "sqlite": "WITH gone AS (SELECT id FROM items) DELETE FROM items WHERE id IN (SELECT id FROM gone)",
    "postgresql": "WITH gone AS (DELETE FROM items RETURNING id) SELECT id FROM gone",
    "mysql": "WITH gone AS (SELECT id FROM items) UPDATE items SET quantity = 0 WHERE id IN (SELECT id FROM gone)",
}


def read(source: SourceDatabase, query: str, params: dict[str, Any] | None = None, *, timeout: float = 30) -> Any:
    """Columns and every row of ``query`` through the connector."""
    with connector_for(source.config).open(query, params or {}, timeout=timeout) as stream:
        rows = [row for batch in stream.batches(100) for row in batch]
        return stream.columns, rows


def engine(source: SourceDatabase) -> str:
    return source.config.type


def test_reads_every_type_with_nulls(source: SourceDatabase) -> None:
    # given
    source.execute(CREATE_ITEMS[engine(source)])

    # when
    columns, rows = read(source, "SELECT * FROM items ORDER BY id")

    # then
    assert columns == [Column(name, kind) for name, kind in zip(NAMES, COLUMN_TYPES[engine(source)], strict=True)]
    assert [tuple(row) for row in rows] == ROWS[engine(source)]


def test_binds_params_and_leaves_literals_alone(source: SourceDatabase) -> None:
    # given
    source.execute(CREATE_ITEMS[engine(source)])
    query = (
        "SELECT id, ':minimum' AS literal FROM items "
        "WHERE quantity >= :minimum AND name LIKE 'W%' -- :ignored\nORDER BY id"
    )

    # when
    _, rows = read(source, query, {"minimum": 2})

    # then
    assert [tuple(row) for row in rows] == [(1, ":minimum")]


def test_a_value_is_never_sql(source: SourceDatabase) -> None:
    # given
    source.execute(CREATE_ITEMS[engine(source)])

    # when
    _, rows = read(source, "SELECT id FROM items WHERE name = :name", {"name": "x' OR '1'='1"})

    # then
    assert rows == []


def test_missing_param_is_refused(source: SourceDatabase) -> None:
    # given
    source.execute(CREATE_ITEMS[engine(source)])

    # when
    with pytest.raises(QueryRefused) as caught:
        read(source, "SELECT id FROM items WHERE quantity >= :minimum", {})

    # then
    assert caught.value.field == "params"
    assert caught.value.message == "The query uses :minimum, which the dataset does not declare as a parameter."


@pytest.mark.parametrize("statement", [*WRITES.values(), "cte"], ids=[*WRITES, "cte that writes"])
def test_write_is_refused_and_changes_nothing(source: SourceDatabase, statement: str) -> None:
    # given
    source.execute(CREATE_ITEMS[engine(source)])
    query = CTE_WRITES[engine(source)] if statement == "cte" else statement

    # when
    with pytest.raises(QueryRefused) as caught:
        read(source, query)

    # then
    assert caught.value.field == "query"
    assert "read-only" in caught.value.message or "statements joined by ';'" in caught.value.message
    assert source.rows("SELECT id, quantity FROM items ORDER BY id") == [(1, 3), (2, 1), (3, None)]


@pytest.mark.parametrize("statement", [*WRITES.values(), "cte"], ids=[*WRITES, "cte that writes"])
def test_the_engine_itself_refuses_writes(
    source: SourceDatabase, statement: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the lexical check, the read-only transaction (or file) still stops every write."""
    # given
    source.execute(CREATE_ITEMS[engine(source)])
    module = type(connector_for(source.config)).__module__
    monkeypatch.setattr(f"{module}.read_only_statement", lambda query, dialect: query)
    query = CTE_WRITES[engine(source)] if statement == "cte" else statement

    # when
    with pytest.raises(ConnectorError):
        read(source, query)

    # then
    assert source.rows("SELECT id, quantity FROM items ORDER BY id") == [(1, 3), (2, 1), (3, None)]
    tables = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
        "postgresql": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        "mysql": "SHOW TABLES",
    }
    assert source.rows(tables[engine(source)]) == [("items",)]


def test_syntax_error_carries_the_servers_message(source: SourceDatabase) -> None:
    # when
    with pytest.raises(ConnectorError) as caught:
        read(source, "SELECT FROM WHERE")

    # then
    assert not isinstance(caught.value, QueryRefused)
    assert "syntax" in caught.value.message.lower()
    assert "Traceback" not in caught.value.message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_statement_timeout_stops_a_slow_query(source: SourceDatabase) -> None:
    # given
    started = time.monotonic()

    # when
    with pytest.raises(ConnectorError) as caught:
        read(source, SLOW[engine(source)], timeout=1)

    # then
    assert time.monotonic() - started < 5
    assert caught.value.message == "The query ran longer than the timeout of 1 s and was stopped."
    assert caught.value.permanent is False


def test_rows_stream_in_batches(source: SourceDatabase) -> None:
    # when
    with connector_for(source.config).open(SERIES[engine(source)], {}, timeout=30) as stream:
        sizes = [len(batch) for batch in stream.batches(1000)]

    # then
    assert sizes == [1000, 1000, 500]


def test_closing_midway_stops_fetching(source: SourceDatabase) -> None:
    # given
    with connector_for(source.config).open(SERIES[engine(source)], {}, timeout=30) as stream:
        batches = stream.batches(10)
        first = next(batches)

    # when
    with pytest.raises(ConnectorError):
        next(batches)

    # then
    assert [tuple(row) for row in first] == [(n,) for n in range(1, 11)]


def test_connection_test_succeeds(source: SourceDatabase) -> None:
    # when
    result = connector_for(source.config).test()

    # then
    assert result.success is True, result.message
    assert result.database == source.config.database
    assert result.latency is not None and result.latency > 0
    prefixes = {"sqlite": ("SQLite 3.",), "postgresql": ("PostgreSQL ",), "mysql": ("MariaDB ", "MySQL ")}
    assert result.server_version and result.server_version.startswith(prefixes[engine(source)])
