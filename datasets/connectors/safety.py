"""The §8 safety rules a datasource passes before any connection: where it may point, and what it may run.

SQLite files live under ``INFORMER_DATASOURCE_ROOT`` and nowhere else; network hosts pass the webhooks'
address guard (``INFORMER_DATASOURCE_ALLOW`` lifts it); the service's own database is refused whatever
alias or host name reaches it. Queries are one read-only statement: the read-only transaction of each
engine is the real guard, the lexical check here only gives a clearer message earlier.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import os
import re
import socket
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from django.conf import settings

from datasets.connectors.base import ConnectorError, QueryRefused
from datasets.connectors.params import Dialect, keywords, statements
from informer.outbound import OutboundBlocked, OutboundError, check_host

ALLOW_SETTING = "INFORMER_DATASOURCE_ALLOW"
_HOST = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$")
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_READ_FIRST_WORDS = ("SELECT", "WITH", "VALUES", "TABLE")
_WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})


def sqlite_path(database: str) -> Path:
    """The SQLite file ``database`` names under the datasource root, resolved; refuse anything else."""
    name = (database or "").strip()
    if not name:
        raise ConnectorError("Give the SQLite file's path relative to the datasource root.", field="database")
    if "\x00" in name:
        raise ConnectorError("The SQLite path contains a NUL character.", field="database")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise ConnectorError(
            f"Refusing SQLite path {name!r}: absolute paths are not allowed; give a path relative to the "
            "datasource root.",
            field="database",
        )
    if ".." in re.split(r"[\\/]", name):
        raise ConnectorError(f"Refusing SQLite path {name!r}: '..' is not allowed in it.", field="database")
    root = Path(settings.INFORMER_DATASOURCE_ROOT).resolve()
    resolved = (root / name).resolve()  # follows symlinks, so one pointing out of the root is caught below
    if not resolved.is_relative_to(root):
        raise ConnectorError(
            f"Refusing SQLite path {name!r}: it leads outside the datasource root (through a symlink).",
            field="database",
        )
    if not resolved.is_file():
        raise ConnectorError(f"There is no SQLite file {name!r} under the datasource root.", field="database")
    for alias, entry in _service_databases():
        if "sqlite3" in entry["ENGINE"] and _same_file(resolved, entry["NAME"]):
            raise ConnectorError(
                f"Refusing SQLite path {name!r}: it is this service's own database ({alias!r}).", field="database"
            )
    return resolved


def network_addresses(type: str, host: str, port: int | None, database: str) -> list[str]:
    """The validated addresses of a network datasource's host; refuse guarded hosts and the own database."""
    host = (host or "").strip()
    if not host:
        raise ConnectorError("Give the server's host name or address.", field="host")
    literal = _ip_literal(host)
    if literal is None and not _HOST.match(host):
        raise ConnectorError(f"Refusing host {host!r}: it is not a host name or an IP address.", field="host")
    port = port or _DEFAULT_PORTS[type]
    if not 0 < port < 65536:
        raise ConnectorError(f"Port {port} is not between 1 and 65535.", field="port")
    try:
        ips = check_host(literal or host, port, allow_hosts=_allow_entries(), allow_setting=ALLOW_SETTING)
    except OutboundBlocked as exc:
        raise ConnectorError(exc.reason, field="host") from None
    except OutboundError as exc:
        raise ConnectorError(str(exc), field="host", permanent=False) from None
    for alias, entry in _service_databases():
        if _same_server(type, ips, port, database, entry):
            raise ConnectorError(
                f"Refusing {host}:{port}/{database}: it is this service's own database ({alias!r}).",
                field="database",
            )
    return ips


def read_only_statement(query: str, dialect: Dialect) -> str:
    """``query`` as the single read-only statement it must be (trailing ``;`` dropped); QueryRefused if not."""
    found = statements(query, dialect)
    if not found:
        raise QueryRefused("The query is empty.", field="query")
    if len(found) > 1:
        raise QueryRefused(
            f"The query holds {len(found)} statements joined by ';'; a dataset runs exactly one read-only statement.",
            field="query",
        )
    statement = found[0]
    words = keywords(statement, dialect)
    first = words[0] if words else ""
    if first not in _READ_FIRST_WORDS:
        shown = f"starts with {first}" if first else "does not start with a keyword"
        raise QueryRefused(
            f"Only a read-only query may run (SELECT, WITH, VALUES or TABLE); this one {shown}.", field="query"
        )
    for index, word in enumerate(words):
        previous = words[index - 1] if index else ""
        # ``FOR UPDATE`` / ``FOR NO KEY UPDATE`` lock rows, they do not write them.
        if word in _WRITE_WORDS and previous not in ("FOR", "KEY"):
            raise QueryRefused(
                f"The query writes ({first} … {word}); a dataset runs read-only queries only.", field="query"
            )
        if word == "INTO":
            raise QueryRefused(
                "The query writes its result somewhere (SELECT … INTO); a dataset runs read-only queries only.",
                field="query",
            )
    return statement


def _allow_entries() -> list[str]:
    value: Any = getattr(settings, ALLOW_SETTING, None) or []
    return [value] if isinstance(value, str) else [str(entry) for entry in value]


def _ip_literal(host: str) -> str | None:
    """``host`` as an IP address string when it is one (``[::1]`` included), else None."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host.strip("[]")))
    return None


def _service_databases() -> list[tuple[str, dict[str, Any]]]:
    """Every database alias of this service, with its test name as a second entry when one is set."""
    found: list[tuple[str, dict[str, Any]]] = []
    for alias, entry in settings.DATABASES.items():
        found.append((alias, {"ENGINE": entry.get("ENGINE", ""), **entry}))
        test_name = (entry.get("TEST") or {}).get("NAME")
        if test_name:
            found.append((alias, {"ENGINE": entry.get("ENGINE", ""), **entry, "NAME": test_name}))
    return found


def _same_file(path: Path, name: Any) -> bool:
    if not name or str(name) == ":memory:" or str(name).startswith("file:"):
        return False
    other = Path(str(name))
    with contextlib.suppress(OSError):
        if other.exists():
            return os.path.samefile(path, other)
    return path == other.resolve()


def _addresses(host: str) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses ``host`` resolves to; an empty host (a local socket) is this machine's loopback."""
    if not host or host.startswith("/"):
        return {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    if literal := _ip_literal(host):
        return {ipaddress.ip_address(literal)}
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}


def _same_server(type: str, ips: list[str], port: int, database: str, entry: dict[str, Any]) -> bool:
    """Whether ``ips:port/database`` is the database of the service's alias ``entry``."""
    engine = str(entry["ENGINE"])
    kind = "postgresql" if "postgresql" in engine or "postgis" in engine else "mysql" if "mysql" in engine else ""
    if not kind:
        return False
    if int(entry.get("PORT") or _DEFAULT_PORTS[kind]) != port:
        return False
    name = str(entry.get("NAME") or "")
    same_name = name.casefold() == database.casefold() if type == "mysql" else name == database
    if not same_name:
        return False
    source = {ipaddress.ip_address(ip) for ip in ips}
    service = _addresses(str(entry.get("HOST") or ""))
    # Every loopback address is this machine: 127.0.0.2 reaches the server that listens on 127.0.0.1.
    return bool(source & service) or (all(ip.is_loopback for ip in source) and any(i.is_loopback for i in service))


def connect_timeout(options: dict[str, Any], default: int = 10) -> int:
    """The ``connectTimeout`` option in whole seconds (1 to 300), refused when it is anything else."""
    value = options.get("connectTimeout", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 300:
        raise ConnectorError(
            "connectTimeout must be a number of seconds from 1 to 300.", field="options.connectTimeout"
        )
    return math.ceil(value)


def option_choice(options: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    """A text option that must be one of ``choices``."""
    value = options.get(name, default)
    if value not in choices:
        raise ConnectorError(f"{name} must be one of {', '.join(choices)}.", field=f"options.{name}")
    return str(value)


def network_schema(*, default_port: int, ssl_modes: tuple[str, ...]) -> dict[str, Any]:
    """The settings schema of a database on a network host (PostgreSQL, MySQL): the same fields for both."""
    return {
        "type": "object",
        "required": ["host", "database", "username"],
        "properties": {
            "host": {"type": "string", "title": "Host", "minLength": 1},
            "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535, "default": default_port},
            "database": {"type": "string", "title": "Database", "minLength": 1},
            "username": {"type": "string", "title": "User"},
            "password": {"type": "string", "title": "Password", "writeOnly": True},
            "options": {
                "type": "object",
                "properties": {
                    "sslmode": {"type": "string", "enum": list(ssl_modes), "default": "prefer"},
                    "connectTimeout": {"type": "integer", "minimum": 1, "maximum": 300, "default": 10},
                },
                "additionalProperties": False,
            },
        },
    }


def network_options(options: dict[str, Any] | None, database: str, ssl_modes: tuple[str, ...]) -> tuple[str, int]:
    """A network database's ``(sslmode, connect timeout)``; unknown options and no database name refused."""
    options = options or {}
    unknown = sorted(set(options) - {"sslmode", "connectTimeout"})
    if unknown:
        raise ConnectorError(f"Unknown option {unknown[0]!r}.", field=f"options.{unknown[0]}")
    if not database.strip():
        raise ConnectorError("Give the name of the database.", field="database")
    return option_choice(options, "sslmode", ssl_modes, "prefer"), connect_timeout(options)
