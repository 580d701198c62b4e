"""Database connections: kept and health-checked on PostgreSQL by default, one per request on SQLite.

Each case imports ``informer.settings`` in a fresh process; parsing a URL connects to nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import informer.settings as s; d = s.DATABASES['default']; "
    "print(d['ENGINE'].rsplit('.', 1)[-1], d['CONN_MAX_AGE'], d.get('CONN_HEALTH_CHECKS', False))"
)
POSTGRES = "postgres://informer@db.invalid:5432/informer"


def database_settings(tmp_path: Path, **env: str) -> str:
    base = {
        key: value for key, value in os.environ.items() if key != "DB_CONN_MAX_AGE" and not key.startswith("DJANGO_")
    }
    base.update(INFORMER_VAR_DIR=str(tmp_path), **env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DATABASE_URL": POSTGRES}, "postgresql 60 True"),
        ({"DATABASE_URL": POSTGRES, "DB_CONN_MAX_AGE": "0"}, "postgresql 0 True"),
        ({"DATABASE_URL": POSTGRES, "DB_CONN_MAX_AGE": "600"}, "postgresql 600 True"),
        ({"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3"}, "sqlite3 0 False"),
        ({"DATABASE_URL": "sqlite:///{tmp}/db.sqlite3", "DB_CONN_MAX_AGE": "60"}, "sqlite3 60 False"),
    ],
    ids=["postgresql default", "postgresql 0", "postgresql 600", "sqlite default", "sqlite 60"],
)
def test_connection_lifetime(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    env = {key: value.replace("{tmp}", str(tmp_path)) for key, value in env.items()}

    assert database_settings(tmp_path, **env) == expected
