"""MySQL and MariaDB datasources through PyMySQL: a read-only transaction, a statement timeout, SSCursor."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

import pymysql
from pymysql.constants import FIELD_TYPE
from pymysql.cursors import SSCursor

from datasets.connectors.base import Column, Connector, ConnectorError, QueryRefused, QueryStream, TestResult
from datasets.connectors.params import placeholders, to_pyformat, used_params
from datasets.connectors.safety import network_addresses, network_options, network_schema, read_only_statement

PROGRAM_NAME = "informer-jobs"
SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
# Server error numbers (MySQL's and MariaDB's share one list).
_READ_ONLY_TRANSACTION = 1792
_MYSQL_TIMEOUT = 3024  # max_execution_time exceeded
_MARIADB_TIMEOUT = 1969  # max_statement_time exceeded
_NO_TLS = 2026  # PyMySQL: TLS was asked for and the server has none
_BINARY_CHARSET = 63
# Seconds a socket read may wait beyond the statement timeout before the connection is given up.
_READ_GRACE = 30
_TEXT = {FIELD_TYPE.VARCHAR, FIELD_TYPE.VAR_STRING, FIELD_TYPE.STRING, FIELD_TYPE.ENUM, FIELD_TYPE.SET}
_BLOBS = {FIELD_TYPE.TINY_BLOB, FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB, FIELD_TYPE.BLOB}
_TYPES = {
    **dict.fromkeys(
        (FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.LONG, FIELD_TYPE.LONGLONG, FIELD_TYPE.INT24, FIELD_TYPE.YEAR),
        "integer",
    ),
    **dict.fromkeys((FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL, FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE), "number"),
    **dict.fromkeys((FIELD_TYPE.DATE, FIELD_TYPE.NEWDATE), "date"),
    **dict.fromkeys((FIELD_TYPE.DATETIME, FIELD_TYPE.TIMESTAMP), "datetime"),
}


def _message(exc: pymysql.Error) -> str:
    """The server's own words (PyMySQL's errors are ``(number, message)``)."""
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc) or type(exc).__name__
    return re.sub(r"\s+", " ", text).strip()


def _error(exc: pymysql.Error, timeout: float | None = None) -> ConnectorError:
    """The ConnectorError for a PyMySQL error."""
    number = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    if number in (_MYSQL_TIMEOUT, _MARIADB_TIMEOUT) and timeout is not None:
        return ConnectorError(
            f"The query ran longer than the timeout of {timeout:g} s and was stopped.", permanent=False
        )
    if number == _READ_ONLY_TRANSACTION:
        return QueryRefused(
            f"The query tried to write ({_message(exc)}); it runs in a read-only transaction.", field="query"
        )
    if isinstance(exc, pymysql.OperationalError) and (number is None or number >= 2000):  # client-side: network
        return ConnectorError(_message(exc), permanent=False)
    return ConnectorError(_message(exc))


def _data_type(cursor: SSCursor, index: int, type_code: int) -> str | None:
    """A column's type from its MySQL field type; text and binary share the BLOB codes, the charset tells."""
    fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
    binary = index < len(fields) and getattr(fields[index], "charsetnr", None) == _BINARY_CHARSET
    if type_code in _TEXT or type_code in _BLOBS:
        return None if binary else "string"
    return _TYPES.get(type_code)


class MysqlStream(QueryStream):
    """An unbuffered (SSCursor) result: rows are read off the socket as batches are asked for."""

    def __init__(self, cursor: SSCursor, timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout
        self.closed = False
        self.columns = [
            Column(name=item[0], data_type=_data_type(cursor, index, int(item[1])))
            for index, item in enumerate(cursor.description or ())
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
            except pymysql.Error as exc:
                raise _error(exc, self._timeout) from None
            except (AttributeError, OSError) as exc:  # PyMySQL once the connection is closed
                raise ConnectorError(f"The connection to the server is closed ({exc}).", permanent=False) from None
            if not rows:
                return
            yield list(rows)


class MysqlConnector(Connector):
    """A MySQL or MariaDB database on a host the address guard lets through."""

    type: ClassVar[str] = "mysql"
    name: ClassVar[str] = "MySQL / MariaDB"
    config_schema: ClassVar[dict[str, Any]] = network_schema(default_port=3306, ssl_modes=SSL_MODES)

    def validate(self) -> None:
        """Refuse guarded hosts, the service's own database and options out of range."""
        self._settings()
        self._addresses()

    def _settings(self) -> tuple[str, int]:
        return network_options(self.config.options, self.config.database, SSL_MODES)

    def _addresses(self) -> list[str]:
        config = self.config
        return network_addresses("mysql", config.host, config.port, config.database)

    def _connect(self, timeout: float | None = None) -> pymysql.Connection[SSCursor]:
        config = self.config
        sslmode, seconds = self._settings()
        addresses = self._addresses()
        context: ssl.SSLContext | None = None
        if sslmode != "disable":
            context = ssl.create_default_context()
            if sslmode in ("prefer", "require", "verify-ca"):
                context.check_hostname = False
            if sslmode in ("prefer", "require"):
                context.verify_mode = ssl.CERT_NONE
        if sslmode == "verify-full":
            # The certificate names the host, so connect by that name (PyMySQL checks it against the host).
            addresses = [config.host.strip()]
        failure: pymysql.Error | None = None
        for address in addresses:  # each validated address in turn, connected to by address: no second lookup
            try:
                connection = self._connect_to(address, seconds, timeout, context)
            except pymysql.OperationalError as exc:
                if not (sslmode == "prefer" and exc.args and exc.args[0] == _NO_TLS):
                    failure = exc
                    continue
                try:  # prefer: TLS when the server offers it, plain otherwise (PyMySQL alone insists)
                    connection = self._connect_to(address, seconds, timeout, None)
                except pymysql.Error as plain:
                    failure = plain
                    continue
            except pymysql.Error as exc:
                failure = exc
                continue
            if sslmode in ("require", "verify-ca", "verify-full") and not self._encrypted(connection):
                connection.close()
                raise ConnectorError(f"The server does not offer TLS, which sslmode {sslmode} requires.")
            return connection
        assert failure is not None  # network_addresses never returns an empty list
        raise _error(failure) from None

    def _connect_to(
        self, address: str, seconds: int, timeout: float | None, context: ssl.SSLContext | None
    ) -> pymysql.Connection[SSCursor]:
        config = self.config
        read_timeout = int(timeout + _READ_GRACE) if timeout else None
        return pymysql.connect(
            host=address,
            port=config.port or 3306,
            user=config.username,
            password=config.password,
            database=config.database,
            connect_timeout=seconds,
            read_timeout=read_timeout,
            write_timeout=read_timeout,
            ssl=context,
            charset="utf8mb4",
            cursorclass=SSCursor,
            autocommit=False,
            program_name=PROGRAM_NAME,
        )  # no CLIENT.MULTI_STATEMENTS: the server refuses a second statement

    @staticmethod
    def _encrypted(connection: pymysql.Connection[SSCursor]) -> bool:
        with connection.cursor(pymysql.cursors.Cursor) as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            row = cursor.fetchone()
        return bool(row and row[1])

    def test(self) -> TestResult:
        """Connect, read the server's version and the current database."""
        started = time.monotonic()
        try:
            connection = self._connect()
            try:
                with connection.cursor(pymysql.cursors.Cursor) as cursor:
                    cursor.execute("SELECT VERSION(), DATABASE()")
                    version, database = cursor.fetchone() or ("", "")
            finally:
                connection.close()
        except ConnectorError as exc:
            return TestResult(success=False, message=exc.message)
        except pymysql.Error as exc:
            return TestResult(success=False, message=_error(exc).message)
        latency = round((time.monotonic() - started) * 1000, 1)
        product = "MariaDB" if "mariadb" in str(version).lower() else "MySQL"
        return TestResult(
            success=True,
            message=f"Connected to {database} on {self.config.host}.",
            latency=latency,
            server_version=f"{product} {str(version).split('-')[0]}",
            database=str(database),
        )

    @contextmanager
    def open(self, query: str, params: dict[str, Any], *, timeout: float) -> Iterator[QueryStream]:
        """Run ``query`` in a read-only transaction with the server's statement timeout, unbuffered."""
        statement = read_only_statement(query, "mysql")
        values = used_params(placeholders(statement, "mysql"), params)
        connection = self._connect(timeout)
        stream: MysqlStream | None = None
        try:
            try:
                with connection.cursor(pymysql.cursors.Cursor) as setup:
                    if "mariadb" in connection.get_server_info().lower():
                        setup.execute("SET SESSION max_statement_time = %s", (max(timeout, 0.001),))
                    else:
                        setup.execute("SET SESSION max_execution_time = %s", (max(int(timeout * 1000), 1),))
                    setup.execute("SET SESSION TRANSACTION READ ONLY")
                    setup.execute("START TRANSACTION READ ONLY")
                cursor = connection.cursor(SSCursor)
                cursor.execute(to_pyformat(statement, "mysql"), values)
            except pymysql.Error as exc:
                raise _error(exc, timeout) from None
            stream = MysqlStream(cursor, timeout)
            yield stream
        finally:
            if stream is not None:
                stream.close()
            # Not cursor.close(): an unbuffered cursor would first read every remaining row. Closing the
            # connection drops them, and the server abandons the query and its transaction; PyMySQL's
            # result must not try to read them either when it is collected.
            result = getattr(connection, "_result", None)
            if result is not None:
                result.unbuffered_active = False
            with suppress(pymysql.Error, OSError):
                connection.close()
