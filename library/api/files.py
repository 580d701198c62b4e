"""A library's files (§9): ``/api/libraries/{id}/files[/{fileId}]``, ``…/{fileId}/contents``; upload and delete.

Reading and downloading need ``view_library``; uploading and deleting need ``change_library``. Uploads and
deletions are written through to the library's remote (``library.services.files``), so the next sync sees
them unchanged; a remote that refuses or fails is a 502 with its reason, and nothing is recorded.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Mapping
from typing import Any, cast

import django_filters
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.urls import URLPattern, path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.downloads import content_disposition
from informer.api.exceptions import DomainError
from informer.api.filters import StrictBooleanFilter
from informer.api.permissions import ObjectPermission
from informer.api.schema import ERROR_REF, LINK_SCHEMA, error_responses
from informer.api.serializers import ApiModelSerializer
from library import selectors
from library.api.libraries import LibraryLookupMixin
from library.integrations.paths import UnsafePath, safe_path
from library.models import FileOrigin, IndexStatus, Library, LibraryFile

FILE_SORT_FIELDS = {
    "filename": "filename",
    "path": "path",
    "directory": "directory",
    "contentType": "content_type",
    "size": "size",
    "modifiedAt": "modified_at",
    "origin": "origin",
    "indexStatus": "index_status",
    "indexedAt": "indexed_at",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
# A multipart body carries its boundaries and other fields besides the file: this much over the limit is
# still read (and the file's own size checked); a body declared larger is refused before it is read.
MULTIPART_OVERHEAD = 64 * 1024
_CONTENT_LENGTH = re.compile(r"[0-9]+")


class LibraryFileSerializer(ApiModelSerializer):
    """A file or folder of a library (read-only: files change by upload, delete and sync)."""

    _links = serializers.SerializerMethodField()
    parent_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = LibraryFile
        fields = [
            "_links",
            "id",
            "filename",
            "path",
            "parent_id",
            "directory",
            "content_type",
            "size",
            "etag",
            "sha256",
            "modified_at",
            "origin",
            "index_status",
            "index_error",
            "indexed_at",
            "chunks",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": ["self"],
            "properties": {"self": LINK_SCHEMA, "inf:contents": LINK_SCHEMA},
            "description": "`inf:contents` (the streamed download) for files, not folders.",
        }
    )
    def get__links(self, file: LibraryFile) -> dict[str, Any]:
        request = self.context.get("request")
        kwargs = {"library_pk": file.library_id, "pk": file.pk}
        links = {"self": reverse("library-file-detail", kwargs=kwargs)}
        if not file.directory:
            links["inf:contents"] = reverse("library-file-contents", kwargs=kwargs)
        return {rel: {"href": request.build_absolute_uri(href) if request else href} for rel, href in links.items()}


class LibraryFileFilter(django_filters.FilterSet):
    """``?directory=&origin=&indexStatus=`` (strict: a bad value is a 400 naming the parameter)."""

    directory = StrictBooleanFilter(field_name="directory")
    origin = django_filters.ChoiceFilter(choices=FileOrigin.choices)
    indexStatus = django_filters.ChoiceFilter(field_name="index_status", choices=IndexStatus.choices)

    class Meta:
        model = LibraryFile
        fields: list[str] = []


def _folder_filter(library: Library, request: Request) -> dict[str, Any]:
    """The ORM filter of ``?parentId=`` or ``?dir=`` (the folder's direct children), ``{}`` for every file.

    ``dir`` is a folder's path ("" or "/" for the top); a folder the library has not is a 400 naming the
    parameter, as is a malformed or unknown ``parentId``.
    """
    params = request.query_params
    if "parentId" in params and "dir" in params:
        raise DomainError("Give parentId or dir, not both.", field="parentId")
    if "parentId" in params:
        raw = params["parentId"]
        try:
            parent_id = uuid.UUID(raw)
        except ValueError:
            raise DomainError(f"parentId '{raw[:40]}' is not a UUID.", field="parentId") from None
        if not LibraryFile.objects.filter(library=library, pk=parent_id, directory=True).exists():
            raise DomainError(f"parentId '{raw}' is no folder of this library.", field="parentId")
        return {"parent_id": parent_id}
    if "dir" in params:
        raw = params["dir"].strip("/")
        if not raw:
            return {"parent__isnull": True}
        try:
            folder = safe_path(raw)
        except UnsafePath as error:
            raise DomainError(f"dir '{raw[:80]}' is refused: {error.reason}.", field="dir") from None
        parent = LibraryFile.objects.filter(library=library, path=folder, directory=True).first()
        if parent is None:
            raise DomainError(f"dir '{folder[:80]}' is no folder of this library.", field="dir")
        return {"parent_id": parent.pk}
    return {}


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


def _too_large(message: str) -> DomainError:
    """A 413 in the error shape on ``file``."""
    from library.services.files import PayloadTooLarge

    return PayloadTooLarge(message, field="file")


def _text_field(data: Mapping[str, Any], name: str) -> str:
    """A text field of the multipart body ("" when absent); a file or a list there is a 400 naming it."""
    value = data.get(name, "")
    if not isinstance(value, str):
        raise ValidationError({name: ["Must be text."]})
    if "\x00" in value:
        raise ValidationError({name: ["May not contain NUL characters."]})
    return value


# The library's remote refused or failed the write (library.services.files.RemoteWriteFailed).
REMOTE_FAILED = {
    502: OpenApiResponse(response=ERROR_REF, description="The library's remote refused or failed the write; why.")
}
UPLOAD_BODY = {
    "multipart/form-data": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "dir": {"type": "string", "description": "The folder to upload into (its path; the top by default)."},
            "filename": {"type": "string", "description": "The name to store it under (default: the part's)."},
        },
    }
}


@extend_schema_view(
    list=extend_schema(
        summary="List a library's files and folders",
        parameters=[
            OpenApiParameter("parentId", OpenApiTypes.UUID, description="Only the direct children of this folder."),
            OpenApiParameter("dir", str, description="Only the direct children of the folder at this path."),
            OpenApiParameter("q", str, description="Case-insensitive substring of the file name."),
        ],
    ),
    retrieve=extend_schema(summary="One file or folder of a library"),
    destroy=extend_schema(
        summary="Delete a file or an empty folder (also on the library's remote)",
        responses={204: None, **error_responses(409), **REMOTE_FAILED},
    ),
)
class LibraryFileViewSet(LibraryLookupMixin, viewsets.GenericViewSet):
    """``/api/libraries/{id}/files[/{fileId}]`` and ``…/{fileId}/contents``."""

    serializer_class = LibraryFileSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "list": "view_library",
        "retrieve": "view_library",
        "contents": "view_library",
        "upload": "change_library",
        "destroy": "change_library",
    }
    filterset_class = LibraryFileFilter
    sort_fields = FILE_SORT_FIELDS
    default_sort = "path"
    search_fields = ("filename",)
    hal_rel = "inf:library-file"

    def library(self) -> Library:
        """The library of the route, readable by the caller (else 404), then the action's right (else 403)."""
        if not hasattr(self, "_library"):
            self._library = self.get_library(self.kwargs["library_pk"])
        return self._library

    def get_queryset(self) -> QuerySet[LibraryFile]:
        if getattr(self, "swagger_fake_view", False):
            return LibraryFile.objects.none()
        return selectors.library_file_list(self.library())

    def get_object(self) -> LibraryFile:
        file = selectors.library_file_lookup(self.library(), self.kwargs["pk"])
        if file is None:
            raise Http404
        return file

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        library = self.library()
        rows = self.filter_queryset(self.get_queryset().filter(**_folder_filter(library, request)))
        page = self.paginate_queryset(rows)
        assert page is not None  # the view has a paginator
        data = LibraryFileSerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(cast(list[Any], data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(LibraryFileSerializer(self.get_object(), context={"request": request}).data)

    @extend_schema(summary="Download a file", responses={(200, "*/*"): OpenApiTypes.BINARY})
    def contents(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        """The file's stored bytes, streamed, with its content type and its name as the attachment's."""
        from library.services.files import file_open

        file = self.get_object()
        handle = file_open(file=file)  # a folder, or a file not stored (skipped, not fetched yet), is a 404
        content_type = file.content_type or mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = content_disposition(file.filename)
        return response

    @extend_schema(
        summary="Upload a file into a folder of the library (written through to its remote)",
        description="Multipart: the `file` part, and optionally `dir` (the folder) and `filename`. A file at the "
        "same path is replaced. Over the size limit is a 413.",
        request=UPLOAD_BODY,
        responses={201: LibraryFileSerializer, **error_responses(409), **REMOTE_FAILED},
    )
    @transaction.atomic
    def upload(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from library.services.files import file_upload

        library = self.lock_for_write(self.library())  # the rights first: a caller who may not write learns nothing
        limit = settings.INFORMER_LIBRARY_MAX_FILE_BYTES
        if _declared_length_over(request.META.get("CONTENT_LENGTH"), limit + MULTIPART_OVERHEAD):
            raise _too_large(f"The file is larger than the {limit}-byte limit.")
        data = cast(Mapping[str, Any], request.data)  # the multipart parser gives a mapping
        upload = data.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationError({"file": ["No file in the request body (a multipart part named 'file')."]})
        if upload.size > limit:
            raise _too_large(f"The file is {upload.size} bytes; the limit is {limit}.")
        directory = _text_field(data, "dir").strip("/")
        filename = _text_field(data, "filename") or upload.name or ""
        content_type = getattr(upload, "content_type", "") or ""
        if content_type in ("", "application/octet-stream"):
            content_type = mimetypes.guess_type(filename)[0] or content_type
        file = file_upload(
            library=library,
            directory=directory,
            filename=filename,
            content=upload,
            size=upload.size,
            content_type=content_type,
        )
        location = request.build_absolute_uri(
            reverse("library-file-detail", kwargs={"library_pk": library.pk, "pk": file.pk})
        )
        body = LibraryFileSerializer(file, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from library.services.files import file_delete

        self.lock_for_write(self.library())
        file_delete(file=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


FILES = "libraries/<str:library_pk>/files"

urlpatterns: list[URLPattern] = [
    path(
        FILES,
        LibraryFileViewSet.as_view({"get": "list", "post": "upload"}),
        name="library-file-list",
    ),
    path(
        f"{FILES}/<str:pk>",
        LibraryFileViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="library-file-detail",
    ),
    path(
        f"{FILES}/<str:pk>/contents",
        LibraryFileViewSet.as_view({"get": "contents"}),
        name="library-file-contents",
    ),
]
