from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_pgvector(using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and flush): the pgvector table where the server has the extension."""
    from library.vectors import ensure_pgvector  # models are not ready when apps.py is imported

    ensure_pgvector(using)


class LibraryConfig(AppConfig):
    name = "library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Sent once per app after each migrate; only this app's signal is taken, so it runs once.
        post_migrate.connect(_ensure_pgvector, sender=self, dispatch_uid="library.ensure_pgvector")
