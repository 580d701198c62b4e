"""Boot Django for a benchmark script against its own database (never the development one)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(name: str) -> None:
    """Point Django at a benchmark database (``var/bench-<name>.sqlite3`` unless DATABASE_URL is set)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "informer.settings")
    if "DATABASE_URL" not in os.environ:
        (ROOT / "var").mkdir(exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / f'bench-{name}.sqlite3'}"
    import django

    django.setup()


def header(title: str) -> str:
    """A first line naming the machine the figures come from."""
    from django.db import connection

    return (
        f"{title} | {os.cpu_count()} cores | Python {platform.python_version()} | "
        f"{connection.vendor} | {platform.platform()}"
    )


def bench_database(kind: str, service_url: str) -> None:
    """Point DATABASE_URL at a benchmark database before Django starts, creating a PostgreSQL one if missing.

    ``service_url`` is taken for ``--service postgresql`` when DATABASE_URL is unset; with ``sqlite`` and no
    DATABASE_URL, ``setup`` picks the script's own file. A DATABASE_URL whose database name lacks ``bench``
    ends the run, so a benchmark never writes to (or drops) a development or production database.
    """
    from urllib.parse import urlparse

    url = os.environ.get("DATABASE_URL")
    if url is None and kind == "postgresql":
        url = os.environ["DATABASE_URL"] = service_url
    if url is None:
        return
    name = Path(urlparse(url).path).name
    if "bench" not in name:
        sys.exit(f"DATABASE_URL names {name!r}: use a benchmark database (its name containing 'bench').")
    if url.startswith("postgres"):
        import psycopg

        admin = url.replace(urlparse(url).path, "/postgres", 1)
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    """Remove the benchmark database Django is connected to (PostgreSQL: dropped, with force; SQLite: the files)."""
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    connection.close()
    if connection.vendor == "postgresql":
        import psycopg

        admin = f"host={db['HOST']} port={db['PORT'] or 5432} dbname=postgres user={db['USER']}"
        with psycopg.connect(
            admin + (f" password={db['PASSWORD']}" if db.get("PASSWORD") else ""), autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}" WITH (FORCE)')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
