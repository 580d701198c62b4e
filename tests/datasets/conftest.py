"""Source databases for datasource tests: a generated SQLite file, and databases the fixtures create on the
machine's PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306), dropped afterwards.

Each fixture gives a ``SourceDatabase``: the ``SourceConfig`` a datasource would hold, ``execute(sql)`` to
set the source up with full rights (several statements allowed) and ``rows(sql)`` to look at it from
outside the connector. A server that does not answer skips the test with one line, except under
``CI=true``, where it fails it.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datasets.connectors.base import SourceConfig

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
MYSQL_HOST, MYSQL_PORT, MYSQL_USER = "127.0.0.1", 3306, "root"
# The local servers are loopback, which the address guard refuses unless allowed.
LOCAL_ALLOW = ["127.0.0.1", "localhost"]


@dataclass
class SourceDatabase:
    """A source database of one test: its datasource settings and a side door to set it up."""

    config: SourceConfig
    execute: Callable[[str], None]
    rows: Callable[[str], list[tuple[Any, ...]]]


def unreachable(what: str, exc: Exception) -> None:
    """Skip (or fail under CI=true) a test whose server does not answer."""
    reason = f"{what} is not reachable: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def datasource_root(settings: Any, tmp_path: Path) -> Path:
    """A datasource root of this test's own (``INFORMER_DATASOURCE_ROOT``)."""
    root = tmp_path / "datasources"
    root.mkdir()
    settings.INFORMER_DATASOURCE_ROOT = root
    return root


@pytest.fixture
def sqlite_source(datasource_root: Path) -> SourceDatabase:
    """A SQLite file ``source.sqlite3`` under the datasource root."""
    path = datasource_root / "source.sqlite3"
    sqlite3.connect(path).close()

    def execute(sql: str) -> None:
        connection = sqlite3.connect(path)
        try:
            connection.executescript(sql)
        finally:
            connection.close()

    def rows(sql: str) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(path)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    return SourceDatabase(SourceConfig(type="sqlite", database="source.sqlite3"), execute, rows)


@pytest.fixture
def postgresql_source(settings: Any) -> Iterator[SourceDatabase]:
    """A database ``informer_src_<random>`` on the local PostgreSQL, created for the test and dropped after it."""
    import psycopg

    name = f"informer_src_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)
    except psycopg.Error as exc:
        unreachable(f"PostgreSQL at {PG_HOST}:{PG_PORT}", exc)
    settings.INFORMER_DATASOURCE_ALLOW = LOCAL_ALLOW
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=name, autocommit=True) as side:

                def execute(sql: str) -> None:
                    side.execute(sql.encode())  # bytes: no parameters, so several statements may be sent

                def rows(sql: str) -> list[tuple[Any, ...]]:
                    return side.execute(sql.encode()).fetchall()

                config = SourceConfig(type="postgresql", host=PG_HOST, port=PG_PORT, database=name, username=PG_USER)
                yield SourceDatabase(config, execute, rows)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_source(settings: Any) -> Iterator[SourceDatabase]:
    """A database and a user with a password ``informer_src_<random>`` on the local MariaDB, dropped after."""
    import pymysql
    from pymysql.constants import CLIENT

    name = f"informer_src_{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    try:
        admin = pymysql.connect(
            host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS
        )
    except pymysql.Error as exc:
        unreachable(f"MariaDB at {MYSQL_HOST}:{MYSQL_PORT}", exc)
    settings.INFORMER_DATASOURCE_ALLOW = LOCAL_ALLOW
    with admin:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
            cursor.execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'")
            # Every right on its database: the read-only transaction, not a lack of grants, must stop writes.
            cursor.execute(f"GRANT ALL ON `{name}`.* TO '{name}'@'%'")
        try:

            def execute(sql: str) -> None:
                with admin.cursor() as cursor:
                    cursor.execute(f"USE `{name}`")
                    cursor.execute(sql)
                    while cursor.nextset():
                        pass

            def rows(sql: str) -> list[tuple[Any, ...]]:
                with admin.cursor() as cursor:
                    cursor.execute(f"USE `{name}`")
                    cursor.execute(sql)
                    return list(cursor.fetchall())

            config = SourceConfig(
                type="mysql", host=MYSQL_HOST, port=MYSQL_PORT, database=name, username=name, password=password
            )
            yield SourceDatabase(config, execute, rows)
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cursor.execute(f"DROP USER IF EXISTS '{name}'@'%'")
