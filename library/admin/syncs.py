"""The library admin's "Sync now": a button on a library's page and an action on the list.

A sync runs inline, in the admin's request, and the page then says how it went (files added, updated,
deleted, unchanged and skipped, the bytes stored, the time it took, and the first problems; or why it did
not run). There is nothing to queue it on from here: libraries sit below jobs and runs and import neither,
and a job of type ``library-sync`` is the way to sync a large library away from the browser. It never
allows a mass deletion: a sync that would delete more than half the files says so and deletes nothing, and
``sync_library --allow-mass-delete`` (or the API) is the deliberate way to do that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse

from informer.admin.display import admin_duration
from informer.api.exceptions import DomainError
from library.admin.access import may_sync, posted_only
from library.integrations.base import IntegrationError
from library.models import Library
from library.services import sync as sync_services
from library.services.index import IndexResult

# How many of a sync's problems the message names; the rest are counted.
ERRORS_SHOWN = 3


def problems_text(errors: Sequence[dict[str, str]]) -> str:
    """`` Problems: a.txt: why; …; and 4 more.`` naming the first ERRORS_SHOWN ``{path, error}`` ("" for none)."""
    if not errors:
        return ""
    named = "; ".join(
        f"{error['path']}: {error['error']}" if error.get("path") else error["error"] for error in errors[:ERRORS_SHOWN]
    )
    more = len(errors) - ERRORS_SHOWN
    return f" Problems: {named}" + (f"; and {more:,} more." if more > 0 else ".")


def sync_message(library: Library, result: sync_services.SyncResult) -> str:
    """What a sync did, in a sentence or two: ``Synced 'Docs': 3 added, 1 updated, … (12.3 KB) in 0.4 s.``."""
    counts = (
        f"{result.added:,} added, {result.updated:,} updated, {result.deleted:,} deleted, "
        f"{result.unchanged:,} unchanged, {result.skipped:,} skipped"
    )
    verb = "Synced" if result.success else "Synced with failures"
    text = (
        f"{verb} '{library.name}': {counts} ({filesizeformat(result.bytes)} stored) "
        f"in {admin_duration(result.duration / 1000)}."
    )
    return text + problems_text(result.errors)


def result_level(result: sync_services.SyncResult | IndexResult) -> int:
    """A sync's or an indexing's message level: an error when it failed, a warning when some files did."""
    if not result.success:
        return messages.ERROR
    return messages.WARNING if result.errors else messages.SUCCESS


class LibrarySyncMixin:
    """For the library admin: "Sync now" on the page (a POST) and as a list action."""

    actions: Any = ["sync_now"]

    def has_sync_permission(self, request: HttpRequest, obj: Library | None = None) -> bool:
        """The model's sync permission, then ``sync_library`` on the library."""
        if obj is None:
            return request.user.has_perm("library.sync_library")
        return may_sync(request, obj)

    def get_urls(self) -> list[Any]:
        site = self.admin_site  # type: ignore[attr-defined]
        sync = path("<path:object_id>/sync/", site.admin_view(self.sync_view), name="library_library_sync")
        return [sync, *super().get_urls()]  # type: ignore[misc]

    def sync_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Sync now" button: sync here and now, then show the page with what it did."""
        return self.library_button(request, object_id, self._sync)

    def library_button(
        self, request: HttpRequest, object_id: str, act: Callable[[HttpRequest, Library], object]
    ) -> HttpResponse:
        """A button of a library's page (a POST) for one who may sync it: ``act`` on it, then back to its page.

        A library the user may not see is a 404, one they may not sync a 403."""
        refused = posted_only(request)
        if refused:
            return refused
        library = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if library is None or not self.has_view_permission(request, library):  # type: ignore[attr-defined]
            raise Http404
        if not self.has_sync_permission(request, library):
            raise PermissionDenied
        act(request, library)
        return HttpResponseRedirect(reverse("admin:library_library_change", args=[library.pk]))

    def _sync(self, request: HttpRequest, library: Library) -> bool:
        """Sync ``library`` and say how it went; whether it succeeded."""
        try:
            result = sync_services.library_sync(library=library)
        except (DomainError, IntegrationError) as error:  # syncing already (409), or the settings are unusable
            self.message_user(request, f"'{library.name}' was not synced: {error.message}", messages.ERROR)  # type: ignore[attr-defined]
            return False
        self.message_user(request, sync_message(library, result), result_level(result))  # type: ignore[attr-defined]
        return result.success

    @admin.action(description="Sync the selected libraries now", permissions=["sync"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        # One after the other, each with its own message: one remote failing does not stop the others.
        permitted = self.each_permitted(request, queryset.select_related("tenant"), self.has_sync_permission)  # type: ignore[attr-defined]
        for library in permitted:
            self._sync(request, library)
