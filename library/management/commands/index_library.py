"""``manage.py index_library <id|naturalId> [--force] [--json]``: index a library for search now, with progress."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.core.management.color import Style

from informer.admin.display import admin_duration, admin_time
from informer.api.exceptions import DomainError
from informer.progress import logging_silenced, progress
from library.management.output import FilesCounter, summary_write
from library.models import Library
from library.selectors import library_lookup
from library.services.index import IndexProgress, IndexResult, library_index


class Command(BaseCommand):
    help = (
        "Index a library for search now: extract the text of its new and changed files (txt, md, csv, html, "
        "pdf, docx), cut it into chunks and embed them; unchanged files are not read again. --force indexes "
        "every file again. Shows a progress bar of files (and the chunks stored) on a terminal, a line now and "
        "then otherwise, then what it did, with each file's problem. Exits 1 when the library is unknown, is "
        "being indexed already, or files could not be indexed for a reason other than their own (a write or "
        "the embedder failing: they stay pending). Files with no text, of a format that is not indexed, or "
        "whose extraction fails are reported and do not fail the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("library", help="The library's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument("--force", action="store_true", help="Index every file again, not only new and changed.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        library = library_lookup(Library.objects.select_related("tenant"), options["library"])
        if library is None:
            raise CommandError(f"No library '{options['library']}'.")
        result = index_with_progress(self.stdout, library, force=options["force"], verbosity=options["verbosity"])
        if options["json"]:
            self.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            index_summary(self.stdout, self.style, library, result)
        if not result.success:
            raise CommandError(not_indexed_message(library))


def not_indexed_message(library: Library) -> str:
    return f"'{library.name}' was not fully indexed: files stay pending (see above); the next indexing takes them."


def index_with_progress(stdout: OutputWrapper, library: Library, *, force: bool, verbosity: int) -> IndexResult:
    """Index ``library`` under a progress bar of files on ``stdout``; CommandError when it cannot run."""
    files = progress(stdout, description=f"Indexing '{library.name}'", unit="files")
    with logging_silenced(verbosity < 2), files as report:
        counter: FilesCounter[IndexProgress] = FilesCounter(
            report, lambda state: state.chunks, lambda chunks: f"Indexing '{library.name}', {chunks:,} chunks"
        )
        try:
            return library_index(library, force=force, progress=counter)
        except DomainError as error:  # an indexing already going, the library deleted meanwhile
            raise CommandError(f"'{library.name}' was not indexed: {error.message}") from None


def index_summary(stdout: OutputWrapper, style: Style, library: Library, result: IndexResult) -> None:
    """What the indexing did, a line a count, then each file's problem, then a closing line."""
    lines = [
        f"indexed: {result.indexed}",
        f"unchanged: {result.unchanged}",
        f"no text: {result.no_text}",
        f"skipped: {result.skipped}",
        f"errors: {len(result.errors)}",
        f"chunks: {result.chunks}",
        f"duration: {admin_duration(result.duration)}",
        f"indexed at: {admin_time(library.indexed_at)}",
    ]
    done = f"Indexed '{library.name}' ({library.natural_id}) with {library.index_model}."
    summary_write(
        stdout,
        style,
        library_name=library.name,
        lines=lines,
        errors=result.errors,
        done=done if result.success else None,
    )
