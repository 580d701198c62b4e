"""The connector registry: each type's class, lazily imported; secrets marked write-only in each schema."""

from __future__ import annotations

import pytest

from datasets.connectors.base import Connector, SourceConfig
from datasets.connectors.mysql import MysqlConnector
from datasets.connectors.postgresql import PostgresqlConnector
from datasets.connectors.registry import UnknownConnector, connector_class, connector_classes, connector_for
from datasets.connectors.sqlite import SqliteConnector


def test_every_type_has_its_class() -> None:
    assert connector_classes() == [SqliteConnector, PostgresqlConnector, MysqlConnector]
    assert [(cls.type, cls.name, cls.available) for cls in connector_classes()] == [
        ("sqlite", "SQLite", True),
        ("postgresql", "PostgreSQL", True),
        ("mysql", "MySQL / MariaDB", True),
    ]


def test_an_unknown_type_is_a_key_error_with_a_message() -> None:
    with pytest.raises(UnknownConnector) as caught:
        connector_class("oracle")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "Unknown datasource type 'oracle'; expected one of sqlite, postgresql, mysql."


def test_connector_for_builds_one_from_its_config() -> None:
    config = SourceConfig(type="postgresql", host="db.example.com", database="sales")

    connector = connector_for(config)

    assert type(connector) is PostgresqlConnector
    assert connector.config is config


@pytest.mark.parametrize("cls", [PostgresqlConnector, MysqlConnector])
def test_network_schemas_mark_the_password_write_only(cls: type[Connector]) -> None:
    properties = cls.config_schema["properties"]

    assert properties["password"] == {"type": "string", "title": "Password", "writeOnly": True}
    assert set(properties["options"]["properties"]) == {"sslmode", "connectTimeout"}


def test_the_sqlite_schema_reads_only_the_file() -> None:
    assert SqliteConnector.config_schema["required"] == ["database"]
    assert list(SqliteConnector.config_schema["properties"]) == ["database"]
