"""Shares (§3) of datasources and datasets: ``/api/datasources/{id}/shares[/{principalId}]`` and the same under
``/api/datasets/{id}``, in the shape of a job's shares."""

from __future__ import annotations

from typing import Any, ClassVar, cast

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors
from datasets.models import Dataset, Datasource
from datasets.services import shares as share_services
from informer import shares
from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses, hal_collection_schema
from informer.api.serializers import ApiSerializer


class ObjectShareSerializer(ApiSerializer):
    """One principal's access to a datasource or a dataset."""

    _links = serializers.SerializerMethodField()
    principal_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    access_level = serializers.IntegerField(min_value=0, max_value=3)

    def get__links(self, share: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        route, parent = self.context["detail_route"], self.context["parent_kwargs"]
        href = reverse(route, kwargs={**parent, "principal_id": share["principal_id"]})
        return {"self": {"href": request.build_absolute_uri(href) if request else href}}


class _ShareViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The share routes of one kind of object; subclasses say which (their lookup, permissions and routes)."""

    serializer_class = ObjectShareSerializer
    permission_classes = [ObjectPermission]
    hal_rel = "inf:share"
    lookup_field = "principal_id"
    lookup_value_regex = "[^/]+"
    filter_backends: list[Any] = []
    pagination_class = None
    http_method_names = ["get", "put", "delete", "head", "options"]
    parent_kwarg: ClassVar[str]
    detail_route: ClassVar[str]
    read_permission: ClassVar[str]
    share_permission: ClassVar[str]

    @property
    def action_permissions(self) -> dict[str, str]:
        return {
            "list": self.read_permission,
            "retrieve": self.read_permission,
            "update": self.share_permission,
            "destroy": self.share_permission,
        }

    def lookup(self, key: str) -> Datasource | Dataset | None:
        raise NotImplementedError

    def permissions_of(self, user: Any, pk: Any) -> set[str]:
        raise NotImplementedError

    def load_object_codenames(self, user: Any, obj: Model) -> set[str]:
        """The caller's permissions on the object, for ``ObjectPermission`` (directly or through a team)."""
        return self.permissions_of(user, obj.pk)

    def get_queryset(self) -> QuerySet[Any]:
        return Datasource.objects.none()

    def get_object(self) -> Datasource | Dataset:
        """The object whose shares the route names, readable by the caller (else 404), then the action's right."""
        if not hasattr(self, "_object"):
            found = self.lookup(self.kwargs[self.parent_kwarg])
            if found is None:
                raise Http404
            self.check_object_permissions(self.request, found)
            self._object = found
        return self._object

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        parent = {self.parent_kwarg: self.get_object().pk} if self.kwargs.get(self.parent_kwarg) else {}
        return {**context, "detail_route": self.detail_route, "parent_kwargs": parent}

    def _item(self, principal: shares.Principal, level: int) -> dict[str, Any]:
        return {
            "principal_id": principal.id,
            "type": principal.kind,
            "name": principal.name,
            "display_name": principal.display_name,
            "access_level": level,
        }

    def _answer(self, principal: shares.Principal, level: int) -> Response:
        return Response(ObjectShareSerializer(self._item(principal, level), context=self.get_serializer_context()).data)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        items = [self._item(principal, level) for principal, level in share_services.share_list(obj=obj)]
        data = ObjectShareSerializer(items, many=True, context=self.get_serializer_context()).data
        return Response(hal_collection(request, self.hal_rel, cast(list[Any], data)))  # many=True: a ReturnList

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        principal = shares.principal_resolve(tenant_id=obj.tenant_id, principal_id=kwargs["principal_id"])
        return self._answer(shares.principal_of(principal), share_services.share_get(obj=obj, principal=principal))

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        body = ObjectShareSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        principal = shares.principal_resolve(tenant_id=obj.tenant_id, principal_id=kwargs["principal_id"])
        level = share_services.share_set(obj=obj, principal=principal, level=body.validated_data["access_level"])
        return self._answer(shares.principal_of(principal), level)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        principal = shares.principal_resolve(tenant_id=obj.tenant_id, principal_id=kwargs["principal_id"])
        share_services.share_set(obj=obj, principal=principal, level=0)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _documented(noun: str, levels: str, name: str) -> Any:
    return extend_schema_view(
        list=extend_schema(
            summary=f"Who has access to a {noun}",
            responses=hal_collection_schema(ObjectShareSerializer, "inf:share", name),
        ),
        retrieve=extend_schema(summary=f"One principal's access to a {noun}"),
        update=extend_schema(
            summary=f"Set one principal's access level to a {noun} ({levels})",
            responses={200: ObjectShareSerializer, **error_responses(409)},
        ),
        destroy=extend_schema(
            summary=f"Remove one principal's access to a {noun}", responses={204: None, **error_responses(409)}
        ),
    )


@_documented("datasource", "0 none, 1 view and use, 2 edit, 3 admin", "DatasourceShareCollection")
class DatasourceShareViewSet(_ShareViewSet):
    """``/api/datasources/{id}/shares[/{principalId}]``."""

    parent_kwarg = "datasource_pk"
    detail_route = "datasource-share-detail"
    read_permission = "view_datasource"
    share_permission = "share_datasource"

    def lookup(self, key: str) -> Datasource | None:
        return selectors.datasource_lookup(selectors.datasource_scope_for_user(self.request.user), key)

    def permissions_of(self, user: Any, pk: Any) -> set[str]:
        return selectors.datasource_permissions_for_user(user, [pk]).get(pk, set())


@_documented("dataset", "0 none, 1 view, 2 edit and refresh, 3 admin", "DatasetShareCollection")
class DatasetShareViewSet(_ShareViewSet):
    """``/api/datasets/{id}/shares[/{principalId}]``."""

    parent_kwarg = "dataset_pk"
    detail_route = "dataset-share-detail"
    read_permission = "view_dataset"
    share_permission = "share_dataset"

    def lookup(self, key: str) -> Dataset | None:
        return selectors.dataset_lookup(selectors.dataset_scope_for_user(self.request.user), key)

    def permissions_of(self, user: Any, pk: Any) -> set[str]:
        return selectors.dataset_permissions_for_user(user, [pk]).get(pk, set())


datasource_share_list = DatasourceShareViewSet.as_view({"get": "list"})
datasource_share_detail = DatasourceShareViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})
dataset_share_list = DatasetShareViewSet.as_view({"get": "list"})
dataset_share_detail = DatasetShareViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})

urlpatterns: list[URLPattern] = [
    path(
        "datasources/<str:datasource_pk>/shares",
        datasource_share_list,
        name="datasource-share-list",
    ),
    path(
        "datasources/<str:datasource_pk>/shares/<str:principal_id>",
        datasource_share_detail,
        name="datasource-share-detail",
    ),
    path("datasets/<str:dataset_pk>/shares", dataset_share_list, name="dataset-share-list"),
    path(
        "datasets/<str:dataset_pk>/shares/<str:principal_id>",
        dataset_share_detail,
        name="dataset-share-detail",
    ),
]
