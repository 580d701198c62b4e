"""What every datasource connector offers: validate a configuration, test it, stream one read-only query.

A connector is built from a ``SourceConfig`` (a datasource's fields with its secrets opened) and never
touches the ORM: the services hand it values and take back rows. Errors are ``ConnectorError`` with the
server's own reason in words a user can act on, never a traceback.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ConnectorError(Exception):
    """A datasource refused, failed or could not be reached; ``field`` names the setting at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None, permanent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.permanent = permanent


class QueryRefused(ConnectorError):
    """The query is not a single read-only statement, or binds parameters the dataset does not declare."""


# The data types a field can have (§8's params and fields use the same names).
DATA_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")


@dataclass(frozen=True)
class SourceConfig:
    """A datasource's connection settings with its secrets in the clear (never logged, never stored so)."""

    type: str
    host: str = ""
    port: int | None = None
    database: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    secret_options: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Column:
    """A result column: its name and the type the driver reports (refined from values while streaming)."""

    name: str
    data_type: str | None  # one of DATA_TYPES, or None when the driver does not say


@dataclass(frozen=True)
class TestResult:
    """The answer of ``POST /api/datasources/{id}/_test`` (success false carries the server's reason)."""

    success: bool
    message: str
    latency: float | None = None  # milliseconds to connect and run a trivial query
    server_version: str | None = None
    database: str | None = None


class QueryStream(ABC):
    """An open, read-only query: its columns and its rows in batches, fetched as they are read."""

    columns: list[Column]

    @abstractmethod
    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """The rows, ``size`` at a time, in the order the server sends them (never all in memory)."""


class Connector(ABC):
    """One datasource type (``sqlite``, ``postgresql``, ``mysql``)."""

    type: ClassVar[str]
    name: ClassVar[str]
    available: ClassVar[bool] = True
    # JSON Schema of the datasource fields this type reads (host, port, database, options…), for
    # GET /api/datasource-drivers; secrets are marked "writeOnly": true.
    config_schema: ClassVar[dict[str, Any]]

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @abstractmethod
    def validate(self) -> None:
        """Refuse a configuration the safety rules of §8 forbid (``ConnectorError`` naming the field)."""

    @abstractmethod
    def test(self) -> TestResult:
        """Connect, run a trivial query and say how it went; a failure is ``success: False``, never raised."""

    @abstractmethod
    def open(self, query: str, params: dict[str, Any], *, timeout: float) -> AbstractContextManager[QueryStream]:
        """Run ``query`` (``:name`` placeholders bound to ``params``) read-only and stream its rows.

        ``validate`` first; then a read-only transaction (or connection), ``timeout`` seconds per
        statement, a server-side cursor on network engines. Leaving the context closes and rolls back.
        """
