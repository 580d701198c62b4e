"""Attachments of an action, ``…/actions/{jobActionId}/attachments[/{attachmentId}]``, and a file's contents."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.exceptions import DomainError
from informer.api.filters import SearchFilter, SortFilter
from informer.api.pagination import HalPagination
from informer.api.schema import body_choices, hal_collection_schema
from informer.api.serializers import ApiModelSerializer, SelfLinkField
from jobs.api.common import NestedJobMixin, choosable, uuid_or_404
from jobs.drivers.registry import ATTACHMENT_DRIVERS, attachment_driver
from jobs.models import JobAction, JobAttachment
from jobs.services import actions as action_services


class JobAttachmentSerializer(ApiModelSerializer):
    """An attachment of an action; a ``file`` attachment's bytes go through ``…/action-attachment-file-contents``."""

    _links = SelfLinkField()
    job_action_id = serializers.UUIDField(source="action_id", read_only=True)
    type = serializers.CharField(max_length=40)
    data = serializers.JSONField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = JobAttachment
        fields = [
            "_links",
            "id",
            "job_action_id",
            "type",
            "name",
            "data",
            "content_type",
            "size",
            "sha256",
            "has_file",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "content_type", "size", "sha256", "created_at", "updated_at"]

    def self_path(self, attachment: JobAttachment) -> str:
        return reverse(
            "job-attachment-detail",
            kwargs={"job_pk": attachment.action.job_id, "action_pk": attachment.action_id, "pk": attachment.pk},
        )

    def get_has_file(self, attachment: JobAttachment) -> bool:
        return bool(attachment.file)

    def validate_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.type:
            raise serializers.ValidationError("The type of an attachment cannot change; delete it and add another.")
        if value not in ATTACHMENT_DRIVERS:
            known = ", ".join(ATTACHMENT_DRIVERS)
            raise serializers.ValidationError(f"Unknown attachment type '{value}'; known types are: {known}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type") or (self.instance.type if self.instance else None)
        if kind is None:
            raise serializers.ValidationError({"type": ["This field is required."]})
        data = attrs.get("data", self.instance.data if self.instance else {}) or {}
        errors = attachment_driver(kind).validation_errors(data)
        if errors:
            raise serializers.ValidationError({"data": errors})
        attrs["data"] = data
        return attrs


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


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
            action = JobAction.objects.filter(job=self.job(), pk=uuid_or_404(self.kwargs["action_pk"])).first()
            if action is None:
                raise Http404
            self._action = action
        return self._action

    def get_queryset(self) -> QuerySet[JobAttachment]:
        if getattr(self, "swagger_fake_view", False):
            return JobAttachment.objects.none()
        return JobAttachment.objects.select_related("action").filter(action=self.job_action()).order_by("created_at")

    def get_object(self) -> JobAttachment:
        attachment = self.get_queryset().filter(pk=uuid_or_404(self.kwargs["pk"])).first()
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

    def get_filename(self, stream: Any, media_type: Any, parser_context: Mapping[str, Any]) -> str:
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
            .filter(
                action__job=self.job(),
                action_id=uuid_or_404(self.kwargs["action_pk"]),
                pk=uuid_or_404(self.kwargs["pk"]),
            )
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
        if attachment.type != "file" or not attachment.file.name or not default_storage.exists(attachment.file.name):
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
        upload = cast(Mapping[str, Any], request.data).get("file")  # the upload parsers give a mapping, never a list
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
