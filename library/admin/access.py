"""What the library admins share: object permissions read as the API reads them, and POST-only buttons.

A staff user sees a library of their tenant only when they hold its ``view_library`` permission (directly
or through a team), as ``GET /api/libraries`` lists them, and its files with it; each verb of the admin then
needs the object permission the API's route needs (``change_library`` to edit it or delete a file,
``sync_library`` to sync it, ``delete_library`` to delete it). Superusers see every tenant's and may do
everything. The datasets admin's ``datasets.admin.access`` does the same for datasets; the library app may
not import it (imports go one way), and the two differ in what they read.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse

from informer.api.exceptions import DomainError
from informer.auth import request_user
from library import selectors
from library.models import LIBRARY_PERMISSIONS, Library


def library_codenames(request: HttpRequest, library: Library) -> set[str]:
    """The staff user's permissions on ``library`` (all of them for a superuser, none in another tenant).

    Read once per request: a list's rows and its page's buttons ask again and again.
    """
    user = request_user(request)
    cache: dict[Any, set[str]] = request.__dict__.setdefault("_admin_library_permissions", {})
    if library.pk not in cache:
        if user.is_superuser:
            cache[library.pk] = set(LIBRARY_PERMISSIONS)
        elif library.tenant_id != user.tenant_id:
            cache[library.pk] = set()
        else:
            cache[library.pk] = set(selectors.library_permissions_for_user(user, [library.pk]).get(library.pk, set()))
    return cache[library.pk]


def visible_libraries(request: HttpRequest, permission: str = "view_library") -> QuerySet[Library]:
    """The libraries on which the staff user holds ``permission`` (every tenant's for a superuser)."""
    return selectors.library_list_for_user(request.user, permission=permission)


def may_sync(request: HttpRequest, library: Library) -> bool:
    """The model's sync permission, then ``sync_library`` on the library (as ``POST …/_sync``)."""
    return request.user.has_perm("library.sync_library") and "sync_library" in library_codenames(request, library)


def posted_only(request: HttpRequest) -> HttpResponse | None:
    """A 405 unless the request is a POST: the buttons change state, so a link or a reload must not."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


class LibraryPermissionMixin:
    """Django's model permission first, then the object permission the API needs for the same verb.

    ``object_permissions`` maps the admin's verbs (view, change, delete) to a codename on the object's
    library, which ``permission_target`` finds (the library itself, or a file's library).
    """

    object_permissions: dict[str, str] = {}

    def permission_target(self, obj: Any) -> Library | None:
        return obj if isinstance(obj, Library) else None

    def object_allows(self, request: HttpRequest, obj: Model | None, verb: str) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        target = self.permission_target(obj)
        if target is None or target._state.adding:
            return True  # a library being added is the staff user's own
        codename = self.object_permissions.get(verb)
        return codename is None or codename in library_codenames(request, target)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.object_allows(request, obj, "view")  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.object_allows(request, obj, "change")  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.object_allows(request, obj, "delete")  # type: ignore[misc]


class RefusedDeletionMixin:
    """A deletion the service refuses (a sync running, a remote failing, a folder not empty) is said on the page.

    Django's delete view would answer the ``DomainError`` with a 500; here it rolls back (the view saves in a
    transaction) and the object's page says why it is still there.
    """

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except DomainError as error:
            self.message_user(request, f"Not deleted: {error.message}", messages.ERROR)  # type: ignore[attr-defined]
            opts = self.model._meta  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))

    def delete_each(self, request: HttpRequest, objects: list[Any], delete: Any) -> None:
        """``delete(obj)`` for each of ``objects``, a refusal said for that one and the others deleted still."""
        for obj in objects:
            try:
                delete(obj)
            except DomainError as error:
                self.message_user(request, f"'{obj}' was not deleted: {error.message}", messages.ERROR)  # type: ignore[attr-defined]
