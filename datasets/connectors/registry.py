"""Connector registry: a plain map from datasource type to dotted path, imported lazily on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from datasets.connectors.base import Connector, SourceConfig

CONNECTORS: dict[str, str] = {
    "sqlite": "datasets.connectors.sqlite.SqliteConnector",
    "postgresql": "datasets.connectors.postgresql.PostgresqlConnector",
    "mysql": "datasets.connectors.mysql.MysqlConnector",
}


class UnknownConnector(KeyError):
    """No connector is registered under that datasource type."""

    def __str__(self) -> str:
        # KeyError's own str() is the repr of its argument; the message is what callers show.
        return f"Unknown datasource type {self.args[0]!r}; expected one of {', '.join(CONNECTORS)}."


@cache
def _load(path: str) -> type[Connector]:
    module_name, _, attribute = path.rpartition(".")
    loaded: type[Connector] = getattr(import_module(module_name), attribute)
    return loaded


def connector_class(type: str) -> type[Connector]:
    """The connector class registered for datasource type ``type``."""
    try:
        path = CONNECTORS[type]
    except (KeyError, TypeError):
        raise UnknownConnector(type) from None
    return _load(path)


def connector_classes() -> list[type[Connector]]:
    """Every registered connector class, in registration order."""
    return [_load(path) for path in CONNECTORS.values()]


def connector_for(config: SourceConfig) -> Connector:
    """A connector for ``config`` (its ``type`` picks the class)."""
    return connector_class(config.type)(config)
