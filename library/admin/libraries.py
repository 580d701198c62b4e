"""The library admin: its settings saved through the API's services, its secrets write-only, "Sync now" and
"Index now".

The secret boxes are never filled in (a stored secret is never sent to a browser); left blank they keep
the stored secret, "Clear …" removes it. Saving calls ``library_create`` / ``library_update``, so the
integration's safety checks (a local folder under the library root, the address guard on remote hosts)
refuse here exactly as in the API, their message on the field they name. A library's page shows its files
and size, when it was last synced (with seconds and zone) and whether a sync is running, and how it is
indexed (the embedder, whether an indexing is running).

"Index now" (a button beside "Sync now", and a list action) indexes the library's new and changed files
inline, in the admin's request, as "Sync now" syncs (``sync_library`` on the library, the right a job needs
to index it), then says what it did. ``manage.py index_library --force`` or an ``index-files`` job with
``force`` index everything again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html

from informer.admin.display import EMPTY, admin_duration, admin_time, admin_time_cell
from informer.admin.forms import ServiceAdminMixin, adopt
from informer.admin.tenancy import TenantScopedAdminMixin
from informer.api.exceptions import DomainError
from informer.auth import request_user
from library.admin.access import LibraryPermissionMixin, RefusedDeletionMixin, visible_libraries
from library.admin.forms import SECRETS, LibraryForm
from library.admin.syncs import LibrarySyncMixin, problems_text, result_level
from library.integrations.base import IntegrationError
from library.models import Library
from library.services import index as index_services
from library.services import libraries as library_services

CLEAR_BOXES = {clear for clear, _ in SECRETS.values()}
SECRET_BOXES = {*SECRETS, *CLEAR_BOXES}
FILE_STATE: list[Any] = ["file_list", "shown_size", "synced", "indexed", "syncing", "index_state"]


def index_message(library: Library, result: index_services.IndexResult) -> str:
    """What an indexing did: ``Indexed 'Docs': 3 indexed, 9 unchanged, … 41 chunks in 1.2 s.`` and its problems."""
    counts = (
        f"{result.indexed:,} indexed, {result.unchanged:,} unchanged, {result.no_text:,} without text, "
        f"{result.skipped:,} skipped, {len(result.errors):,} with errors"
    )
    verb = "Indexed" if result.success else "Indexed with failures"
    text = f"{verb} '{library.name}': {counts}; {result.chunks:,} chunks in {admin_duration(result.duration)}."
    return text + problems_text(result.errors)


@admin.register(Library)
class LibraryAdmin(
    LibrarySyncMixin,
    RefusedDeletionMixin,
    ServiceAdminMixin,
    LibraryPermissionMixin,
    TenantScopedAdminMixin,
    admin.ModelAdmin,
):
    form = LibraryForm
    actions: Any = ["sync_now", "index_now"]
    object_permissions = {"view": "view_library", "change": "change_library", "delete": "delete_library"}
    change_form_template = "admin/library/library/change_form.html"
    list_display = ["name", "type", "location", "owner", "tenant", "file_count", "shown_size", "last_sync", "state"]
    list_filter = ["type", "embedded", "tenant"]
    list_select_related = ["tenant", "owner"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = [
        "id",
        "natural_id",
        "tenant",
        "owner",
        "secret_state",
        "file_list",
        "shown_size",
        "synced",
        "indexed",
        "syncing",
        "index_state",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "natural_id", "tenant", "owner", "name", "slug", "description", "type", "embedded"]}),
        (
            "Settings",
            {
                "fields": [
                    "settings",
                    "secret_state",
                    "password",
                    "clear_password",
                    "secret_access_key",
                    "clear_secret_access_key",
                ]
            },
        ),
        ("Files", {"fields": FILE_STATE}),
        ("State", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Library]:
        return visible_libraries(request)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # A read-only page says which secrets are stored, with no boxes to change them; an add page has nothing stored.
        hidden = SECRET_BOXES if obj is not None else {*CLEAR_BOXES, "secret_state", *FILE_STATE}
        return [
            (title, {**options, "fields": [name for name in options["fields"] if name not in hidden]})
            for title, options in fieldsets
            if any(name not in hidden for name in options["fields"])
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Library | None = None,
    ) -> HttpResponse:
        if obj is not None and self.has_sync_permission(request, obj):
            context["sync_url"] = reverse("admin:library_library_sync", args=[obj.pk])
            context["index_url"] = reverse("admin:library_library_index", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[Any]:
        index = path(
            "<path:object_id>/index/", self.admin_site.admin_view(self.index_view), name="library_library_index"
        )
        return [index, *super().get_urls()]

    def index_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Index now" button: index the new and changed files here and now, then show the page with what it did."""
        return self.library_button(request, object_id, self._index)

    def _index(self, request: HttpRequest, library: Library) -> bool:
        """Index ``library`` and say how it went; whether it succeeded."""
        try:
            result = index_services.library_index(library)
        except DomainError as error:  # an indexing already running (409), the library deleted meanwhile
            self.message_user(request, f"'{library.name}' was not indexed: {error.message}", messages.ERROR)
            return False
        self.message_user(request, index_message(library, result), result_level(result))
        return result.success

    @admin.action(description="Index the selected libraries now", permissions=["sync"])
    def index_now(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        # One after the other, each with its own message: one failing does not stop the others.
        permitted = self.each_permitted(request, queryset.select_related("tenant"), self.has_sync_permission)
        for library in permitted:
            self._index(request, library)

    def save_model(self, request: HttpRequest, obj: Library, form: LibraryForm, change: bool) -> None:
        data = form.service_data()
        if change:
            stored = Library.objects.select_for_update().get(pk=obj.pk)
            library = library_services.library_update(library=stored, data=data)
        else:
            library = library_services.library_create(user=request_user(request), data=data)
        adopt(obj, library)

    def delete_model(self, request: HttpRequest, obj: Library) -> None:
        library_services.library_delete(library=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Library]) -> None:
        permitted = self.each_permitted(request, queryset, self.has_delete_permission)
        self.delete_each(request, permitted, lambda library: library_services.library_delete(library=library))

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """What deleting goes with: the libraries and their file rows; the remote's files are left as they are.

        Django's collector would list every file row and ask for the file model's delete permission, which
        deleting a library does not need (``library_delete`` takes the rows with it, as the API's DELETE does).
        """
        libraries = list(objs)
        shown: list[Any] = []
        files = 0
        for library in libraries:
            count = library.file_set.count()
            files += count
            shown.append(
                format_html("Library: {} ({} file and folder rows; the files on its remote stay)", library, count)
            )
        counts = {"libraries": len(libraries), "library files": files}
        return shown, {name: count for name, count in counts.items() if count}, set(), []

    @admin.display(description="Natural id")
    def natural_id(self, library: Library) -> str:
        return EMPTY if library._state.adding else library.natural_id

    @admin.display(description="Where")
    def location(self, library: Library) -> str:
        """The folder, the WebDAV URL or the bucket and prefix: the settings that say where, no secret."""
        settings = library.settings or {}
        if library.type == "s3":
            bucket = str(settings.get("bucket") or "")
            prefix = str(settings.get("prefix") or "")
            return f"s3://{bucket}/{prefix}" if bucket else EMPTY
        key = "url" if library.type == "webdav" else "path"
        return str(settings.get(key) or EMPTY)

    @admin.display(description="Secrets")
    def secret_state(self, library: Library) -> str:
        """Which secrets are stored (their names), never what they are."""
        try:
            stored = library_services.library_config(library).secrets
        except IntegrationError:
            return "unreadable: sealed under another key; type them again"
        names = sorted(name for name, value in stored.items() if value not in (None, ""))
        return ", ".join(f"{name} set" for name in names) or "none"

    @admin.display(description="Files", ordering="files")
    def file_count(self, library: Library) -> str:
        return f"{library.files:,}"

    @admin.display(description="Files")
    def file_list(self, library: Library) -> str:
        """The library's file count, linked to its files and folders."""
        url = f"{reverse('admin:library_libraryfile_changelist')}?library__id__exact={library.pk}"
        return format_html('<a href="{}">{} file(s)</a>', url, f"{library.files:,}")

    @admin.display(description="Size", ordering="size")
    def shown_size(self, library: Library) -> str:
        return str(filesizeformat(library.size))

    @admin.display(description="Last sync", ordering="synced_at")
    def last_sync(self, library: Library) -> str:
        return admin_time_cell(library.synced_at) if library.synced_at else "never"

    @admin.display(description="Last sync")
    def synced(self, library: Library) -> str:
        return admin_time(library.synced_at) if library.synced_at else "never"

    @admin.display(description="Last indexed")
    def indexed(self, library: Library) -> str:
        return admin_time(library.indexed_at) if library.indexed_at else "never"

    @admin.display(description="Syncing")
    def syncing(self, library: Library) -> str:
        if library.sync_started_at is None:
            return "no"
        return f"since {admin_time(library.sync_started_at)}"

    @admin.display(description="Index")
    def index_state(self, library: Library) -> str:
        """The embedder the chunks were made with, and whether an indexing is running."""
        model = library.index_model or "not indexed yet"
        if library.index_started_at is None:
            return model
        return f"{model}; indexing since {admin_time(library.index_started_at)}"

    @admin.display(description="State")
    def state(self, library: Library) -> str:
        if library.sync_started_at is not None:
            return "syncing"
        return "indexing" if library.index_started_at is not None else EMPTY
