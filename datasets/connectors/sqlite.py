"""SQLite datasources: a file under ``INFORMER_DATASOURCE_ROOT`` opened read-only, one query at a time."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, ClassVar

from datasets.connectors.base import Column, Connector, ConnectorError, QueryRefused, QueryStream, TestResult
from datasets.connectors.params import placeholders, to_named, used_params
from datasets.connectors.safety import read_only_statement, sqlite_path

# How many SQLite virtual-machine steps pass between two looks at the clock (a few microseconds' work).
_PROGRESS_STEPS = 1000
_BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write lock on the file
# Opening another file from SQL would step outside the datasource root.
_DENIED_ACTIONS = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH})


class _Clock:
    """A query's time budget, spent only while SQLite works (not while the caller stores a batch)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.left = timeout
        self.deadline = math.inf
        self.fired = False

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count the time of one call into SQLite against the budget."""
        started = time.monotonic()
        self.deadline = started + self.left
        try:
            yield
        finally:
            self.left -= time.monotonic() - started
            self.deadline = math.inf

    def expired(self) -> int:
        """Progress handler: a non-zero answer makes SQLite interrupt the statement."""
        if time.monotonic() > self.deadline:
            self.fired = True
            return 1
        return 0


def _authorize(action: int, *args: Any) -> int:
    return sqlite3.SQLITE_DENY if action in _DENIED_ACTIONS else sqlite3.SQLITE_OK


def _sqlite_value(value: Any) -> Any:
    """A bound value in a type sqlite3 takes (its own date adapters are deprecated)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _error(exc: sqlite3.Error, clock: _Clock | None = None) -> ConnectorError:
    """The ConnectorError for a sqlite3 error, in SQLite's own words."""
    message = str(exc) or type(exc).__name__
    if clock is not None and clock.fired:
        return ConnectorError(
            f"The query ran longer than the timeout of {clock.timeout:g} s and was stopped.", permanent=False
        )
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in message:
        return QueryRefused(f"The query tried to write ({message}); SQLite datasources are read-only.")
    if isinstance(exc, sqlite3.DatabaseError) and "not authorized" in message:
        return QueryRefused(f"The query is not allowed on a datasource ({message}).")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in message:
        return ConnectorError(message, permanent=False)
    return ConnectorError(message)


class SqliteStream(QueryStream):
    """An open SQLite cursor; rows are stepped out of the file as batches are read."""

    def __init__(self, cursor: sqlite3.Cursor, clock: _Clock) -> None:
        self._cursor = cursor
        self._clock = clock
        self.closed = False
        self.columns = [Column(name=description[0], data_type=None) for description in cursor.description or ()]

    def close(self) -> None:
        """Mark the stream closed: the query has been left, no batch follows."""
        self.closed = True

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows, ``size`` at a time; SQLite declares no result types, so values carry them."""
        while True:
            if self.closed:
                raise ConnectorError("The query was closed before its rows were read.")
            try:
                with self._clock.running():
                    rows = self._cursor.fetchmany(size)
            except sqlite3.Error as exc:
                raise _error(exc, self._clock) from None
            if not rows:
                return
            yield rows


class SqliteConnector(Connector):
    """A SQLite file under the datasource root, opened read-only."""

    type: ClassVar[str] = "sqlite"
    name: ClassVar[str] = "SQLite"
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["database"],
        "properties": {
            "database": {
                "type": "string",
                "title": "File",
                "description": "Path of the SQLite file relative to the datasource root (INFORMER_DATASOURCE_ROOT).",
                "minLength": 1,
            },
        },
    }

    def validate(self) -> None:
        """Refuse a path outside the datasource root, a missing file and the service's own database."""
        sqlite_path(self.config.database)

    def _connect(self, timeout: float) -> sqlite3.Connection:
        path = sqlite_path(self.config.database)
        # mode=ro: SQLite itself refuses every write to the file; query_only also covers the temp schema.
        uri = f"{path.as_uri()}?mode=ro"
        try:
            connection = sqlite3.connect(uri, uri=True, timeout=min(timeout, _BUSY_TIMEOUT), isolation_level=None)
        except sqlite3.Error as exc:
            raise _error(exc) from None
        try:
            connection.execute("PRAGMA query_only = ON")
            connection.set_authorizer(_authorize)
        except sqlite3.Error as exc:
            connection.close()
            raise _error(exc) from None
        return connection

    def test(self) -> TestResult:
        """Open the file read-only and read SQLite's version."""
        started = time.monotonic()
        try:
            connection = self._connect(timeout=_BUSY_TIMEOUT)
            try:
                version = connection.execute("SELECT sqlite_version()").fetchone()[0]
                connection.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # reads the file's header
            finally:
                connection.close()
        except sqlite3.Error as exc:
            return TestResult(success=False, message=_error(exc).message)
        except ConnectorError as exc:
            return TestResult(success=False, message=exc.message)
        latency = round((time.monotonic() - started) * 1000, 1)
        return TestResult(
            success=True,
            message=f"Opened {self.config.database} read-only.",
            latency=latency,
            server_version=f"SQLite {version}",
            database=self.config.database,
        )

    @contextmanager
    def open(self, query: str, params: dict[str, Any], *, timeout: float) -> Iterator[QueryStream]:
        """Run ``query`` on the read-only file; ``timeout`` seconds of SQLite work at most."""
        statement = read_only_statement(query, "sqlite")
        values = {
            name: _sqlite_value(value) for name, value in used_params(placeholders(statement, "sqlite"), params).items()
        }
        clock = _Clock(timeout)
        connection = self._connect(timeout)
        try:
            connection.set_progress_handler(clock.expired, _PROGRESS_STEPS)
            try:
                with clock.running():
                    cursor = connection.execute(to_named(statement), values)
            except sqlite3.Error as exc:
                raise _error(exc, clock) from None
            stream = SqliteStream(cursor, clock)
            try:
                yield stream
            finally:
                stream.close()
                cursor.close()
        finally:
            connection.close()
