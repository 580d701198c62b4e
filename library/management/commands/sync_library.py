"""``manage.py sync_library <id|naturalId> [--allow-mass-delete] [--json]``: sync a library now, with progress."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer.admin.display import admin_duration, admin_time
from informer.api.exceptions import DomainError
from informer.progress import logging_silenced, progress
from library.management.commands.index_library import index_summary, index_with_progress, not_indexed_message
from library.management.output import FilesCounter, summary_write
from library.models import Library
from library.selectors import library_lookup
from library.services.files import size_text
from library.services.index import IndexResult, index_after_sync
from library.services.sync import SyncProgress, SyncResult, library_sync


class Command(BaseCommand):
    help = (
        "Sync a library now, as POST /api/libraries/{id}/_sync does: list its integration, fetch the new and "
        "changed files, delete the ones gone, leave the unchanged ones alone. Shows a progress bar of files "
        "(and the bytes fetched) on a terminal, a line now and then otherwise, then what it did. Nothing is "
        "deleted after a listing that failed, nor more than half the files at once without "
        "--allow-mass-delete. Exits 1 when the library is unknown, is being synced already, or the sync did not "
        "succeed (a failed listing, a refused mass deletion, a failed download). An embedded library is then "
        "indexed (its new and changed files, with a progress bar of its own, as index_library does) unless the "
        "sync failed as a whole; --json then gives that result under 'index'. Exits 1 too when the indexing "
        "cannot run or leaves files pending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("library", help="The library's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument(
            "--allow-mass-delete",
            action="store_true",
            help="Delete the files gone from the remote even when they are more than half of the library's.",
        )
        parser.add_argument("--json", action="store_true", help="Print the answer as the API's JSON instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        library = library_lookup(Library.objects.select_related("tenant"), options["library"])
        if library is None:
            raise CommandError(f"No library '{options['library']}'.")
        files = progress(self.stdout, description=f"Syncing '{library.name}'", unit="files")
        with logging_silenced(options["verbosity"] < 2), files as report:
            counter: FilesCounter[SyncProgress] = FilesCounter(
                report,
                lambda state: state.bytes_done,
                lambda fetched: f"Syncing '{library.name}', {size_text(fetched)} fetched",
            )
            try:
                result = library_sync(library=library, allow_mass_delete=options["allow_mass_delete"], progress=counter)
            except DomainError as error:  # a sync already going
                raise CommandError(f"'{library.name}' was not synced: {error.message}") from None
        indexed: IndexResult | None = None
        if index_after_sync(library, result):
            try:
                indexed = index_with_progress(self.stdout, library, force=False, verbosity=options["verbosity"])
            except CommandError as error:
                # The sync is done and stays so: what it did is shown before the indexing's failure.
                self._show(library, result, None, json_output=options["json"])
                raise error from None
        self._show(library, result, indexed, json_output=options["json"])
        if not result.success:
            reason = next((error["error"] for error in result.errors if not error["path"]), None)
            failed = sum(1 for error in result.errors if error["error"].startswith("Download failed"))
            raise CommandError(
                f"'{library.name}' was not fully synced: {reason or f'{failed} file(s) could not be fetched.'}"
            )
        if indexed is not None and not indexed.success:
            raise CommandError(not_indexed_message(library))

    def _show(self, library: Library, result: SyncResult, indexed: IndexResult | None, *, json_output: bool) -> None:
        if json_output:
            answer = result.as_json()
            if indexed is not None:
                answer["index"] = indexed.to_dict()
            self.stdout.write(json.dumps(answer, ensure_ascii=False))
            return
        self._summary(library, result)
        if indexed is not None:
            index_summary(self.stdout, self.style, library, indexed)

    def _summary(self, library: Library, result: SyncResult) -> None:
        lines = [
            f"added: {result.added}",
            f"updated: {result.updated}",
            f"deleted: {result.deleted}",
            f"unchanged: {result.unchanged}",
            f"skipped: {result.skipped}",
            f"fetched: {size_text(result.bytes)}",
            f"duration: {admin_duration(result.duration / 1000)} ({result.duration} ms)",
            f"synced at: {admin_time(library.synced_at)}",
        ]
        done = f"Synced '{library.name}' ({library.natural_id}): {library.files} files, {size_text(library.size)}."
        summary_write(
            self.stdout,
            self.style,
            library_name=library.name,
            lines=lines,
            errors=result.errors,
            done=done if result.success else None,
        )
