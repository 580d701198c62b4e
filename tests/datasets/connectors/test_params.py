"""``:name`` placeholders: found past literals, comments and casts; rewritten to each driver's style."""

from __future__ import annotations

import pytest

from datasets.connectors.base import QueryRefused
from datasets.connectors.params import placeholders, statements, to_named, to_pyformat, used_params

PLACEHOLDERS = [
    ("SELECT * FROM t WHERE a = :a AND b = :b OR a = :a", "postgresql", ["a", "b"]),
    ("SELECT ':a', :b", "postgresql", ["b"]),
    ("SELECT 'it''s :a', :b", "postgresql", ["b"]),
    ("SELECT E'\\' :a', :b", "postgresql", ["b"]),
    ("SELECT '\\', :b", "postgresql", ["b"]),  # a standard string: the backslash is a character
    ("SELECT 'it\\'s :a', :b", "mysql", ["b"]),
    ('SELECT "col:a", :b', "postgresql", ["b"]),
    ("SELECT `col:a`, :b", "mysql", ["b"]),
    ("SELECT [col:a], :b", "sqlite", ["b"]),
    ("SELECT :b -- :a\n", "postgresql", ["b"]),
    ("SELECT :b # :a\n", "mysql", ["b"]),
    ("SELECT /* :a /* :c */ :d */ :b", "postgresql", ["b"]),
    ("SELECT $$ :a $$, $tag$ :c $tag$, :b", "postgresql", ["b"]),
    ("SELECT created::date, :b::integer, x :: text", "postgresql", ["b"]),
    ("SELECT arr[lo:hi], :b", "postgresql", ["b"]),
    ("SELECT @x := 1, :b", "mysql", ["b"]),
    ("SELECT :first_name, :_x2", "sqlite", ["first_name", "_x2"]),
    ("SELECT 1", "postgresql", []),
]


@pytest.mark.parametrize(("query", "dialect", "expected"), PLACEHOLDERS)
def test_placeholders(query: str, dialect: str, expected: list[str]) -> None:
    assert placeholders(query, dialect) == expected  # type: ignore[arg-type]


def test_to_pyformat_binds_names_and_doubles_percent_signs() -> None:
    query = "SELECT ':a', x::text FROM t WHERE name LIKE 'W%' AND n = :n -- 100%\nAND m = :m"

    assert to_pyformat(query) == (
        "SELECT ':a', x::text FROM t WHERE name LIKE 'W%%' AND n = %(n)s -- 100%%\nAND m = %(m)s"
    )


def test_to_named_keeps_sqlite_style() -> None:
    assert to_named("SELECT ':a', :b FROM t") == "SELECT ':a', :b FROM t"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;", ["SELECT 1"]),
        ("SELECT 1; -- done\n", ["SELECT 1"]),
        ("SELECT ';'", ["SELECT ';'"]),
        ("SELECT 1; DELETE FROM t", ["SELECT 1", "DELETE FROM t"]),
        ("  ;; ", []),
    ],
)
def test_statements(query: str, expected: list[str]) -> None:
    assert statements(query) == expected


def test_used_params_names_the_missing_one() -> None:
    with pytest.raises(QueryRefused) as caught:
        used_params(["region", "since"], {"region": "West"})

    assert caught.value.field == "params"
    assert caught.value.message == "The query uses :since, which the dataset does not declare as a parameter."


def test_used_params_keeps_only_the_used_ones() -> None:
    assert used_params(["region"], {"region": "West", "other": 1}) == {"region": "West"}
