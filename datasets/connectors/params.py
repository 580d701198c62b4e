"""``:name`` placeholders in a dataset's query: which names it uses, and the driver's paramstyle for them.

A query is scanned, not parsed: string literals, quoted identifiers, comments and PostgreSQL's
dollar-quoted strings are passed through untouched, so that ``':name'`` in a literal or ``-- :name`` in a
comment is text, and ``x::date`` is a cast, not a parameter. Values are never put into the SQL: the
driver binds them (``%(name)s`` for psycopg and PyMySQL, ``:name`` for sqlite3).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from datasets.connectors.base import QueryRefused

Dialect = Literal["sqlite", "postgresql", "mysql"]

# Segment kinds: code is SQL text, quoted a literal or quoted identifier, comment a comment, param a
# placeholder (its text is the name) and end the ``;`` between statements.
Kind = Literal["code", "quoted", "comment", "param", "end"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _quoted_end(query: str, start: int, quote: str, backslash: bool) -> int:
    """Index just past the literal opened by the quote at ``start`` (doubled quotes and escapes inside)."""
    i = start + 1
    while i < len(query):
        char = query[i]
        if backslash and char == "\\":
            i += 2
            continue
        if char == quote:
            if query.startswith(quote, i + 1):  # a doubled quote is one quote character
                i += 2
                continue
            return i + 1
        i += 1
    return len(query)  # unterminated: the server reports it


def _block_comment_end(query: str, start: int, nested: bool) -> int:
    """Index just past the ``/* … */`` comment opened at ``start`` (PostgreSQL nests them)."""
    depth, i = 1, start + 2
    while i < len(query):
        if nested and query.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif query.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(query)


def _special(query: str, i: int, dialect: Dialect) -> tuple[Kind, int] | None:
    """The kind and end of a literal, identifier or comment starting at ``i``, or None for plain code."""
    char, previous = query[i], query[i - 1] if i else ""
    if char == "'":
        escaped = dialect == "mysql" or (
            dialect == "postgresql" and previous in "eE" and (i < 2 or not _is_word_char(query[i - 2]))
        )
        return "quoted", _quoted_end(query, i, "'", escaped)
    if char == '"':  # an identifier in PostgreSQL and SQLite, a string in MySQL
        return "quoted", _quoted_end(query, i, '"', dialect == "mysql")
    if char == "`" and dialect != "postgresql":
        return "quoted", _quoted_end(query, i, "`", False)
    if char == "[" and dialect == "sqlite":
        end = query.find("]", i + 1)
        return "quoted", len(query) if end < 0 else end + 1
    if query.startswith("--", i) and (dialect != "mysql" or query[i + 2 : i + 3] in ("", " ", "\t", "\n", "\r")):
        end = query.find("\n", i)
        return "comment", len(query) if end < 0 else end
    if char == "#" and dialect == "mysql":
        end = query.find("\n", i)
        return "comment", len(query) if end < 0 else end
    if query.startswith("/*", i):
        return "comment", _block_comment_end(query, i, dialect == "postgresql")
    dollar = char == "$" and dialect == "postgresql" and not _is_word_char(previous)
    if dollar and (match := _DOLLAR_TAG.match(query, i)):
        end = query.find(match.group(0), match.end())
        return "quoted", len(query) if end < 0 else end + len(match.group(0))
    return None


def scan(query: str, dialect: Dialect = "postgresql") -> Iterator[tuple[Kind, str]]:
    """The query as segments ``(kind, text)``; joining the texts back (params as ``:name``) gives it again."""
    i, code_start = 0, 0
    while i < len(query):
        char = query[i]
        special = _special(query, i, dialect)
        if special is None and char == ":":
            if query.startswith("::", i):  # a PostgreSQL cast: neither colon starts a name
                i += 2
                continue
            previous = query[i - 1] if i else ""
            match = _NAME.match(query, i + 1)
            if match and not _is_word_char(previous):
                if code_start < i:
                    yield "code", query[code_start:i]
                yield "param", match.group(0)
                i = code_start = match.end()
                continue
        if special is None and char == ";":
            if code_start < i:
                yield "code", query[code_start:i]
            yield "end", ";"
            i = code_start = i + 1
            continue
        if special is None:
            i += 1
            continue
        kind, end = special
        if code_start < i:
            yield "code", query[code_start:i]
        yield kind, query[i:end]
        i = code_start = end
    if code_start < len(query):
        yield "code", query[code_start:]


def placeholders(query: str, dialect: Dialect = "postgresql") -> list[str]:
    """The ``:name`` placeholders ``query`` uses, each once, in order of first use."""
    names = (text for kind, text in scan(query, dialect) if kind == "param")
    return list(dict.fromkeys(names))


def used_params(names: list[str], params: dict[str, Any]) -> dict[str, Any]:
    """The values of the ``names`` a query uses; QueryRefused naming the first one ``params`` lacks."""
    missing = [name for name in names if name not in params]
    if missing:
        listed = ", ".join(f":{name}" for name in missing)
        raise QueryRefused(
            f"The query uses {listed}, which the dataset does not declare as a parameter.", field="params"
        )
    return {name: params[name] for name in names}


def to_pyformat(query: str, dialect: Dialect = "postgresql") -> str:
    """``query`` in psycopg's and PyMySQL's style: ``:name`` → ``%(name)s``, every literal ``%`` doubled."""
    # Both drivers run the whole string through %-formatting, literals and comments included.
    return "".join(f"%({text})s" if kind == "param" else text.replace("%", "%%") for kind, text in scan(query, dialect))


def to_named(query: str) -> str:
    """``query`` in sqlite3's named style (``:name``, which SQLite itself reads past literals)."""
    return "".join(f":{text}" if kind == "param" else text for kind, text in scan(query, "sqlite"))


def statements(query: str, dialect: Dialect = "postgresql") -> list[str]:
    """The statements of ``query`` split at ``;`` (outside literals and comments), empty ones dropped."""
    found: list[str] = []
    current: list[str] = []
    meaningful = False  # whether the current statement has more than blanks and comments
    for kind, text in scan(query, dialect):
        if kind == "end":
            if meaningful:
                found.append("".join(current))
            current, meaningful = [], False
            continue
        current.append(f":{text}" if kind == "param" else text)
        meaningful = meaningful or kind in ("quoted", "param") or (kind == "code" and bool(text.strip()))
    if meaningful:
        found.append("".join(current))
    return [statement.strip() for statement in found]


def keywords(statement: str, dialect: Dialect = "postgresql") -> list[str]:
    """The bare words of ``statement``'s SQL text (not literals, quoted names or comments), upper-cased."""
    words: list[str] = []
    for kind, text in scan(statement, dialect):
        if kind == "code":
            words.extend(word.upper() for word in _WORD.findall(text))
    return words
