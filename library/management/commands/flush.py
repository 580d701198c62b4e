"""``flush`` as Django's, able to empty a database that has the pgvector table.

``library_chunkvector`` is not a Django-managed table, so Django's flush leaves it out of its
``TRUNCATE``; and PostgreSQL refuses to truncate ``library_chunk`` while another table's foreign key
points at it. Where that table exists the truncation cascades, which empties it too (the tests'
``transactional_db`` flushes between tests this way).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import DEFAULT_DB_ALIAS

from library.vectors import pgvector_available


class Command(DjangoFlushCommand):
    def handle(self, **options: Any) -> None:
        if pgvector_available(options.get("database") or DEFAULT_DB_ALIAS):
            options["allow_cascade"] = True
        super().handle(**options)
