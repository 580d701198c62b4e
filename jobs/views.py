"""Jobs API: CRUD, the flat jobs list, shares and principals."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api import parsers
from informer.api.filters import INTEGER_MAX, INTEGER_MIN
from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission, object_codenames
from informer.api.schema import body_choices, error_responses, hal_collection_schema
from informer.models import Team, User
from jobs import action_services, blueprints, draft_services, selectors, services
from jobs.drivers import registry
from jobs.drivers.registry import JOB_DRIVERS
from jobs.filters import JobFilter
from jobs.models import IntervalType, Job, JobTag
from jobs.selectors import actions_with_attachments
from jobs.serializers import JobListItemSerializer, JobSerializer, PrincipalSerializer, ShareSerializer
from jobs.serializers_actions import JobActionSerializer

JOB_SORT_FIELDS = {
    "name": "name",
    "type": "type",
    "slug": "slug",
    "enabled": "enabled",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "nextRunAt": "next_run_at",
    "lastRunAt": "last_run_at",
    "ownerId": "owner_id",
}


def choosable(kind: registry.Kind) -> Callable[[], list[str]]:
    """For the schema: the driver ids a request body may name (the available ones; any other is a 400)."""
    return lambda: [driver_id for driver_id, _ in registry.choices(kind, available_only=True)]


# Fields whose value is JSON (an object, a list): a form sends their JSON text.
_JSON_TYPED = (serializers.JSONField, serializers.ListField, serializers.DictField, serializers.BaseSerializer)
_FORM_ONLY_KEYS = frozenset({"csrfmiddlewaretoken"})  # the browsable API's form sends it with every field


def form_body(data: Any, fields: Mapping[str, serializers.Field], *, partial: bool) -> Any:
    """A form-encoded or multipart body (the browsable API's HTML form) as the serializer reads it; JSON as it is.

    A form carries text: each field is sent once and keeps its text (numbers in ASCII digits, booleans as DRF
    reads them), except a JSON-typed field (``data``, ``tags``, ``dstPolicy``), which holds JSON text and is
    decoded here with the API's depth limit. As DRF reads HTML forms, an empty value leaves an optional field
    unset (null where null is allowed) and, on a create, an unticked checkbox (a boolean not sent) is false.
    The result is still a QueryDict, so the serializer goes on reading the rest as form text.
    """
    if not isinstance(data, QueryDict):
        return data  # a JSON body: typed and strict as it is
    body = QueryDict(mutable=True)
    errors: dict[str, list[str]] = {}
    for key, values in data.lists():
        if key in _FORM_ONLY_KEYS:
            continue
        if len(values) != 1:
            errors[key] = [f"'{key}' was sent {len(values)} times; send one value."]
            continue
        value, field = values[0], fields.get(key)
        if field is None or field.read_only:
            body[key] = value  # the serializer names unknown keys and ignores read-only ones
        elif value == "" and (field.allow_null or not field.required):
            if getattr(field, "allow_blank", False):
                body[key] = ""
            elif field.allow_null:
                body[key] = None
        elif isinstance(field, _JSON_TYPED):
            try:
                body[key] = _form_json(key, value)
            except ValueError as error:
                errors[key] = [str(error)]
        else:
            body[key] = value
    if not partial:
        for key, field in fields.items():
            empty = getattr(field, "default_empty_html", serializers.empty)
            if key not in data and not field.read_only and empty is not serializers.empty:
                body[key] = empty
    if errors:
        raise ValidationError(errors)
    return body


def _form_json(key: str, value: Any) -> Any:
    """The value of a JSON-typed form field, decoded from its text; ValueError says what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be JSON text in a form body, not a file.")
    try:
        return parsers.loads(value)
    except parsers.JsonTooDeep as error:
        raise ValueError(f"The JSON in '{key}' is nested more than {error.limit} levels deep.") from None
    except ValueError:
        raise ValueError(f"'{key}' must be JSON text in a form body, as its value would be in a JSON body.") from None


def tags_prefetch() -> Prefetch:
    return Prefetch("tag_set", queryset=JobTag.objects.order_by("name"))


class JobLookupMixin:
    """Resolves ``{id}`` (UUID or natural id) to a job the caller may read, else 404."""

    read_permission = "view_job"
    lookup_value_regex = "[^/]+"

    def get_job(self, key: str) -> Job:
        request: Request = self.request  # type: ignore[attr-defined]
        job = selectors.job_lookup(selectors.job_scope_for_user(request.user).prefetch_related(tags_prefetch()), key)
        if job is None:
            raise Http404
        self.check_object_permissions(request, job)  # type: ignore[attr-defined]
        return job

    def lock_for_write(self, job: Job) -> Job:
        """Lock the job's row for the request's transaction and read it afresh; 404 once it is gone.

        A commit deletes its draft: an edit that read the draft before must not write after (``save()``
        would bring the row back to life, and the draft's actions now belong to the original).
        """
        locked = Job.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None:
            raise Http404
        return locked


@extend_schema_view(
    list=extend_schema(
        summary="List jobs",
        parameters=[
            OpenApiParameter("tag", str, many=True),
            OpenApiParameter("enabled", bool),
            OpenApiParameter("ownerId", {"type": "integer", "minimum": INTEGER_MIN, "maximum": INTEGER_MAX}),
            OpenApiParameter("type", str, enum=list(JOB_DRIVERS)),
            OpenApiParameter("intervalType", str, enum=IntervalType.values),
        ],
    ),
    create=extend_schema(
        summary="Create a job",
        responses={201: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    retrieve=extend_schema(summary="Get a job by id or natural id"),
    # PUT merges like PATCH (SPEC §2), so both take the partial body.
    update=extend_schema(
        summary="Update a job (merges the given fields)",
        request=JobSerializer(partial=True),
        responses={200: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    partial_update=extend_schema(
        summary="Update a job (merges the given fields)",
        responses={200: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    destroy=extend_schema(summary="Delete a job"),
)
class JobViewSet(JobLookupMixin, viewsets.ModelViewSet):
    """``/api/jobs`` and ``/api/jobs/{id}``."""

    serializer_class = JobSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "retrieve": "view_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "delete_job",
        "run": "run_job",
    }
    filterset_class = JobFilter
    sort_fields = JOB_SORT_FIELDS
    hal_rel = "inf:job"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Job]:
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return selectors.job_list_for_user(self.request.user).prefetch_related(tags_prefetch())

    def get_object(self) -> Job:
        return self.get_job(self.kwargs["pk"])

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        user = self.request.user
        if user.is_authenticated:
            context["default_timezone"] = user.tenant.timezone
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        context = self.get_serializer_context()
        context["permissions"] = selectors.job_permissions_for_user(request.user, [job.pk for job in page])
        data = JobSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def _respond(
        self,
        job: Job,
        status_code: int = status.HTTP_200_OK,
        headers: dict[str, str] | None = None,
        *,
        reload: bool = True,
    ) -> Response:
        return job_response(self, job, status_code, headers, reload=reload)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object(), reload=False)

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        received = form_body(request.data, self.get_serializer().fields, partial=False)
        form = isinstance(received, QueryDict)
        body = received.dict() if form else dict(received) if isinstance(received, dict) else received
        template = None
        if isinstance(body, dict) and "templateId" in body:
            template_id = body.pop("templateId")
            template = blueprints.blueprint(str(template_id))
            if template is None:
                raise ValidationError({"templateId": [f"Unknown job template '{template_id}'."]})
            unavailable = blueprints.blueprint_unavailable_message(str(template_id), template)
            if unavailable is not None:
                raise ValidationError({"templateId": [unavailable]})
            body = blueprints.apply_blueprint(template, body)
        if form:
            body = _as_form(body)  # the rest of a form's values are still text, read as form text
        serializer = self.get_serializer(data=body)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        tags = fields.pop("tags", None)
        job = services.job_create(user=request.user, fields=fields, tags=tags)
        if template is not None:
            self._create_template_actions(job, template["actions"])
        location = request.build_absolute_uri(JobSerializer().self_path(job))
        return self._respond(job, status.HTTP_201_CREATED, {"Location": location})

    def _create_template_actions(self, job: Job, actions: list[dict[str, Any]]) -> None:
        for index, spec in enumerate(actions):
            body = JobActionSerializer(data={**spec, "index": index})
            body.is_valid(raise_exception=True)
            action_services.action_create(job=job, fields=dict(body.validated_data))

    def required_permission(self, job: Job) -> str:
        """Deleting a draft discards an edit: it needs ``job:edit``, not ``job:delete``."""
        if self.action == "destroy" and job.is_draft:
            return "change_job"
        return self.action_permissions.get(self.action, self.read_permission)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Informer clients send partial bodies on PUT: both verbs merge.
        job = self.lock_for_write(self.get_object())
        body = form_body(request.data, self.get_serializer().fields, partial=True)
        serializer = self.get_serializer(job, data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        tags = fields.pop("tags", None)
        job = services.job_update(job=job, fields=fields, tags=tags)
        return self._respond(job)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.lock_for_write(self.get_object())
        if job.is_draft:
            draft_services.draft_discard(draft=job)
        else:
            services.job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _as_form(values: dict[str, Any]) -> QueryDict:
    """``values`` (one per key) as a form body again."""
    body = QueryDict(mutable=True)
    for key, value in values.items():
        body[key] = value
    return body


def job_response(
    view: Any,
    job: Job,
    status_code: int = status.HTTP_200_OK,
    headers: dict[str, str] | None = None,
    *,
    reload: bool = True,
) -> Response:
    """A job as ``GET /api/jobs/{id}`` shows it: with its actions (and their attachments) embedded.

    ``reload`` reads the job again (after a write); a job fresh from ``get_job`` needs no second read.
    """
    request = view.request
    context = view.get_serializer_context() if hasattr(view, "get_serializer_context") else {"request": request}
    context.setdefault("default_timezone", request.user.tenant.timezone)
    context["permissions"] = {job.pk: object_codenames(request, job)}
    if reload:
        jobs = selectors.with_locked_at(Job.objects.select_related("tenant", "owner"))
        job = jobs.prefetch_related(tags_prefetch()).get(pk=job.pk)
    data = JobSerializer(job, context=context).data
    actions = actions_with_attachments().filter(job=job).order_by("index", "created_at")
    data["_embedded"] = {
        "inf:job-action": JobActionSerializer(actions, many=True, context=context).data,
        "inf:job-dataset": [],
    }
    return Response(data, status=status_code, headers=headers)


class JobsListView(APIView):
    """``GET /api/jobs-list``: every job the caller can read, flat and unpaginated."""

    @extend_schema(summary="All readable jobs, flat", responses=JobListItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = list(selectors.job_list_for_user(request.user).prefetch_related(tags_prefetch()).order_by("name", "pk"))
        ids = [job.pk for job in jobs]
        context = {
            "request": request,
            "permissions": selectors.job_permissions_for_user(request.user, ids),
            "shared": selectors.job_shared_ids(ids),
        }
        return Response(JobListItemSerializer(jobs, many=True, context=context).data)


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

    def _item(self, job: Job, principal: services.Principal, level: int) -> dict[str, Any]:
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
        items = [self._item(job, principal, level) for principal, level in services.share_list(job=job)]
        data = ShareSerializer(items, many=True, context=self.get_serializer_context()).data
        return Response(hal_collection(request, self.hal_rel, data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        self.kwargs["job_pk"] = job.pk
        principal = services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        level = services.share_get(job=job, principal=principal)
        item = self._item(job, services.principal_of(principal), level)
        return Response(ShareSerializer(item, context=self.get_serializer_context()).data)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        self.kwargs["job_pk"] = job.pk
        body = ShareSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        principal = services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        level = services.share_set(job=job, principal=principal, level=body.validated_data["access_level"])
        item = self._item(job, services.principal_of(principal), level)
        return Response(ShareSerializer(item, context=self.get_serializer_context()).data)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self._job()
        principal = services.principal_resolve(tenant_id=job.tenant_id, principal_id=kwargs["principal_id"])
        services.share_set(job=job, principal=principal, level=0)
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
        users = User.objects.filter(tenant_id=request.user.tenant_id, is_active=True)
        teams = Team.objects.filter(tenant_id=request.user.tenant_id)
        if query:
            users = users.filter(
                Q(username__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            )
            teams = teams.filter(Q(local_name__icontains=query) | Q(display_name__icontains=query))
        principals = [services.principal_of(user) for user in users.order_by("username")[: int(limit)]]
        principals += [services.principal_of(team) for team in teams.order_by("local_name")[: int(limit)]]
        data = [
            {"id": p.id, "type": p.kind, "name": p.name, "display_name": p.display_name}
            for p in principals[: int(limit)]
        ]
        return Response(PrincipalSerializer(data, many=True).data)
