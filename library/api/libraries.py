"""Libraries (§9): ``/api/libraries[/{id}]``, ``…/{id}/_test``, ``…/{id}/_sync``; the routes of the drivers.

A library's secrets (``settings.password``, ``settings.secretAccessKey``) are write-only: a response's
``settings`` says ``hasPassword`` / ``hasSecretAccessKey`` and never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.exceptions import DomainError
from informer.api.permissions import ObjectPermission, object_codenames
from informer.api.schema import body_choices, error_responses
from informer.auth import request_user
from library import selectors
from library.api import drivers
from library.api.serializers import (
    LibraryFilter,
    LibrarySerializer,
    LibraryTestBodySerializer,
    LibraryTestSerializer,
    SyncBodySerializer,
    SyncResultSerializer,
)
from library.integrations.base import IntegrationError, TestResult
from library.integrations.registry import INTEGRATIONS
from library.models import Library
from library.services import libraries as services

LIBRARY_SORT_FIELDS = {
    "name": "name",
    "slug": "slug",
    "type": "type",
    "files": "files",
    "size": "size",
    "syncedAt": "synced_at",
    "indexedAt": "indexed_at",
    "ownerId": "owner_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}

if TYPE_CHECKING:
    _LibraryView = generics.GenericAPIView
else:
    _LibraryView = object


class LibraryLookupMixin(_LibraryView):
    """Resolves a library key (UUID or natural id) to a library the caller may read, else 404; then the right."""

    read_permission = "view_library"
    lookup_value_regex = "[^/]+"

    def get_library(self, key: str) -> Library:
        library = selectors.library_lookup(selectors.library_scope_for_user(self.request.user), key)
        if library is None:
            raise Http404
        self.check_object_permissions(self.request, library)
        return library

    @staticmethod
    def load_object_codenames(user: Any, library: Model) -> set[str]:
        """The caller's permissions on a library, for ``ObjectPermission`` (directly or through a team)."""
        return selectors.library_permissions_for_user(user, [library.pk]).get(library.pk, set())

    @staticmethod
    def lock_for_write(library: Library) -> Library:
        """Lock the library's row for the request's transaction and read it afresh; 404 once it is gone."""
        locked = Library.objects.select_for_update().filter(pk=library.pk).first()
        if locked is None:
            raise Http404
        return locked


def _types() -> list[str]:
    return list(INTEGRATIONS)


@extend_schema_view(
    list=extend_schema(summary="List libraries"),
    create=extend_schema(
        summary="Create a library (needs the library.add_library permission)",
        responses={201: LibrarySerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    retrieve=extend_schema(summary="Get a library by id or natural id"),
    update=extend_schema(
        summary="Update a library (merges the given fields and settings; no secret keeps it)",
        request=LibrarySerializer(partial=True),
        responses={200: LibrarySerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    partial_update=extend_schema(
        summary="Update a library (merges the given fields and settings; no secret keeps it)",
        responses={200: LibrarySerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    destroy=extend_schema(
        summary="Delete a library and its files here (the remote is untouched)",
        responses={204: None, **error_responses(409)},
    ),
)
class LibraryViewSet(LibraryLookupMixin, viewsets.GenericViewSet):
    """``/api/libraries`` and ``/api/libraries/{id}`` with ``_test`` and ``_sync``."""

    serializer_class = LibrarySerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "retrieve": "view_library",
        "update": "change_library",
        "partial_update": "change_library",
        "destroy": "delete_library",
        "test": "view_library",
        "sync": "sync_library",
    }
    filterset_class = LibraryFilter
    sort_fields = LIBRARY_SORT_FIELDS
    search_fields = ("name", "description")
    hal_rel = "inf:library"

    def get_queryset(self) -> QuerySet[Library]:
        if getattr(self, "swagger_fake_view", False):
            return Library.objects.none()
        return selectors.library_list_for_user(self.request.user)

    def get_object(self) -> Library:
        return self.get_library(self.kwargs["pk"])

    def _context(self, libraries: list[Library]) -> dict[str, Any]:
        ids = [library.pk for library in libraries]
        return {
            "request": self.request,
            "view": self,
            "permissions": selectors.library_permissions_for_user(self.request.user, ids),
            "shared": selectors.library_shared_ids(ids),
        }

    def _respond(self, library: Library, status_code: int = status.HTTP_200_OK, **kwargs: Any) -> Response:
        codenames = object_codenames(self.request, library, load=self.load_object_codenames)
        context = {**self._context([library]), "permissions": {library.pk: codenames}}
        return Response(LibrarySerializer(library, context=context).data, status=status_code, **kwargs)

    def _fresh(self, library: Library) -> Library:
        return selectors.library_scope_for_user(self.request.user).get(pk=library.pk)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = cast("list[Library] | None", self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        assert page is not None  # the view has a paginator
        data = LibrarySerializer(page, many=True, context=self._context(page)).data
        return self.get_paginated_response(cast(list[Any], data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object())

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The capability before the body: without it, what the body holds does not matter.
        if not request_user(request).has_perm(services.ADD_PERMISSION):
            raise services.CapabilityMissing(services.CAPABILITY_MESSAGE)
        body = LibrarySerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        library = self._fresh(services.library_create(user=request_user(request), data=dict(body.validated_data)))
        location = request.build_absolute_uri(reverse("library-detail", kwargs={"pk": library.pk}))
        return self._respond(library, status.HTTP_201_CREATED, headers={"Location": location})

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Informer clients send partial bodies on PUT: both verbs merge.
        library = self.lock_for_write(self.get_object())
        body = LibrarySerializer(library, data=request.data, partial=True, context={"request": request})
        body.is_valid(raise_exception=True)
        services.library_update(library=library, data=dict(body.validated_data))
        return self._respond(self._fresh(library))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.library_delete(library=self.lock_for_write(self.get_object()))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Test a library's stored settings",
        description="Reaches the remote and lists its root: `success: true` with the latency, or a 400 in the error "
        "shape whose message on `settings` says why not (wrong credentials, a bucket that does not exist, a host "
        "that does not answer), never a 500.",
        request=None,
        responses=LibraryTestSerializer,
    )
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.get_object()
        # No settings in the body (the stored ones are tested); anything sent is refused, not ignored.
        LibraryTestBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        # A failed test is a 400 (the "a readable 400 from _test"), unlike a datasource's, whose
        # success false follows §8: a library's remote is a setting to correct, named in the error shape.
        try:
            result = services.library_test(config=services.library_config(library))
        except IntegrationError as error:
            result = TestResult(success=False, message=error.message)
        if not result.success:
            raise DomainError(result.message, field="settings")
        return Response(LibraryTestSerializer(result).data)

    @extend_schema(
        summary="Mirror the library from its remote now",
        request=SyncBodySerializer,
        responses={200: SyncResultSerializer, **error_responses(409)},
    )
    def sync(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``POST /api/libraries/{id}/_sync`` (``sync_library``): new and changed files fetched, gone ones deleted.

        Not one transaction: the sync commits as it goes, and deletes nothing after a listing that failed. A
        sync already under way is a 409. A listing that failed (the remote unreachable, refusing the
        credentials, answering an error or a malformed body) is a 400 on ``settings`` with the remote's
        reason: the sync changed nothing, so there are no counts to give, and it is the library's settings
        or remote at fault, as a datasource's failing query is. Otherwise the answer is the §9 result, with
        the files that failed one by one, refused names and a refused mass deletion in ``errors`` (and
        ``success: false`` for failed downloads and a refused deletion). An ``embedded`` library is then
        indexed on a worker (its new and changed files), unless the sync failed as a whole.
        """
        from library.services.index import index_after_sync, index_enqueue
        from library.services.sync import library_sync

        library = self.get_object()
        body = SyncBodySerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        result = library_sync(library=library, allow_mass_delete=body.validated_data["allow_mass_delete"])
        if result.listing_failed:
            # Nothing was changed: the remote's settings or state are what to correct, named as such.
            reason = next((error["error"] for error in result.errors if error["path"] == ""), "The listing failed.")
            raise services.field_error(reason, "settings")
        if index_after_sync(library, result):
            index_enqueue(library)  # the answer does not wait for it: a worker indexes the new and changed files
        return Response(result.as_json())


library_list = LibraryViewSet.as_view({"get": "list", "post": "create"})
library_detail = LibraryViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
DETAIL = "libraries/<str:pk>"

urlpatterns: list[URLPattern] = [
    path("libraries", library_list, name="library-list"),
    path(DETAIL, library_detail, name="library-detail"),
    path(f"{DETAIL}/_test", LibraryViewSet.as_view({"post": "test"}), name="library-test"),
    path(f"{DETAIL}/_sync", LibraryViewSet.as_view({"post": "sync"}), name="library-sync"),
    path("library-drivers", drivers.LibraryDriverList.as_view(), name="library-driver-list"),
    path("library-drivers/<str:driver_id>", drivers.LibraryDriverDetail.as_view(), name="library-driver-detail"),
]
