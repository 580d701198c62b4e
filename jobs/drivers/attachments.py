"""Attachment types: uploaded files and dataset exports (reports in ``jobs.drivers.reports``)."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage

from jobs import rendering
from jobs.drivers import datasets
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


EXPORT_FORMATS = ("csv", "xlsx", "json")


class DatasetAttachment(AttachmentDriver):
    """One of the job's datasets exported as csv, xlsx or json."""

    id = "dataset"
    name = "Dataset export"
    description = (
        "One of the job's datasets (by its alias) exported as csv, xlsx or json: its current rows when the "
        "action runs. The file is named filename (a template over the run context), else the attachment's "
        "name, with the format's extension added when missing."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["alias", "format"],
        "properties": {
            "alias": datasets.ALIAS,
            "format": {"type": "string", "enum": list(EXPORT_FORMATS)},
            "filename": {"type": "string", "minLength": 1, "maxLength": 200, "description": rendering.CONTEXT_HELP},
        },
    }

    @classmethod
    def validation_errors(cls, data: Any) -> list[str]:
        """The schema's problems, then the file name's template syntax."""
        problems = super().validation_errors(data)
        if problems or not data.get("filename"):
            return problems
        problem = rendering.check_template(data["filename"])
        return [f"data.filename: not a valid template: {problem}"] if problem else []

    @classmethod
    def materialize(cls, context: RunContext, attachment: dict[str, Any]) -> AttachmentFile:
        """Export the dataset's current rows (the job's owner needs view_dataset on it)."""
        from datasets.exports import export

        data = datasets.checked_data(cls, attachment.get("data") or {}, what=f"Attachment '{attachment['name']}'")
        dataset = datasets.dataset_for(context, data["alias"], need=datasets.READ)
        if dataset.current_generation_id is None:
            raise StepFailed(
                f"Attachment '{attachment['name']}': {datasets.label(dataset)} was never refreshed; there are no rows "
                "to export.",
                permanent=True,
            )
        source = data.get("filename") or attachment.get("name") or dataset.slug
        name = datasets.file_name(rendering.render(source, context, what="file name"), data["format"])
        made = export(
            generation_id=dataset.current_generation_id,
            fields=dataset.fields,
            format=data["format"],
            filename_stem=name.rsplit(".", 1)[0],
        )
        return AttachmentFile(name=name, content_type=made.content_type, content=b"".join(made.chunks()))
