"""A library's files and folders (read-only, downloadable, deleted through the service) and the stored contents.

Files are seen by whoever may see their library; they come from syncs, uploads and jobs, never from here,
so there is no add nor change page. Deleting one needs ``change_library`` on its library, as the API's
``DELETE …/files/{id}``, and goes through ``file_delete``: the file goes from the remote too. "Download"
streams the stored bytes (``file_open``) with the file's name and type. A file's page shows how it is
indexed, read-only: its status, the reason when it was not (``index_error``), its chunk count and the
first CHUNKS_SHOWN chunks (ordinal, page and text).

Stored contents are the bytes behind the files, once per sha256, shared by every tenant's files: only
superusers see them, read-only, to check what the storage holds; they go when no file references them
(``contents_collect``), never by hand.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from informer.admin.display import EMPTY, admin_time, admin_time_cell
from informer.admin.tenancy import SuperuserOnlyAdminMixin, TenantScopedAdminMixin, ViewOnlyAdminMixin
from informer.api.exceptions import DomainError
from library.admin.access import LibraryPermissionMixin, RefusedDeletionMixin, visible_libraries
from library.models import Library, LibraryFile, StoredContent
from library.services import files as file_services

CHUNKS_SHOWN = 5  # chunks on a file's page
CHUNK_CHARS = 300  # of each chunk's text


@admin.register(LibraryFile)
class LibraryFileAdmin(RefusedDeletionMixin, LibraryPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_lookup = "library__tenant_id"
    object_permissions = {"view": "view_library", "delete": "change_library"}
    list_display = [
        "path",
        "library",
        "kind",
        "shown_size",
        "content_type",
        "origin",
        "index_status",
        "chunks",
        "modified",
    ]
    # Only the libraries the list holds: a plain filter would name every tenant's libraries.
    list_filter = ["origin", "index_status", "directory", ("library", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["library", "library__tenant"]
    search_fields = ["path"]
    fields = readonly_fields = (
        "id",
        "library",
        "path",
        "filename",
        "parent",
        "kind",
        "content_type",
        "shown_size",
        "etag",
        "modified",
        "sha256",
        "origin",
        "index_status",
        "index_error",
        "indexed",
        "chunks",
        "chunk_texts",
        "download",
        "created",
        "updated",
    )

    def permission_target(self, obj: LibraryFile) -> Library:
        return obj.library

    def get_queryset(self, request: HttpRequest) -> QuerySet[LibraryFile]:
        return (
            super()
            .get_queryset(request)
            .filter(library__in=visible_libraries(request).values("pk"))
            .select_related("library", "library__tenant", "parent")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # files come from syncs, uploads and jobs

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # what the remote holds: nothing to edit here, and no Save button

    def get_urls(self) -> list[Any]:
        download = path(
            "<path:object_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="library_libraryfile_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The file's stored bytes as an attachment under its own name and type (``view_library`` suffices)."""
        file = self.get_object(request, unquote(object_id))
        if file is None or not self.has_view_permission(request, file):
            raise Http404
        try:
            handle = file_services.file_open(file=file)
        except DomainError as error:  # a folder, a skipped file, a content gone from the storage
            raise Http404(error.message) from None
        content_type = file.content_type or "application/octet-stream"
        return FileResponse(handle, as_attachment=True, filename=file.filename, content_type=content_type)

    def delete_model(self, request: HttpRequest, obj: LibraryFile) -> None:
        file_services.file_delete(file=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LibraryFile]) -> None:
        permitted = self.each_permitted(request, queryset, self.has_delete_permission)
        self.delete_each(request, permitted, lambda file: file_services.file_delete(file=file))

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """The files themselves: a folder with anything in it is refused by the service, not cascaded."""
        files = list(objs)
        shown = [format_html("{}: {} (also on the library's remote)", file.library, file.path) for file in files]
        return shown, {"library files": len(files)} if files else {}, set(), []

    @admin.display(description="Kind", ordering="directory")
    def kind(self, file: LibraryFile) -> str:
        return "folder" if file.directory else "file"

    @admin.display(description="Size", ordering="size")
    def shown_size(self, file: LibraryFile) -> str:
        return EMPTY if file.directory else str(filesizeformat(file.size))

    @admin.display(description="Modified", ordering="modified_at")
    def modified(self, file: LibraryFile) -> str:
        return admin_time_cell(file.modified_at)

    @admin.display(description="Indexed")
    def indexed(self, file: LibraryFile) -> str:
        return admin_time(file.indexed_at)

    @admin.display(description="First chunks")
    def chunk_texts(self, file: LibraryFile) -> str:
        """The first CHUNKS_SHOWN chunks of the file, each with its ordinal and page, cut at CHUNK_CHARS."""
        rows = list(file.chunk_set.order_by("ordinal").values_list("ordinal", "page", "text")[:CHUNKS_SHOWN])
        if not rows:
            return EMPTY
        items = format_html_join(
            "",
            "<li>#{}{}: {}</li>",
            (
                (
                    ordinal,
                    f" (page {page})" if page else "",
                    text if len(text) <= CHUNK_CHARS else text[:CHUNK_CHARS] + "…",
                )
                for ordinal, page, text in rows
            ),
        )
        more = file.chunks - len(rows)
        return format_html("<ol>{}</ol>{}", items, f"and {more:,} more" if more > 0 else "")

    @admin.display(description="Created")
    def created(self, file: LibraryFile) -> str:
        return admin_time(file.created_at)

    @admin.display(description="Updated")
    def updated(self, file: LibraryFile) -> str:
        return admin_time(file.updated_at)

    @admin.display(description="Contents")
    def download(self, file: LibraryFile) -> str:
        """A link that downloads the stored bytes, when there are any."""
        if file.directory:
            return "a folder"
        if not file.sha256:
            return f"not stored: {file.index_error}" if file.index_error else "not stored"
        url = reverse("admin:library_libraryfile_download", args=[file.pk])
        return format_html('<a href="{}" download>Download {}</a>', url, file.filename)


@admin.register(StoredContent)
class StoredContentAdmin(ViewOnlyAdminMixin, SuperuserOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sha256", "shown_size", "references", "storage_name", "stored"]
    search_fields = ["sha256"]
    fields = readonly_fields = ("sha256", "shown_size", "references", "storage_name", "stored")

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoredContent]:
        # The files that reference a content share its sha256 (no foreign key: the row may be gone first).
        files = (
            LibraryFile.objects.filter(sha256=OuterRef("pk"))
            .order_by()
            .values("sha256")
            .annotate(count=Count("pk"))
            .values("count")
        )
        count = Coalesce(Subquery(files, output_field=IntegerField()), 0)
        return super().get_queryset(request).annotate(reference_count=count)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # collected when no file references it (contents_collect)

    @admin.display(description="Size", ordering="size")
    def shown_size(self, content: StoredContent) -> str:
        return str(filesizeformat(content.size))

    @admin.display(description="Files", ordering="reference_count")
    def references(self, content: StoredContent) -> int:
        return int(getattr(content, "reference_count", 0))

    @admin.display(description="Stored", ordering="created_at")
    def stored(self, content: StoredContent) -> str:
        return admin_time_cell(content.created_at)
