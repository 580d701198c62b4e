"""``manage.py search_library <id|naturalId> <query> [--limit N]``: search a library by meaning, as ``_search``."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer.api.exceptions import DomainError
from library.embedding import get_embedder
from library.models import Library
from library.selectors import library_lookup
from library.services.search import DEFAULT_LIMIT, SearchHit, search_libraries

SNIPPET_CHARS = 160
_SPACE = re.compile(r"\s+")


def snippet(text: str, most: int = SNIPPET_CHARS) -> str:
    """``text`` on one line (runs of whitespace as one space), cut at ``most`` characters with an ellipsis."""
    line = _SPACE.sub(" ", text).strip()
    return line if len(line) <= most else line[: most - 1].rstrip() + "…"


class Command(BaseCommand):
    help = (
        "Search a library's indexed files by meaning, as GET /api/libraries/{id}/_search does, and print the "
        "results best first: the score (cosine similarity), the file's path, the page (PDFs) and chunk, and "
        "the start of the chunk's text. Exits 1 when the library is unknown, is not indexed with the current "
        "embedding model (run index_library first), or the query or --limit is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("library", help="The library's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument("query", help="The text to search for (not blank; at most 1000 characters).")
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="How many results, 1 to 100 (10).")

    def handle(self, *args: Any, **options: Any) -> None:
        library = library_lookup(Library.objects.select_related("tenant"), options["library"])
        if library is None:
            raise CommandError(f"No library '{options['library']}'.")
        try:
            hits = search_libraries([library], options["query"], limit=options["limit"])
        except DomainError as error:
            raise CommandError(error.message) from None
        # Checked after the query so a refused query says so first; an unindexed library is not "no results".
        model = get_embedder().name
        if not library.index_model:
            raise CommandError(f"'{library.name}' is not indexed yet: run index_library first.")
        if library.index_model != model:
            raise CommandError(
                f"'{library.name}' is indexed with '{library.index_model}', not the current model '{model}': "
                "run index_library first."
            )
        if not hits:
            self.stdout.write(f"No results in '{library.name}'.")
            return
        for rank, hit in enumerate(hits, start=1):
            self.stdout.write(self._line(rank, hit))
            self.stdout.write(f"       {snippet(hit.text)}")

    def _line(self, rank: int, hit: SearchHit) -> str:
        where = f"{hit.path}, page {hit.page}" if hit.page is not None else hit.path
        return f"{rank:>3}. {hit.score:.4f}  {where}  (chunk {hit.chunk})"
