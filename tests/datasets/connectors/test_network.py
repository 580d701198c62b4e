"""PostgreSQL and MariaDB specifics: the session really is read-only, rows stay on the server, failures."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest

from datasets.connectors.base import ConnectorError, QueryRefused, SourceConfig
from datasets.connectors.registry import connector_for
from tests.datasets.conftest import SourceDatabase
from tests.datasets.connectors.test_engines import CREATE_ITEMS, SERIES, read

NETWORK = ["postgresql", "mysql"]
# A function that writes, called from a plain SELECT: only the read-only transaction can stop it.
WRITING_FUNCTION = {
    "postgresql": (
        "CREATE FUNCTION add_item() RETURNS integer LANGUAGE sql AS "
        "$$ INSERT INTO items (id) VALUES (9) RETURNING id $$;"
    ),
    "mysql": (
        "CREATE FUNCTION add_item() RETURNS INTEGER MODIFIES SQL DATA "
        "BEGIN INSERT INTO items (id) VALUES (9); RETURN 9; END"
    ),
}
READ_ONLY_FLAG = {
    "postgresql": "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout')",
    "mysql": "SELECT @@tx_read_only, @@max_statement_time",  # MariaDB's names (MySQL 8: transaction_read_only)
}
READ_ONLY_ANSWER = {"postgresql": ("on", "1500ms"), "mysql": (1, Decimal("1.500000"))}
SESSIONS = {
    "postgresql": (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ),
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()",
}


@pytest.fixture(params=NETWORK)
def server(request: pytest.FixtureRequest) -> SourceDatabase:
    """A source database on each network engine in turn."""
    found: Any = request.getfixturevalue(f"{request.param}_source")
    return found


def test_a_function_that_writes_is_stopped_by_the_read_only_transaction(server: SourceDatabase) -> None:
    # given
    server.execute(CREATE_ITEMS[server.config.type])
    server.execute(WRITING_FUNCTION[server.config.type])

    # when
    with pytest.raises(QueryRefused) as caught:
        read(server, "SELECT add_item()")

    # then
    assert caught.value.field == "query"
    assert caught.value.message.startswith("The query tried to write (")
    assert caught.value.message.endswith("); it runs in a read-only transaction.")
    assert server.rows("SELECT id FROM items ORDER BY id") == [(1,), (2,), (3,)]


def test_the_query_runs_read_only_with_the_timeout(server: SourceDatabase) -> None:
    # when
    _, rows = read(server, READ_ONLY_FLAG[server.config.type], timeout=1.5)

    # then
    assert tuple(rows[0]) == READ_ONLY_ANSWER[server.config.type]


def test_typed_params_are_bound(server: SourceDatabase) -> None:
    # given
    server.execute(CREATE_ITEMS[server.config.type])
    query = "SELECT id FROM items WHERE sold_on = :day OR (sold_at >= :since AND active = :active AND price > :price)"
    params = {"day": dt.date(2024, 1, 31), "since": dt.datetime(2024, 2, 1), "active": False, "price": 12.0}

    # when
    _, rows = read(server, query + " ORDER BY id", params)

    # then
    assert [tuple(row) for row in rows] == [(1,), (2,)]


def test_a_postgresql_cast_is_not_a_parameter(postgresql_source: SourceDatabase) -> None:
    # when
    _, rows = read(postgresql_source, "SELECT :n::integer + 1 AS m, '2024-01-31'::date AS d", {"n": 2})

    # then
    assert [tuple(row) for row in rows] == [(3, dt.date(2024, 1, 31))]


def test_postgresql_fetches_from_a_server_side_cursor(postgresql_source: SourceDatabase) -> None:
    # given
    connector = connector_for(postgresql_source.config)

    # when
    with connector.open(SERIES["postgresql"], {}, timeout=30) as stream:
        batches = stream.batches(1000)
        next(batches)
        seen = postgresql_source.rows(
            "SELECT query, application_name FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )

    # then: the last thing the connector's session sent is a FETCH of one batch from its cursor
    assert seen == [('FETCH FORWARD 1000 FROM "informer_dataset"', "informer-jobs")]


def test_mysql_reads_unbuffered(mysql_source: SourceDatabase) -> None:
    # given
    from pymysql.cursors import SSCursor

    # when
    with connector_for(mysql_source.config).open(SERIES["mysql"], {}, timeout=30) as stream:
        cursor = stream._cursor  # type: ignore[attr-defined]

    # then
    assert type(cursor) is SSCursor


def test_closing_the_stream_closes_the_connection(server: SourceDatabase) -> None:
    # given
    with connector_for(server.config).open(SERIES[server.config.type], {}, timeout=30) as stream:
        next(stream.batches(10))
        during = server.rows(SESSIONS[server.config.type])

    # when: the server drops a session a moment after the client quits (MariaDB's processlist lags under load)
    deadline = time.monotonic() + 5
    after = server.rows(SESSIONS[server.config.type])
    while after != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.05)
        after = server.rows(SESSIONS[server.config.type])

    # then
    assert (during, after) == ([(1,)], [(0,)])


@pytest.mark.parametrize("kind", NETWORK)
def test_an_unreachable_port_fails_the_test_with_the_reason(settings: Any, kind: str) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1"]
    config = SourceConfig(type=kind, host="127.0.0.1", port=1, database="sales", username="reader")

    # when
    result = connector_for(config).test()

    # then
    assert result.success is False
    assert "refused" in result.message.lower()
    assert (result.latency, result.server_version, result.database) == (None, None, None)


def test_a_wrong_password_fails_the_test_with_the_servers_reason(mysql_source: SourceDatabase) -> None:
    # given
    config = SourceConfig(**{**mysql_source.config.__dict__, "password": "wrong"})

    # when
    result = connector_for(config).test()

    # then
    assert result.success is False
    assert result.message.startswith(f"Access denied for user '{config.username}'@")


def test_an_unknown_role_fails_the_test_with_the_servers_reason(postgresql_source: SourceDatabase) -> None:
    # given: the local server trusts every password on 127.0.0.1, so a role that does not exist
    config = SourceConfig(**{**postgresql_source.config.__dict__, "username": "nobody_here", "password": "x"})

    # when
    result = connector_for(config).test()

    # then
    assert result.success is False
    assert 'role "nobody_here" does not exist' in result.message


def test_an_unknown_database_fails_the_test(server: SourceDatabase) -> None:
    # given
    config = SourceConfig(**{**server.config.__dict__, "database": "no_such_database"})

    # when
    result = connector_for(config).test()

    # then
    assert result.success is False
    assert "no_such_database" in result.message


def test_a_guarded_host_fails_the_test_without_connecting(server: SourceDatabase, settings: Any) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = []

    # when
    result = connector_for(server.config).test()

    # then
    assert result.success is False
    assert result.message.startswith("Refusing to connect to 127.0.0.1 (loopback address)")


def test_a_guarded_host_cannot_be_opened(server: SourceDatabase, settings: Any) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = []

    # when
    with pytest.raises(ConnectorError) as caught, connector_for(server.config).open("SELECT 1", {}, timeout=5):
        pass

    # then
    assert caught.value.field == "host"


def test_sqlite_test_fails_for_a_missing_file(datasource_root: Any) -> None:
    # when
    result = connector_for(SourceConfig(type="sqlite", database="gone.sqlite3")).test()

    # then
    assert (result.success, result.message) == (
        False,
        "There is no SQLite file 'gone.sqlite3' under the datasource root.",
    )
