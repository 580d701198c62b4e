"""Shares (§3): who may do what with a job, ``/api/jobs/{id}/shares[/{principalId}]``, and ``/api/principals``."""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses, hal_collection_schema
from informer.api.serializers import ApiSerializer
from informer.auth import request_user
from informer.models import Team, User
from jobs.api.common import JobLookupMixin
from jobs.models import Job
from jobs.services import shares as share_services


class ShareSerializer(ApiSerializer):
    """One principal's access to a job."""

    _links = serializers.SerializerMethodField()
    principal_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    access_level = serializers.IntegerField(min_value=0, max_value=3)

    def get__links(self, share: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        path = reverse(
            "job-share-detail",
            kwargs={"job_pk": self.context["job_pk"], "principal_id": share["principal_id"]},
        )
        return {"self": {"href": request.build_absolute_uri(path) if request else path}}


class PrincipalSerializer(serializers.Serializer):
    """A user or team of the caller's tenant, as shares name them."""

    id = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    displayName = serializers.CharField(source="display_name")


@extend_schema_view(
    list=extend_schema(
        summary="Who has access to a job",
        responses=hal_collection_schema(ShareSerializer, "inf:share", "ShareCollection"),
    ),
    retrieve=extend_schema(summary="One principal's access to a job"),
    update=extend_schema(
        summary="Set one principal's access level (0 none, 1 view, 2 edit, 3 admin)",
        responses={200: ShareSerializer, **error_responses(409)},
    ),
    destroy=extend_schema(summary="Remove one principal's access", responses={204: None, **error_responses(409)}),
)
class JobShareViewSet(JobLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/shares[/{principalId}]``."""

    serializer_class = ShareSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "update": "share_job",
        "destroy": "share_job",
    }
    hal_rel = "inf:share"
    lookup_field = "principal_id"
    lookup_value_regex = "[^/]+"
    filter_backends: list[Any] = []
    pagination_class = None
    http_method_names = ["get", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Job]:
        return Job.objects.none()

    def _job(self) -> Job:
        return self.get_job(self.kwargs["job_pk"])

    def get_object(self) -> Job:
        """The job whose share the route names: its permissions govern the share (OPTIONS asks for it)."""
        # DRF's default would look a principal id up in get_queryset(), a FieldError and so a 500.
        return self._job()

    def _item(self, job: Job, principal: share_services.Principal, level: int) -> dict[str, Any]:
        return {
            "principal_id": principal.id,
            "type": principal.kind,
            "name": principal.name,
            "display_name": principal.display_name,
            "access_level": level,
        }

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "job_pk": self.kwargs.get("job_pk")}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        self.kwargs["job_pk"] = job.pk
        items = [self._item(job, principal, level) for principal, level in share_services.share_list(job=job)]
        data = ShareSerializer(items, many=True, context=self.get_serializer_context()).data
        return Response(hal_collection(request, self.hal_rel, cast(list[Any], data)))  # many=True: a ReturnList

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        self.kwargs["job_pk"] = job.pk
        principal = share_services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        level = share_services.share_get(job=job, principal=principal)
        item = self._item(job, share_services.principal_of(principal), level)
        return Response(ShareSerializer(item, context=self.get_serializer_context()).data)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        self.kwargs["job_pk"] = job.pk
        body = ShareSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        principal = share_services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        level = share_services.share_set(job=job, principal=principal, level=body.validated_data["access_level"])
        item = self._item(job, share_services.principal_of(principal), level)
        return Response(ShareSerializer(item, context=self.get_serializer_context()).data)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        principal = share_services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        share_services.share_set(job=job, principal=principal, level=0)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrincipalListView(APIView):
    """``GET /api/principals?q=``: users and teams of the caller's tenant."""

    @extend_schema(
        summary="Users and teams that jobs can be shared with",
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
        ],
        responses=PrincipalSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        limit = request.query_params.get("limit", "100")
        # ASCII digits only: str.isdigit() and int() also take an Arabic-Indic or a fullwidth one as 1.
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
            raise ValidationError({"limit": [f"'{limit}' is not a whole number between 1 and 1000."]})
        tenant_id = request_user(request).tenant_id
        users = User.objects.filter(tenant_id=tenant_id, is_active=True)
        teams = Team.objects.filter(tenant_id=tenant_id)
        if query:
            users = users.filter(
                Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            )
            teams = teams.filter(Q(local_name__icontains=query) | Q(display_name__icontains=query))
        principals = [share_services.principal_of(user) for user in users.order_by("username")[: int(limit)]]
        principals += [share_services.principal_of(team) for team in teams.order_by("local_name")[: int(limit)]]
        data = [
            {"id": p.id, "type": p.kind, "name": p.name, "display_name": p.display_name}
            for p in principals[: int(limit)]
        ]
        return Response(PrincipalSerializer(data, many=True).data)
