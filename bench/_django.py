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
