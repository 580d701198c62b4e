"""Source databases for bench/datasets.py, and the bare fetch + json.dumps + write baseline it compares with.

Each source holds one table per size, ``bench_rows_<n>``, of n rows by 8 columns: an integer, two texts,
a numeric, a date, a timestamp, a boolean and a text that is NULL in nine rows of ten. PostgreSQL fills
it with ``generate_series``, MariaDB from its sequence engine (``seq_1_to_<n>``), SQLite with a
recursive CTE: a million rows in seconds, no rows through Python.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pymysql.cursors

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MYSQL_HOST, MYSQL_PORT, MYSQL_USER = "127.0.0.1", 3306, "root"
SOURCE_DB = "informer_bench_src"
SQLITE_FILE = "informer_bench_src.sqlite3"
BATCH = 5000  # rows per fetch, as the refresh fetches them
COLUMNS = "id, name, amount, day, stamp, flag, note, region"

_PG_FILL = """
CREATE TABLE {table} AS
SELECT i AS id,
       'name ' || i AS name,
       (((i::bigint * 7919) % 1000003) / 100.0)::numeric(12, 2) AS amount,
       DATE '2020-01-01' + (i % 2000) AS day,
       TIMESTAMP '2020-01-01 00:00:00' + i * INTERVAL '37 seconds' AS stamp,
       i % 3 = 0 AS flag,
       CASE WHEN i % 10 = 0 THEN 'note ' || i END AS note,
       (ARRAY['North', 'South', 'East', 'West'])[i % 4 + 1] AS region
FROM generate_series(1, {n}) AS i;
ALTER TABLE {table} ADD PRIMARY KEY (id);
"""
_MYSQL_FILL = """
CREATE TABLE {table} (
    id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, amount DECIMAL(12, 2) NOT NULL, day DATE NOT NULL,
    stamp DATETIME NOT NULL, flag BOOLEAN NOT NULL, note VARCHAR(40) NULL, region VARCHAR(10) NOT NULL
);
INSERT INTO {table}
SELECT seq, CONCAT('name ', seq), ((seq * 7919) % 1000003) / 100, DATE '2020-01-01' + INTERVAL (seq % 2000) DAY,
       TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (seq * 37) SECOND, seq % 3 = 0,
       IF(seq % 10 = 0, CONCAT('note ', seq), NULL), ELT(seq % 4 + 1, 'North', 'South', 'East', 'West')
FROM seq_1_to_{n};
"""
_SQLITE_FILL = """
CREATE TABLE {table} AS
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
SELECT i AS id, 'name ' || i AS name, ((i * 7919) % 1000003) / 100.0 AS amount,
       date('2020-01-01', '+' || (i % 2000) || ' days') AS day,
       datetime('2020-01-01 00:00:00', '+' || (i * 37) || ' seconds') AS stamp,
       i % 3 = 0 AS flag, CASE WHEN i % 10 = 0 THEN 'note ' || i END AS note,
       CASE i % 4 WHEN 0 THEN 'North' WHEN 1 THEN 'South' WHEN 2 THEN 'East' ELSE 'West' END AS region
FROM s;
"""


def _pg(dbname: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, autocommit=autocommit)


def _mysql(database: str | None = None) -> pymysql.Connection[Any]:
    return pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, database=database, autocommit=True)


def table(n: int) -> str:
    return f"bench_rows_{n}"


def query(n: int) -> str:
    """The dataset's query (and the baseline's) for size n."""
    return f"SELECT {COLUMNS} FROM {table(n)}"


def create(engine: str, sizes: list[int], root: Path) -> None:
    """Create the source database of ``engine`` afresh with one table per size."""
    drop(engine, root)
    if engine == "postgresql":
        with _pg("postgres") as admin:
            admin.execute(f"CREATE DATABASE {SOURCE_DB}")
        with _pg(SOURCE_DB) as conn:
            for n in sizes:
                conn.execute(_PG_FILL.format(table=table(n), n=n))
                conn.execute(f"VACUUM ANALYZE {table(n)}")
    elif engine == "mysql":
        maria = _mysql()
        with maria, maria.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {SOURCE_DB}")
            cursor.execute(f"USE {SOURCE_DB}")
            for n in sizes:
                for statement in _MYSQL_FILL.format(table=table(n), n=n).split(";"):
                    if statement.strip():
                        cursor.execute(statement)
    else:
        root.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(root / SQLITE_FILE) as lite:
            for n in sizes:
                lite.execute(_SQLITE_FILL.format(table=table(n), n=n))


def drop(engine: str, root: Path) -> None:
    """Drop the source database of ``engine`` if it exists."""
    if engine == "postgresql":
        with _pg("postgres") as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {SOURCE_DB} WITH (FORCE)")
    elif engine == "mysql":
        maria = _mysql()
        with maria, maria.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {SOURCE_DB}")
    else:
        (root / SQLITE_FILE).unlink(missing_ok=True)


def datasource_data(engine: str) -> dict[str, Any]:
    """What ``datasource_create`` takes for the source of ``engine``."""
    if engine == "postgresql":
        return {"name": "Bench PostgreSQL", "type": "postgresql", "host": PG_HOST, "port": PG_PORT,
                "database": SOURCE_DB, "username": PG_USER, "options": {"sslmode": "disable"}}  # fmt: skip
    if engine == "mysql":
        return {"name": "Bench MariaDB", "type": "mysql", "host": MYSQL_HOST, "port": MYSQL_PORT,
                "database": SOURCE_DB, "username": MYSQL_USER, "options": {"sslmode": "disable"}}  # fmt: skip
    return {"name": "Bench SQLite", "type": "sqlite", "database": SQLITE_FILE}


def _fetch(engine: str, sql: str, root: Path) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``sql`` in batches, through the bare driver's server-side cursor."""
    if engine == "postgresql":
        with _pg(SOURCE_DB, autocommit=False) as conn, conn.cursor(name="bench_baseline") as cursor:
            cursor.execute(sql.encode())
            while rows := cursor.fetchmany(BATCH):
                yield rows
    elif engine == "mysql":
        unbuffered = _mysql(SOURCE_DB)
        with unbuffered, unbuffered.cursor(pymysql.cursors.SSCursor) as server_side:
            server_side.execute(sql)
            while fetched := server_side.fetchmany(BATCH):
                yield list(fetched)
    else:
        with sqlite3.connect(f"file:{root / SQLITE_FILE}?mode=ro", uri=True) as source:
            result = source.execute(sql)
            while rows := result.fetchmany(BATCH):
                yield rows


def baseline(engine: str, sql: str, root: Path, service: dict[str, Any]) -> int:
    """Fetch ``sql`` from the source, ``json.dumps`` each row, write it to a scratch table; the row count.

    The scratch table has the rows' shape (generation_id, position, cells jsonb, key on the first two).
    PostgreSQL takes one ``COPY`` for the whole result, SQLite ``executemany`` per batch, one commit.
    """
    position = 0
    dumps: Callable[..., str] = json.dumps
    if service["vendor"] == "postgresql":
        with psycopg.connect(service["dsn"]) as out:
            out.execute("DROP TABLE IF EXISTS bench_scratch")
            out.execute(
                "CREATE TABLE bench_scratch (generation_id bigint, position bigint, cells jsonb, "
                "PRIMARY KEY (generation_id, position))"
            )
            out.commit()  # as the dataset's table, the scratch table exists before the rows come
            with out.cursor().copy("COPY bench_scratch (generation_id, position, cells) FROM STDIN") as copy:
                for rows in _fetch(engine, sql, root):
                    for row in rows:
                        copy.write_row((1, position, dumps(row, default=str)))
                        position += 1
            out.execute("DROP TABLE bench_scratch")
        return position
    with sqlite3.connect(service["path"]) as out:
        out.execute("DROP TABLE IF EXISTS bench_scratch")
        out.execute(
            "CREATE TABLE bench_scratch (generation_id integer, position integer, cells text, "
            "PRIMARY KEY (generation_id, position))"
        )
        for rows in _fetch(engine, sql, root):
            out.executemany(
                "INSERT INTO bench_scratch VALUES (1, ?, ?)",
                [(position + offset, dumps(row, default=str)) for offset, row in enumerate(rows)],
            )
            position += len(rows)
        out.commit()
        out.execute("DROP TABLE bench_scratch")
    return position
