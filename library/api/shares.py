"""Shares (§3) of libraries: ``/api/libraries/{id}/shares[/{principalId}]``, in the shape of a job's shares.

Levels: 0 none, 1 view (read, download), 2 edit (also change, upload and delete files, sync), 3 admin (also
delete and share).
"""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from informer import shares
from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses, hal_collection_schema
from informer.api.serializers import ApiSerializer
from library import selectors
from library.models import Library
from library.services import shares as share_services


class LibraryShareSerializer(ApiSerializer):
    """One principal's access to a library."""

    _links = serializers.SerializerMethodField()
    principal_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    access_level = serializers.IntegerField(min_value=0, max_value=3)

    def get__links(self, share: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        kwargs = {"library_pk": self.context["library_pk"], "principal_id": share["principal_id"]}
        href = reverse("library-share-detail", kwargs=kwargs)
        return {"self": {"href": request.build_absolute_uri(href) if request else href}}


@extend_schema_view(
    list=extend_schema(
        summary="Who has access to a library",
        responses=hal_collection_schema(LibraryShareSerializer, "inf:share", "LibraryShareCollection"),
    ),
    retrieve=extend_schema(summary="One principal's access to a library"),
    update=extend_schema(
        summary="Set one principal's access level to a library (0 none, 1 view, 2 edit and sync, 3 admin)",
        responses={200: LibraryShareSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(
        summary="Remove one principal's access to a library", responses={204: None, **error_responses(409)}
    ),
)
class LibraryShareViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """``/api/libraries/{id}/shares[/{principalId}]``."""

    serializer_class = LibraryShareSerializer
    permission_classes = [ObjectPermission]
    read_permission = "view_library"
    action_permissions = {
        "list": "view_library",
        "retrieve": "view_library",
        "update": "share_library",
        "destroy": "share_library",
    }
    hal_rel = "inf:share"
    lookup_field = "principal_id"
    lookup_value_regex = "[^/]+"
    filter_backends: list[Any] = []
    pagination_class = None
    http_method_names = ["get", "put", "delete", "head", "options"]

    @staticmethod
    def load_object_codenames(user: Any, library: Model) -> set[str]:
        """The caller's permissions on the library, for ``ObjectPermission`` (directly or through a team)."""
        return selectors.library_permissions_for_user(user, [library.pk]).get(library.pk, set())

    def get_queryset(self) -> QuerySet[Any]:
        return Library.objects.none()

    def get_object(self) -> Library:
        """The library whose shares the route names, readable by the caller (else 404), then the action's right."""
        if not hasattr(self, "_library"):
            scope = selectors.library_scope_for_user(self.request.user)
            found = selectors.library_lookup(scope, self.kwargs["library_pk"])
            if found is None:
                raise Http404
            self.check_object_permissions(self.request, found)
            self._library = found
        return self._library

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        library_pk = self.get_object().pk if self.kwargs.get("library_pk") else None
        return {**context, "library_pk": library_pk}

    def _item(self, principal: shares.Principal, level: int) -> dict[str, Any]:
        return {
            "principal_id": principal.id,
            "type": principal.kind,
            "name": principal.name,
            "display_name": principal.display_name,
            "access_level": level,
        }

    def _answer(self, principal: shares.Principal, level: int) -> Response:
        return Response(
            LibraryShareSerializer(self._item(principal, level), context=self.get_serializer_context()).data
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.get_object()
        items = [self._item(principal, level) for principal, level in share_services.share_list(library=library)]
        data = LibraryShareSerializer(items, many=True, context=self.get_serializer_context()).data
        return Response(hal_collection(request, self.hal_rel, cast(list[Any], data)))  # many=True: a ReturnList

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.get_object()
        principal = shares.principal_resolve(tenant_id=library.tenant_id, principal_id=kwargs["principal_id"])
        level = share_services.share_get(library=library, principal=principal)
        return self._answer(shares.principal_of(principal), level)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.get_object()
        body = LibraryShareSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        principal = shares.principal_resolve(tenant_id=library.tenant_id, principal_id=kwargs["principal_id"])
        level = share_services.share_set(
            library=library, principal=principal, level=body.validated_data["access_level"]
        )
        return self._answer(shares.principal_of(principal), level)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.get_object()
        principal = shares.principal_resolve(tenant_id=library.tenant_id, principal_id=kwargs["principal_id"])
        share_services.share_set(library=library, principal=principal, level=0)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns: list[URLPattern] = [
    path("libraries/<str:library_pk>/shares", LibraryShareViewSet.as_view({"get": "list"}), name="library-share-list"),
    path(
        "libraries/<str:library_pk>/shares/<str:principal_id>",
        LibraryShareViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
        name="library-share-detail",
    ),
]
