"""Attachment types: uploaded files now; dataset exports and reports arrive with datasets."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage

from jobs.drivers.base import AttachmentDriver, AttachmentFile, RunContext, StepFailed


class FileAttachment(AttachmentDriver):
    """A file uploaded through ``…/action-attachment-file-contents``."""

    id = "file"
    name = "File"
    description = "An uploaded file, delivered as it is."
    schema = {"type": "object", "additionalProperties": False, "properties": {}}

    @classmethod
    def materialize(cls, context: RunContext, attachment: dict[str, Any]) -> AttachmentFile:
        """Read the stored upload."""
        path = attachment.get("file") or ""
        if not path:
            raise StepFailed(f"Attachment '{attachment['name']}' has no file uploaded yet.", permanent=True)
        try:
            with default_storage.open(path, "rb") as handle:
                content = handle.read()
        except FileNotFoundError:
            raise StepFailed(f"The file of attachment '{attachment['name']}' is missing.", permanent=True) from None
        return AttachmentFile(
            name=attachment["name"],
            content_type=attachment.get("contentType") or "application/octet-stream",
            content=content,
        )

    @classmethod
    def size(cls, attachment: dict[str, Any]) -> int | None:
        """The stored size, for previews."""
        return attachment.get("size")


class DatasetAttachment(AttachmentDriver):
    """An associated dataset exported as csv, xlsx or json."""

    id = "dataset"
    available = False  # arrives with the datasets and libraries work
    name = "Dataset export"
    description = "An associated dataset exported as csv, xlsx or json."
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["dataset"],
        "properties": {
            "dataset": {"type": "string", "minLength": 1, "description": "The dataset alias on the job."},
            "format": {"type": "string", "enum": ["csv", "xlsx", "json"], "default": "csv"},
        },
    }


class ReportAttachment(AttachmentDriver):
    """A dataset rendered through a template as html or pdf."""

    id = "report"
    available = False  # arrives with the datasets and libraries work
    name = "Report"
    description = "An associated dataset rendered through a template as html or pdf."
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["dataset", "template"],
        "properties": {
            "dataset": {"type": "string", "minLength": 1},
            "template": {"type": "string", "minLength": 1},
            "format": {"type": "string", "enum": ["html", "pdf"], "default": "html"},
        },
    }
