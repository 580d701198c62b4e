"""Shares (§3): who may do what with a job, ``/api/jobs/{id}/shares[/{principalId}]``, and ``/api/principals``."""

from __future__ import annotations

from typing import Any, cast

from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api.filters import sort_key
from informer.api.pagination import HalPagination, hal_collection
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


class PrincipalPages:
    """The tenant's users, then its teams, as one sequence that ``HalPagination`` can count and slice.

    Each page reads only the rows it shows, from one table or both: a tenant of thousands of users is
    never loaded whole to serve thirty of them.
    """

    def __init__(self, users: QuerySet[User], teams: QuerySet[Team]) -> None:
        self.users = users
        self.teams = teams
        self._user_count: int | None = None

    def user_count(self) -> int:
        if self._user_count is None:
            self._user_count = self.users.count()
        return self._user_count

    def __len__(self) -> int:
        return self.user_count() + self.teams.count()

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        start, stop, users = window.start or 0, window.stop, self.user_count()
        picked: list[User | Team] = list(self.users[start:stop]) if start < users else []
        if stop is None or stop > users:
            picked += list(self.teams[max(start - users, 0) : None if stop is None else stop - users])
        principals = [share_services.principal_of(row) for row in picked]
        return [{"id": p.id, "type": p.kind, "name": p.name, "display_name": p.display_name} for p in principals]


class PrincipalListView(APIView):
    """Users and teams of the caller's tenant: the ``principalId``s that shares take."""

    hal_rel = "inf:principal"

    @extend_schema(
        summary="Users and teams that jobs can be shared with",
        description=(
            "The caller's tenant's active users (by user name), then its teams (by name); `q` matches a user's "
            "name, first or last name, or a team's name or display name, case-insensitively. "
            "Each `id` is a `principalId` for `/api/jobs/{id}/shares/{principalId}`."
        ),
        parameters=[
            OpenApiParameter("q", str, description="Text the user's or team's names contain (case-insensitive)."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 0, "maximum": 1000, "default": HalPagination.default_limit},
                description="Items per page (default 30, at most 1000).",
            ),
            OpenApiParameter(
                "start", {"type": "integer", "minimum": 0, "default": 0}, description="Offset of the first item."
            ),
        ],
        responses=hal_collection_schema(PrincipalSerializer, "inf:principal", "PrincipalCollection"),
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        if "\x00" in query:
            # PostgreSQL refuses NUL in a string literal (a ValueError from the driver, so a 500).
            raise ValidationError({"q": ["The search text may not contain NUL characters."]})
        tenant_id = request_user(request).tenant_id
        users = User.objects.filter(tenant_id=tenant_id, is_active=True)
        teams = Team.objects.filter(tenant_id=tenant_id)
        if query:
            users = users.filter(
                Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            )
            teams = teams.filter(Q(local_name__icontains=query) | Q(display_name__icontains=query))
        # Case-insensitive, ties by id, the same on SQLite and PostgreSQL, as every list sorts (§2).
        vendor = connections[users.db].vendor
        users = users.order_by(sort_key(User, "username", vendor, descending=False), "pk")
        teams = teams.order_by(sort_key(Team, "local_name", vendor, descending=False), "pk")
        paginator = HalPagination()
        page = paginator.paginate_queryset(PrincipalPages(users, teams), request, view=self)  # type: ignore[arg-type]
        return Response(paginator.envelope(cast(list[Any], PrincipalSerializer(page, many=True).data)))
