"""§8 safety before any connection: SQLite files under the root only, guarded hosts, never our own database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from datasets.connectors.base import ConnectorError, QueryRefused, SourceConfig
from datasets.connectors.registry import connector_for
from datasets.connectors.safety import read_only_statement


def refusal(config: SourceConfig) -> ConnectorError:
    """The error ``validate()`` raises for ``config`` (the test fails if it raises none)."""
    with pytest.raises(ConnectorError) as caught:
        connector_for(config).validate()
    return caught.value


def sqlite(database: str) -> SourceConfig:
    return SourceConfig(type="sqlite", database=database)


# SQLite paths


@pytest.mark.parametrize(
    ("database", "message"),
    [
        (
            "/etc/passwd",
            "Refusing SQLite path '/etc/passwd': absolute paths are not allowed; give a path relative to the "
            "datasource root.",
        ),
        ("../outside.sqlite3", "Refusing SQLite path '../outside.sqlite3': '..' is not allowed in it."),
        ("sub/../../outside.sqlite3", "Refusing SQLite path 'sub/../../outside.sqlite3': '..' is not allowed in it."),
        ("sub\\..\\x.sqlite3", "Refusing SQLite path 'sub\\\\..\\\\x.sqlite3': '..' is not allowed in it."),
        ("missing.sqlite3", "There is no SQLite file 'missing.sqlite3' under the datasource root."),
        ("sub", "There is no SQLite file 'sub' under the datasource root."),
        ("", "Give the SQLite file's path relative to the datasource root."),
    ],
)
def test_sqlite_paths_outside_the_root_are_refused(datasource_root: Path, database: str, message: str) -> None:
    # given
    (datasource_root / "sub").mkdir()

    # when
    error = refusal(sqlite(database))

    # then
    assert (error.field, error.message) == ("database", message)


def test_a_symlink_out_of_the_root_is_refused(datasource_root: Path, tmp_path: Path) -> None:
    # given
    outside = tmp_path / "outside.sqlite3"
    outside.write_bytes(b"")
    (datasource_root / "link.sqlite3").symlink_to(outside)
    (datasource_root / "dir").symlink_to(tmp_path, target_is_directory=True)

    # when
    errors = [refusal(sqlite("link.sqlite3")), refusal(sqlite("dir/outside.sqlite3"))]

    # then
    assert [(error.field, error.message) for error in errors] == [
        ("database", "Refusing SQLite path 'link.sqlite3': it leads outside the datasource root (through a symlink)."),
        (
            "database",
            "Refusing SQLite path 'dir/outside.sqlite3': it leads outside the datasource root (through a symlink).",
        ),
    ]


def test_a_symlink_inside_the_root_is_followed(sqlite_source: Any, datasource_root: Path) -> None:
    # given
    sqlite_source.execute("CREATE TABLE t (x integer); INSERT INTO t VALUES (7);")
    (datasource_root / "sub").mkdir()
    (datasource_root / "sub" / "alias.sqlite3").symlink_to(datasource_root / "source.sqlite3")
    connector = connector_for(sqlite("sub/alias.sqlite3"))

    # when
    with connector.open("SELECT x FROM t", {}, timeout=5) as stream:
        rows = [row for batch in stream.batches(10) for row in batch]

    # then
    assert rows == [(7,)]


def test_attach_is_refused_even_past_the_lexical_check(sqlite_source: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    monkeypatch.setattr("datasets.connectors.sqlite.read_only_statement", lambda query, dialect: query)

    # when
    with (
        pytest.raises(QueryRefused) as caught,
        connector_for(sqlite_source.config).open("ATTACH DATABASE 'other.sqlite3' AS other", {}, timeout=5),
    ):
        pass

    # then
    assert caught.value.message == "The query is not allowed on a datasource (not authorized)."


def test_the_services_own_sqlite_database_is_refused(
    settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given: an alias whose file lies under the datasource root
    settings.INFORMER_DATASOURCE_ROOT = tmp_path
    (tmp_path / "service.sqlite3").write_bytes(b"")
    monkeypatch.setitem(
        settings.DATABASES,
        "archive",
        {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "service.sqlite3")},
    )
    os.symlink(tmp_path / "service.sqlite3", tmp_path / "other-name.sqlite3")

    # when
    errors = [refusal(sqlite("service.sqlite3")), refusal(sqlite("other-name.sqlite3"))]

    # then
    assert [(error.field, error.message) for error in errors] == [
        ("database", "Refusing SQLite path 'service.sqlite3': it is this service's own database ('archive')."),
        ("database", "Refusing SQLite path 'other-name.sqlite3': it is this service's own database ('archive')."),
    ]


def test_the_services_default_database_is_refused(settings: Any, db: Any) -> None:
    # given: whichever database this test run uses
    from django.db import connection

    entry = connection.settings_dict
    if connection.vendor == "sqlite":
        path = Path(entry["NAME"]).resolve()
        settings.INFORMER_DATASOURCE_ROOT = path.parent
        config = sqlite(path.name)
    else:
        settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1", "localhost", "::1"]
        kind = "postgresql" if connection.vendor == "postgresql" else "mysql"
        config = SourceConfig(
            type=kind, host=entry["HOST"] or "localhost", port=entry["PORT"] or None, database=entry["NAME"]
        )

    # when
    error = refusal(config)

    # then
    assert error.field == "database"
    assert error.message.endswith("it is this service's own database ('default').")


# Network hosts


def network(host: str, *, type: str = "postgresql", port: int | None = None, database: str = "sales") -> SourceConfig:
    return SourceConfig(type=type, host=host, port=port, database=database, username="reader")


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
@pytest.mark.parametrize(
    ("host", "message"),
    [
        (
            "127.0.0.1",
            "Refusing to connect to 127.0.0.1 (loopback address) for host '127.0.0.1'; add 127.0.0.1 to "
            "INFORMER_DATASOURCE_ALLOW to allow it.",
        ),
        (
            "::1",
            "Refusing to connect to ::1 (loopback address) for host '::1'; add ::1 to INFORMER_DATASOURCE_ALLOW to "
            "allow it.",
        ),
        (
            "10.1.2.3",
            "Refusing to connect to 10.1.2.3 (private address) for host '10.1.2.3'; add 10.1.2.3 to "
            "INFORMER_DATASOURCE_ALLOW to allow it.",
        ),
        (
            "169.254.169.254",
            "Refusing to connect to 169.254.169.254 (cloud metadata address) for host '169.254.169.254'; add "
            "169.254.169.254 to INFORMER_DATASOURCE_ALLOW to allow it.",
        ),
        ("db.example.com/x", "Refusing host 'db.example.com/x': it is not a host name or an IP address."),
        ("user@db", "Refusing host 'user@db': it is not a host name or an IP address."),
        ("", "Give the server's host name or address."),
    ],
)
def test_guarded_hosts_are_refused(settings: Any, kind: str, host: str, message: str) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = []

    # when
    error = refusal(network(host, type=kind))

    # then
    assert (error.field, error.message) == ("host", message)


def test_a_name_resolving_to_loopback_is_refused(settings: Any) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = []

    # when
    error = refusal(network("localhost"))

    # then: whichever loopback address the resolver gives first
    assert error.field == "host"
    assert error.message.startswith("Refusing to connect to ")
    assert "(loopback address) for host 'localhost'; add 'localhost' or " in error.message
    assert error.message.endswith(" to INFORMER_DATASOURCE_ALLOW to allow it.")


@pytest.mark.parametrize("allow", [["127.0.0.1", "::1"], ["localhost"], ["127.0.0.0/8", "::1"], "localhost"])
def test_the_allow_list_lifts_the_guard(settings: Any, allow: Any) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = allow

    # when
    connector_for(network("localhost")).validate()

    # then: no refusal (an entry lifts the host's name or the address it resolves to)


def test_a_port_out_of_range_is_refused(settings: Any) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1"]

    # when
    error = refusal(network("127.0.0.1", port=70000))

    # then
    assert (error.field, error.message) == ("port", "Port 70000 is not between 1 and 65535.")


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"sslmode": "sometimes"}, "options.sslmode", "sslmode must be one of "),
        ({"connectTimeout": 0}, "options.connectTimeout", "connectTimeout must be a number of seconds from 1 to 300."),
        (
            {"connectTimeout": "5"},
            "options.connectTimeout",
            "connectTimeout must be a number of seconds from 1 to 300.",
        ),
        ({"colour": "blue"}, "options.colour", "Unknown option 'colour'."),
    ],
)
@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_bad_options_are_refused(settings: Any, kind: str, options: dict[str, Any], field: str, message: str) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1"]
    config = SourceConfig(type=kind, host="127.0.0.1", database="sales", options=options)

    # when
    error = refusal(config)

    # then
    assert error.field == field
    assert error.message.startswith(message)


@pytest.mark.parametrize(
    ("kind", "alias_host", "host", "database", "refused"),
    [
        ("postgresql", "localhost", "127.0.0.1", "reporting", True),  # same server under another name
        ("postgresql", "127.0.0.1", "localhost", "reporting", True),
        ("postgresql", "", "127.0.0.2", "reporting", True),  # a local socket and another loopback address
        ("postgresql", "127.0.0.1", "127.0.0.1", "sales", False),  # another database on that server
        ("mysql", "localhost", "127.0.0.1", "REPORTING", True),  # MySQL names ignore case
        ("mysql", "localhost", "127.0.0.1", "sales", False),
    ],
)
def test_the_services_own_database_is_refused_whatever_the_alias(
    settings: Any, monkeypatch: pytest.MonkeyPatch, kind: str, alias_host: str, host: str, database: str, refused: bool
) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.0/8", "localhost"]
    engine = {"postgresql": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}[kind]
    monkeypatch.setitem(settings.DATABASES, "reporting", {"ENGINE": engine, "HOST": alias_host, "NAME": "reporting"})
    config = network(host, type=kind, database=database)

    # when
    if not refused:
        connector_for(config).validate()
        return
    error = refusal(config)

    # then
    port = {"postgresql": 5432, "mysql": 3306}[kind]
    assert (error.field, error.message) == (
        "database",
        f"Refusing {host}:{port}/{database}: it is this service's own database ('reporting').",
    )


def test_another_port_is_another_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    settings.INFORMER_DATASOURCE_ALLOW = ["127.0.0.1"]
    monkeypatch.setitem(
        settings.DATABASES,
        "reporting",
        {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": "5433", "NAME": "reporting"},
    )

    # when
    connector_for(network("127.0.0.1", database="reporting")).validate()

    # then: no refusal


# Statements


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "select * from t;",
        "  -- a report\nSELECT 1 -- done",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "(SELECT 1) UNION (SELECT 2)",
        "VALUES (1), (2)",
        "SELECT * FROM t FOR UPDATE",  # a lock, which the read-only transaction refuses by itself
        "SELECT 'DELETE FROM t; INSERT INTO t'",
        'SELECT "update" FROM t',
        "SELECT updated_at, deleted FROM t",
    ],
)
def test_read_only_statements_pass(query: str) -> None:
    assert read_only_statement(query, "postgresql") == query.strip().rstrip(";")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "The query is empty."),
        ("-- nothing", "The query is empty."),
        (
            "SELECT 1; SELECT 2",
            "The query holds 2 statements joined by ';'; a dataset runs exactly one read-only statement.",
        ),
        (
            "DELETE FROM t",
            "Only a read-only query may run (SELECT, WITH, VALUES or TABLE); this one starts with DELETE.",
        ),
        (
            "/* hi */ drop table t",
            "Only a read-only query may run (SELECT, WITH, VALUES or TABLE); this one starts with DROP.",
        ),
        (
            "'x'",
            "Only a read-only query may run (SELECT, WITH, VALUES or TABLE); this one does not start with a keyword.",
        ),
        (
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
            "The query writes (WITH … DELETE); a dataset runs read-only queries only.",
        ),
        (
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
            "The query writes (WITH … INSERT); a dataset runs read-only queries only.",
        ),
        (
            "SELECT * INTO copy FROM t",
            "The query writes its result somewhere (SELECT … INTO); a dataset runs read-only queries only.",
        ),
        (
            "SELECT * FROM t INTO OUTFILE '/tmp/x'",
            "The query writes its result somewhere (SELECT … INTO); a dataset runs read-only queries only.",
        ),
    ],
)
def test_other_statements_are_refused(query: str, message: str) -> None:
    with pytest.raises(QueryRefused) as caught:
        read_only_statement(query, "mysql" if "OUTFILE" in query else "postgresql")

    assert (caught.value.field, caught.value.message) == ("query", message)
