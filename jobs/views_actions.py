"""Actions, their attachments (with file contents) and previews, nested under a job."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.exceptions import DomainError
from informer.api.filters import SearchFilter, SortFilter
from informer.api.pagination import HalPagination, hal_collection
from informer.api.permissions import ObjectPermission
from informer.api.schema import body_choices, hal_collection_schema
from jobs import action_services, previews
from jobs.models import Job, JobAction, JobAttachment
from jobs.selectors import actions_with_attachments
from jobs.serializers_actions import JobActionSerializer, JobAttachmentSerializer, PreviewSerializer
from jobs.views import JobLookupMixin, choosable


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


class NestedJobMixin(JobLookupMixin):
    """The job of ``{job_pk}`` (drafts included), checked once per request."""

    permission_classes = [ObjectPermission]
    filter_backends: list[Any] = []
    pagination_class = None

    def job(self) -> Job:
        if not hasattr(self, "_job"):
            self._job = self.get_job(self.kwargs["job_pk"])
        return self._job

    def locked_job(self) -> Job:
        """The job, its row locked before anything under it is read for a write (see ``lock_for_write``)."""
        self._job = self.lock_for_write(self.job())
        return self._job

    def envelope(self, rel: str, items: list[dict[str, Any]]) -> Response:
        return Response(hal_collection(self.request, rel, items))


@extend_schema_view(
    list=extend_schema(
        summary="Actions of a job, in execution order (default sort `index`)",
        responses=hal_collection_schema(JobActionSerializer, "inf:job-action", "JobActionCollection"),
    ),
    create=extend_schema(
        summary="Add an action (at `index`, default last)", extensions=body_choices(type=choosable("action"))
    ),
    retrieve=extend_schema(summary="One action"),
    update=extend_schema(
        summary="Update an action (merges; a new `index` moves it)",
        request=JobActionSerializer(partial=True),
        extensions=body_choices(type=choosable("action")),
    ),
    partial_update=extend_schema(
        summary="Update an action (merges; a new `index` moves it)", extensions=body_choices(type=choosable("action"))
    ),
    destroy=extend_schema(summary="Delete an action"),
)
class JobActionViewSet(NestedJobMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/actions[/{jobActionId}]`` and ``…/_preview``.

    The list follows §2's conventions (``q`` over the name, ``sort``, ``limit``, ``start``) with one
    difference: its default sort is ``index``, the order the actions run in, not ``name``.
    """

    serializer_class = JobActionSerializer
    hal_rel = "inf:job-action"
    filter_backends = [SearchFilter, SortFilter]
    pagination_class = HalPagination
    search_fields = ("name",)
    sort_fields = {
        "index": "index",
        "name": "name",
        "type": "type",
        "enabled": "enabled",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
    }
    default_sort = "index"
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "create": "change_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "change_job",
        "preview": "change_job",
    }

    def get_queryset(self) -> QuerySet[JobAction]:
        if getattr(self, "swagger_fake_view", False):
            return JobAction.objects.none()
        return actions_with_attachments().filter(job=self.job()).order_by("index", "created_at")

    def get_object(self) -> JobAction:
        action = self.get_queryset().filter(pk=_uuid(self.kwargs["pk"])).first()
        if action is None:
            raise Http404
        return action

    def _item(self, action: JobAction, code: int = status.HTTP_200_OK) -> Response:
        action = actions_with_attachments().get(pk=action.pk)
        data = self.get_serializer(action).data
        headers = {"Location": data["_links"]["self"]["href"]} if code == status.HTTP_201_CREATED else None
        return Response(data, status=code, headers=headers)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._item(self.get_object())

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.locked_job()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = action_services.action_create(job=job, fields=dict(body.validated_data))
        return self._item(action, status.HTTP_201_CREATED)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action = self.get_object()
        body = self.get_serializer(action, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        action = action_services.action_update(action=action, fields=dict(body.validated_data))
        return self._item(action)

    partial_update = update

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action_services.action_delete(action=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Render the action as it would run now, delivering nothing",
        operation_id="jobs_actions_preview",
        request=PreviewSerializer,
        responses=OpenApiResponse(
            response=inline_serializer(
                "ActionPreview", {"type": serializers.CharField(), "preview": serializers.DictField()}
            ),
            description="Email: recipients, subject, body, attachments; webhook: request.",
        ),
    )
    def preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        action = self.get_object()
        body = PreviewSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        rendered = previews.action_preview(
            action=action, data=body.validated_data.get("data"), params=body.validated_data.get("params")
        )
        return Response({"type": action.type, "preview": rendered})


@extend_schema_view(
    list=extend_schema(
        summary="Attachments of an action, in the order they were added (default sort `createdAt`)",
        responses=hal_collection_schema(JobAttachmentSerializer, "inf:job-attachment", "JobAttachmentCollection"),
    ),
    create=extend_schema(summary="Add an attachment", extensions=body_choices(type=choosable("attachment"))),
    retrieve=extend_schema(summary="One attachment"),
    update=extend_schema(
        summary="Update an attachment (merges)",
        request=JobAttachmentSerializer(partial=True),
        extensions=body_choices(type=choosable("attachment")),
    ),
    partial_update=extend_schema(
        summary="Update an attachment (merges)", extensions=body_choices(type=choosable("attachment"))
    ),
    destroy=extend_schema(summary="Delete an attachment"),
)
class JobAttachmentViewSet(NestedJobMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/actions/{jobActionId}/attachments[/{attachmentId}]``.

    The list follows §2's conventions (``q`` over the name, ``sort``, ``limit``, ``start``) with one
    difference: its default sort is ``createdAt``, the order the attachments were added, in which the
    action sends them and its ``attachments`` embed them — not ``name``.
    """

    serializer_class = JobAttachmentSerializer
    hal_rel = "inf:job-attachment"
    filter_backends = [SearchFilter, SortFilter]
    pagination_class = HalPagination
    search_fields = ("name",)
    sort_fields = {
        "name": "name",
        "type": "type",
        "size": "size",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
    }
    default_sort = "createdAt"
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "create": "change_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "change_job",
    }

    def job_action(self) -> JobAction:
        if not hasattr(self, "_action"):
            action = JobAction.objects.filter(job=self.job(), pk=_uuid(self.kwargs["action_pk"])).first()
            if action is None:
                raise Http404
            self._action = action
        return self._action

    def get_queryset(self) -> QuerySet[JobAttachment]:
        if getattr(self, "swagger_fake_view", False):
            return JobAttachment.objects.none()
        return JobAttachment.objects.select_related("action").filter(action=self.job_action()).order_by("created_at")

    def get_object(self) -> JobAttachment:
        attachment = self.get_queryset().filter(pk=_uuid(self.kwargs["pk"])).first()
        if attachment is None:
            raise Http404
        return attachment

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action = self.job_action()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        attachment = action_services.attachment_create(action=action, fields=dict(body.validated_data))
        data = self.get_serializer(attachment).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["_links"]["self"]["href"]})

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        attachment = self.get_object()
        body = self.get_serializer(attachment, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        attachment = action_services.attachment_update(attachment=attachment, fields=dict(body.validated_data))
        return Response(self.get_serializer(attachment).data)

    partial_update = update

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action_services.attachment_delete(attachment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# A Content-Length is ASCII digits: str.isdigit() also takes '²' (a Latin-1 byte a server passes on), which int()
# then refuses (a 500), and int() would read Arabic-Indic digits (U+0661 U+0662) as 12.
_CONTENT_LENGTH = re.compile(r"[0-9]+")


def _declared_length_over(declared: str | None, most: int) -> bool:
    """Whether the request's Content-Length (if any) says more than ``most`` bytes; a malformed one is a 400."""
    if not declared:
        return False  # none declared (a chunked body): the upload's own size is checked once read
    if not _CONTENT_LENGTH.fullmatch(declared):
        raise DomainError(
            f"The Content-Length header '{declared[:40]}' is not a number of bytes in ASCII digits.",
            field="Content-Length",
        )
    digits = declared.lstrip("0")
    # More digits than the limit has is more than the limit: int() is not made to read thousands of them.
    return len(digits) > len(str(most)) or int(digits or "0") > most


class RawBodyParser(FileUploadParser):
    """Any content type as the file's bytes (the attachment's name stands in for a filename)."""

    media_type = "*/*"

    def get_filename(self, stream: Any, media_type: Any, parser_context: dict[str, Any]) -> str:
        return super().get_filename(stream, media_type, parser_context) or "upload"


@extend_schema_view(
    # The file goes out with the content type it was uploaded with.
    retrieve=extend_schema(
        summary="Download the file of a `file` attachment", responses={(200, "*/*"): OpenApiTypes.BINARY}
    ),
)
class AttachmentFileView(NestedJobMixin, viewsets.GenericViewSet):
    """``…/attachments/{attachmentId}/action-attachment-file-contents``: streamed download, size-capped upload."""

    serializer_class = JobAttachmentSerializer
    parser_classes = [MultiPartParser, RawBodyParser]
    action_permissions = {"retrieve": "view_job", "upload": "change_job"}

    def attachment(self) -> JobAttachment:
        attachment = (
            JobAttachment.objects.select_related("action")
            .filter(action__job=self.job(), action_id=_uuid(self.kwargs["action_pk"]), pk=_uuid(self.kwargs["pk"]))
            .first()
        )
        if attachment is None:
            raise Http404
        return attachment

    def get_object(self) -> JobAttachment:
        """The attachment, for DRF's OPTIONS metadata (the default needs a queryset this view has not)."""
        return self.attachment()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        attachment = self.attachment()
        if attachment.type != "file" or not attachment.file or not default_storage.exists(attachment.file.name):
            raise Http404
        return FileResponse(
            default_storage.open(attachment.file.name, "rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type or "application/octet-stream",
        )

    @extend_schema(
        summary="Upload the file of a `file` attachment (raw body or multipart field `file`)",
        operation_id="jobs_actions_attachments_file_upload",
        request={
            "application/octet-stream": OpenApiTypes.BINARY,
            "multipart/form-data": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
        },
        responses=JobAttachmentSerializer,
    )
    @transaction.atomic
    def upload(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.job()  # permission first: a caller who may not edit learns nothing about sizes
        limit = settings.INFORMER_ATTACHMENT_MAX_BYTES
        if _declared_length_over(request.META.get("CONTENT_LENGTH"), limit + 64 * 1024):
            raise PayloadTooLarge(f"The file is larger than the {limit}-byte limit.", field="file")
        self.locked_job()
        attachment = self.attachment()
        if attachment.type != "file":
            raise DomainError(
                f"Only 'file' attachments have uploaded contents; this one is '{attachment.type}'.", field="type"
            )
        upload = request.data.get("file")
        if upload is None:
            raise ValidationError({"file": ["No file in the request body."]})
        if upload.size > limit:
            raise PayloadTooLarge(f"The file is {upload.size} bytes; the limit is {limit}.", field="file")
        content_type = getattr(upload, "content_type", "") or request.content_type.split(";")[0]
        filename = upload.name if upload.name not in ("", "upload") else attachment.name
        attachment = action_services.attachment_upload(
            attachment=attachment, stream=upload, filename=filename, content_type=content_type
        )
        return Response(self.get_serializer(attachment).data)
