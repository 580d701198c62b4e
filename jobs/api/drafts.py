"""Drafts: ``_edit``, ``draft`` and ``_commit`` on a job (discarding is ``DELETE`` on the draft)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses
from jobs.api.common import JobLookupMixin
from jobs.api.jobs import JobSerializer, job_response
from jobs.models import Job
from jobs.services import drafts as draft_services


class JobDraftViewSet(JobLookupMixin, viewsets.GenericViewSet):
    """``POST /api/jobs/{id}/_edit``, ``GET /api/jobs/{id}/draft``, ``POST /api/jobs/{id}/_commit``."""

    serializer_class = JobSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {"edit": "change_job", "draft": "view_job", "commit": "change_job"}
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> Any:
        return Job.objects.none()

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.request.user.is_authenticated:
            context["default_timezone"] = self.request.user.tenant.timezone
        return context

    @extend_schema(
        summary="Get or create the job's draft",
        operation_id="jobs_draft_edit",
        request=None,
        responses={200: JobSerializer, 201: JobSerializer},
    )
    @transaction.atomic
    def edit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        draft, created = draft_services.draft_edit(job=self.get_job(kwargs["pk"]))
        if not created:
            return job_response(self, draft)
        location = request.build_absolute_uri(JobSerializer().self_path(draft))
        return job_response(self, draft, status.HTTP_201_CREATED, {"Location": location})

    @extend_schema(summary="The job's draft", operation_id="jobs_draft_retrieve", responses=JobSerializer)
    def draft(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.get_job(kwargs["pk"]).permission_target
        draft = Job.objects.filter(editing_of=job).first()
        if draft is None:
            raise Http404
        return job_response(self, draft)

    @extend_schema(
        summary="Commit the draft onto the job",
        operation_id="jobs_draft_commit",
        request=None,
        responses={200: JobSerializer, **error_responses(409)},
    )
    @transaction.atomic
    def commit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        original = draft_services.draft_commit(job=self.get_job(kwargs["pk"]))
        return job_response(self, original)
