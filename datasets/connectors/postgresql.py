"""PostgreSQL datasources through psycopg 3: a read-only transaction, a statement timeout, a named cursor."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import psycopg
from psycopg import errors, sql

from datasets.connectors.base import Column, Connector, ConnectorError, QueryRefused, QueryStream, TestResult
from datasets.connectors.params import placeholders, to_pyformat, used_params
from datasets.connectors.safety import network_addresses, network_options, network_schema, read_only_statement

APPLICATION_NAME = "informer-jobs"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_CURSOR_NAME = "informer_dataset"
# Result types by the OIDs of PostgreSQL's built-in types (pg_type); any other type is left to the values.
_TYPES = {
    16: "boolean",
    20: "integer",
    21: "integer",
    23: "integer",
    26: "integer",
    700: "number",
    701: "number",
    1700: "number",
    1082: "date",
    1114: "datetime",
    1184: "datetime",
    18: "string",
    19: "string",
    25: "string",
    1042: "string",
    1043: "string",
    1083: "string",
    1266: "string",
    2950: "string",
}


def _message(exc: psycopg.Error) -> str:
    """The server's own words for an error, on one line (libpq's connection errors span several)."""
    primary = getattr(exc.diag, "message_primary", None) if isinstance(exc, psycopg.DatabaseError) else None
    return re.sub(r"\s+", " ", primary or str(exc) or type(exc).__name__).strip()


def _error(exc: psycopg.Error, timeout: float | None = None) -> ConnectorError:
    """The ConnectorError for a psycopg error."""
    message = _message(exc)
    if isinstance(exc, errors.QueryCanceled) and timeout is not None:
        return ConnectorError(
            f"The query ran longer than the timeout of {timeout:g} s and was stopped.", permanent=False
        )
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return QueryRefused(f"The query tried to write ({message}); it runs in a read-only transaction.", field="query")
    if isinstance(exc, psycopg.OperationalError):
        return ConnectorError(message, permanent=False)
    return ConnectorError(message)


class PostgresqlStream(QueryStream):
    """An open server-side cursor: every batch is one FETCH, so the result never sits whole in memory."""

    def __init__(self, cursor: psycopg.ServerCursor[Any], timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout
        self.closed = False
        self.columns = [
            Column(name=item.name, data_type=_TYPES.get(item.type_code)) for item in cursor.description or ()
        ]

    def close(self) -> None:
        """Mark the stream closed: the query has been left, no batch follows."""
        self.closed = True

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows, ``size`` at a time."""
        while True:
            if self.closed:
                raise ConnectorError("The query was closed before its rows were read.")
            try:
                rows = self._cursor.fetchmany(size)
            except psycopg.Error as exc:
                raise _error(exc, self._timeout) from None
            if not rows:
                return
            yield rows


class PostgresqlConnector(Connector):
    """A PostgreSQL database on a host the address guard lets through."""

    type: ClassVar[str] = "postgresql"
    name: ClassVar[str] = "PostgreSQL"
    config_schema: ClassVar[dict[str, Any]] = network_schema(default_port=5432, ssl_modes=SSL_MODES)

    def validate(self) -> None:
        """Refuse guarded hosts, the service's own database and options out of range."""
        self._settings()
        self._addresses()

    def _settings(self) -> dict[str, Any]:
        sslmode, timeout = network_options(self.config.options, self.config.database, SSL_MODES)
        return {"sslmode": sslmode, "connect_timeout": timeout}

    def _addresses(self) -> list[str]:
        config = self.config
        return network_addresses("postgresql", config.host, config.port, config.database)

    def _connect(self) -> psycopg.Connection[Any]:
        config = self.config
        settings = self._settings()
        addresses = self._addresses()
        failure: psycopg.Error | None = None
        for address in addresses:  # each validated address in turn; hostaddr pins the one checked
            try:
                return psycopg.connect(
                    host=config.host.strip().strip("[]"),
                    hostaddr=address,
                    port=config.port or 5432,
                    dbname=config.database,
                    user=config.username,
                    password=config.password,
                    application_name=APPLICATION_NAME,
                    # Every transaction of this session starts read-only, whatever the query tries.
                    options="-c default_transaction_read_only=on",
                    autocommit=False,
                    **settings,
                )
            except psycopg.Error as exc:
                failure = exc
        assert failure is not None  # network_addresses never returns an empty list
        raise _error(failure) from None

    def test(self) -> TestResult:
        """Connect, run ``SELECT 1`` and report the server's version."""
        started = time.monotonic()
        try:
            with self._connect() as connection:
                connection.execute("SELECT 1").fetchone()
                version = connection.info.parameter_status("server_version") or ""
                database = connection.info.dbname
        except ConnectorError as exc:
            return TestResult(success=False, message=exc.message)
        except psycopg.Error as exc:
            return TestResult(success=False, message=_error(exc).message)
        latency = round((time.monotonic() - started) * 1000, 1)
        return TestResult(
            success=True,
            message=f"Connected to {database} on {self.config.host}.",
            latency=latency,
            server_version=f"PostgreSQL {version.split()[0]}" if version else "PostgreSQL",
            database=database,
        )

    @contextmanager
    def open(self, query: str, params: dict[str, Any], *, timeout: float) -> Iterator[QueryStream]:
        """Run ``query`` in a read-only transaction, ``timeout`` seconds per statement, through a named cursor."""
        statement = read_only_statement(query, "postgresql")
        values = used_params(placeholders(statement, "postgresql"), params)
        connection = self._connect()
        stream: PostgresqlStream | None = None
        try:
            connection.read_only = True  # BEGIN READ ONLY
            try:
                milliseconds = max(int(timeout * 1000), 1)
                connection.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(milliseconds)))
                cursor = connection.cursor(name=_CURSOR_NAME)
                cursor.execute(to_pyformat(statement, "postgresql"), values)
            except psycopg.Error as exc:
                raise _error(exc, timeout) from None
            stream = PostgresqlStream(cursor, timeout)
            yield stream
        finally:
            if stream is not None:
                stream.close()
            # Closing the connection ends the transaction and the cursor on the server, mid-stream or not.
            with suppress(psycopg.Error):
                connection.close()
