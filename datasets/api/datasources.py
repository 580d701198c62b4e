"""Datasources (§8): ``/api/datasources[/{id}]``, ``…/{id}/_test``, ``…/_test-config``; the routes of the drivers.

``password`` and the secret options are write-only: a response says ``hasPassword`` and never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import django_filters
from django import forms
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from datasets import selectors
from datasets.api import drivers
from datasets.connectors.base import ConnectorError, TestResult
from datasets.connectors.registry import CONNECTORS
from datasets.models import Datasource, DatasourceType
from datasets.services import datasources as services
from informer.api.filters import IntegerFilter
from informer.api.permissions import ObjectPermission, object_codenames
from informer.api.schema import body_choices, error_responses
from informer.api.serializers import ApiModelSerializer, ApiSerializer
from informer.auth import request_user

PERMISSION_FLAGS = {"edit": "change_datasource", "delete": "delete_datasource", "share": "share_datasource"}
DATASOURCE_SORT_FIELDS = {
    "name": "name",
    "slug": "slug",
    "type": "type",
    "host": "host",
    "database": "database",
    "ownerId": "owner_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}


def _link(request: Request | None, route: str, **kwargs: Any) -> dict[str, str]:
    href = reverse(route, kwargs=kwargs)
    return {"href": request.build_absolute_uri(href) if request is not None else href}


def _holds_nul(value: Any) -> bool:
    """Whether a JSON value has a NUL character in any of its strings or keys."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def extend_schema_field_links() -> Any:
    """The ``_links`` of a datasource, for the schema."""
    link = {"type": "object", "required": ["href"], "properties": {"href": {"type": "string", "format": "uri"}}}
    return extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": ["self", "inf:datasource-shares", "inf:test"],
            "properties": {"self": link, "inf:datasource-shares": link, "inf:test": link},
        }
    )


class DatasourceSerializer(ApiModelSerializer):
    """A datasource as the API shows it; writes merge into the existing one (PUT and PATCH alike)."""

    _links = serializers.SerializerMethodField()
    natural_id = serializers.CharField(read_only=True)
    type = serializers.CharField(max_length=20, help_text="sqlite, postgresql or mysql (MariaDB is mysql).")
    port = serializers.IntegerField(min_value=1, max_value=65535, required=False, allow_null=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        max_length=1000,
        help_text="Write-only. Left out or blank keeps the stored password; null removes it.",
    )
    has_password = serializers.BooleanField(read_only=True)
    options = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="The type's options (sslmode, connectTimeout, …); secret ones are write-only, kept like password.",
    )
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    shared = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Datasource
        fields = [
            "_links",
            "id",
            "name",
            "slug",
            "natural_id",
            "description",
            "type",
            "host",
            "port",
            "database",
            "username",
            "password",
            "has_password",
            "options",
            "owner_id",
            "shared",
            "permissions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "slug": {"required": False, "validators": [], "allow_blank": True},
            "description": {"required": False},
            "host": {"required": False},
            "database": {"required": False},
            "username": {"required": False},
        }

    @extend_schema_field_links()
    def get__links(self, datasource: Datasource) -> dict[str, Any]:
        request = self.context.get("request")
        return {
            "self": _link(request, "datasource-detail", pk=datasource.pk),
            "inf:datasource-shares": _link(request, "datasource-share-list", datasource_pk=datasource.pk),
            "inf:test": _link(request, "datasource-test", pk=datasource.pk),
        }

    def get_shared(self, datasource: Datasource) -> bool:
        """Whether anyone besides the owner has access."""
        return datasource.pk in self.context.get("shared", set())

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": list(PERMISSION_FLAGS),
            "properties": {flag: {"type": "boolean"} for flag in PERMISSION_FLAGS},
        }
    )
    def get_permissions(self, datasource: Datasource) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(datasource.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}

    def validate_type(self, value: str) -> str:
        if value not in CONNECTORS:
            known = ", ".join(CONNECTORS)
            raise serializers.ValidationError(f"Unknown datasource type '{value}'; known types are: {known}.")
        return value

    def validate_options(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and _holds_nul(value):
            # PostgreSQL's jsonb refuses \u0000 (a DataError, so a 500 if it got that far).
            raise serializers.ValidationError("Options may not contain NUL characters.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not self.partial:
            missing = [name for name in ("name", "type") if name not in attrs]
            if missing:
                raise serializers.ValidationError({name: ["This field is required."] for name in missing})
        return attrs


class DatasourceTestSerializer(serializers.Serializer):
    """The answer of ``_test`` and ``_test-config``: a failure is ``success: false`` with the reason."""

    success = serializers.BooleanField()
    message = serializers.CharField()
    latency = serializers.FloatField(allow_null=True, help_text="Milliseconds to connect and run a trivial query.")
    serverVersion = serializers.CharField(source="server_version", allow_null=True)
    database = serializers.CharField(allow_null=True)


class DatasourceTestBodySerializer(ApiSerializer):
    """``POST /api/datasources/{id}/_test`` takes no settings: it tests the stored ones."""


class DatasourceFilter(django_filters.FilterSet):
    """``?type=&ownerId=`` (strict: an unknown type or a bad id is a 400 naming the parameter)."""

    type = django_filters.ChoiceFilter(choices=DatasourceType.choices)
    ownerId = IntegerFilter(field_name="owner_id")

    class Meta:
        model = Datasource
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.filters["type"].field)
        known = ", ".join(DatasourceType.values)
        field.error_messages["invalid_choice"] = f"Unknown datasource type '%(value)s'; known types are: {known}."


if TYPE_CHECKING:
    _DatasourceView = generics.GenericAPIView
else:
    _DatasourceView = object


class DatasourceLookupMixin(_DatasourceView):
    """Resolves ``{id}`` (UUID or natural id) to a datasource the caller may read, else 404; then the action's right."""

    read_permission = "view_datasource"
    lookup_value_regex = "[^/]+"

    def get_datasource(self, key: str) -> Datasource:
        datasource = selectors.datasource_lookup(selectors.datasource_scope_for_user(self.request.user), key)
        if datasource is None:
            raise Http404
        self.check_object_permissions(self.request, datasource)
        return datasource

    @staticmethod
    def load_object_codenames(user: Any, datasource: Model) -> set[str]:
        """The caller's permissions on a datasource, for ``ObjectPermission`` (directly or through a team)."""
        return selectors.datasource_permissions_for_user(user, [datasource.pk]).get(datasource.pk, set())

    @staticmethod
    def lock_for_write(datasource: Datasource) -> Datasource:
        """Lock the datasource's row for the request's transaction and read it afresh; 404 once it is gone."""
        locked = Datasource.objects.select_for_update().filter(pk=datasource.pk).first()
        if locked is None:
            raise Http404
        return locked


def _types() -> list[str]:
    return list(CONNECTORS)


@extend_schema_view(
    list=extend_schema(summary="List datasources"),
    create=extend_schema(
        summary="Create a datasource (needs the datasets.add_datasource permission)",
        responses={201: DatasourceSerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    retrieve=extend_schema(summary="Get a datasource by id or natural id"),
    update=extend_schema(
        summary="Update a datasource (merges the given fields; no password keeps it)",
        request=DatasourceSerializer(partial=True),
        responses={200: DatasourceSerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    partial_update=extend_schema(
        summary="Update a datasource (merges the given fields; no password keeps it)",
        responses={200: DatasourceSerializer, **error_responses(409)},
        extensions=body_choices(type=_types),
    ),
    destroy=extend_schema(
        summary="Delete a datasource no dataset reads", responses={204: None, **error_responses(409)}
    ),
)
class DatasourceViewSet(DatasourceLookupMixin, viewsets.ModelViewSet):
    """``/api/datasources`` and ``/api/datasources/{id}``."""

    serializer_class = DatasourceSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "retrieve": "view_datasource",
        "update": "change_datasource",
        "partial_update": "change_datasource",
        "destroy": "delete_datasource",
        "test": "view_datasource",
    }
    filterset_class = DatasourceFilter
    sort_fields = DATASOURCE_SORT_FIELDS
    hal_rel = "inf:datasource"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Datasource]:
        if getattr(self, "swagger_fake_view", False):
            return Datasource.objects.none()
        return selectors.datasource_list_for_user(self.request.user)

    def get_object(self) -> Datasource:
        return self.get_datasource(self.kwargs["pk"])

    def _context(self, datasources: list[Datasource]) -> dict[str, Any]:
        ids = [datasource.pk for datasource in datasources]
        return {
            "request": self.request,
            "view": self,
            "permissions": selectors.datasource_permissions_for_user(self.request.user, ids),
            "shared": selectors.datasource_shared_ids(ids),
        }

    def _respond(self, datasource: Datasource, status_code: int = status.HTTP_200_OK, **kwargs: Any) -> Response:
        codenames = object_codenames(self.request, datasource, load=self.load_object_codenames)
        context = {**self._context([datasource]), "permissions": {datasource.pk: codenames}}
        return Response(DatasourceSerializer(datasource, context=context).data, status=status_code, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the view has a paginator
        data = DatasourceSerializer(page, many=True, context=self._context(page)).data
        return self.get_paginated_response(cast(list[Any], data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object())

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The capability before the body: without it, what the body holds does not matter.
        if not request_user(request).has_perm(services.ADD_PERMISSION):
            raise services.CapabilityMissing(services.CAPABILITY_MESSAGE)
        body = DatasourceSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        datasource = services.datasource_create(user=request_user(request), data=dict(body.validated_data))
        datasource = selectors.datasource_scope_for_user(request.user).get(pk=datasource.pk)
        location = request.build_absolute_uri(reverse("datasource-detail", kwargs={"pk": datasource.pk}))
        return self._respond(datasource, status.HTTP_201_CREATED, headers={"Location": location})

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Informer clients send partial bodies on PUT: both verbs merge.
        datasource = self.lock_for_write(self.get_object())
        body = DatasourceSerializer(datasource, data=request.data, partial=True, context={"request": request})
        body.is_valid(raise_exception=True)
        services.datasource_update(datasource=datasource, data=dict(body.validated_data))
        return self._respond(selectors.datasource_scope_for_user(request.user).get(pk=datasource.pk))

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.datasource_delete(datasource=self.lock_for_write(self.get_object()))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Test a datasource's stored settings",
        description="Connects and runs a trivial query; a failure is `success: false` with the reason, never a 500.",
        request=None,
        responses=DatasourceTestSerializer,
    )
    @action(detail=True, methods=["post"], url_path="_test", url_name="test")
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        datasource = self.get_object()
        # No settings in the body (the stored ones are tested); anything sent is refused, not ignored.
        DatasourceTestBodySerializer(data=request.data or {}).is_valid(raise_exception=True)
        try:
            config = services.dataset_config(datasource)
        except ConnectorError as error:
            return Response(DatasourceTestSerializer(TestResult(success=False, message=error.message)).data)
        return Response(DatasourceTestSerializer(services.datasource_test(config=config)).data)

    @extend_schema(
        summary="Test unsaved datasource settings (needs the datasets.add_datasource permission)",
        description=(
            "Takes the body a create takes. A body that is not valid is a 400; settings the safety rules refuse, "
            "or a server that cannot be reached, are `success: false` with the reason."
        ),
        request=DatasourceSerializer,
        responses=DatasourceTestSerializer,
        extensions=body_choices(type=_types),
    )
    @action(detail=False, methods=["post"], url_path="_test-config", url_name="test-config")
    def test_config(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not request_user(request).has_perm(services.ADD_PERMISSION):
            raise services.CapabilityMissing(
                "You need the 'datasets.add_datasource' permission to test unsaved datasource settings."
            )
        body = DatasourceSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        config = services.source_config(dict(body.validated_data), validate=False)
        return Response(DatasourceTestSerializer(services.datasource_test(config=config)).data)


router = SimpleRouter(trailing_slash=False)
router.register("datasources", DatasourceViewSet, basename="datasource")

urlpatterns: list[URLPattern] = [
    *router.urls,  # type: ignore[list-item]  # a router's urls are URLPatterns
    path("datasource-drivers", drivers.DatasourceDriverList.as_view(), name="datasource-driver-list"),
    path(
        "datasource-drivers/<str:driver_id>",
        drivers.DatasourceDriverDetail.as_view(),
        name="datasource-driver-detail",
    ),
]
