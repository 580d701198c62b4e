"""The six job types of §4 with the JSON Schema of their ``data``.

What each type *does* when a run executes lives with the executor; here is what each accepts.
"""

from __future__ import annotations

from jobs.drivers.base import Driver

_UUID = {"type": "string", "format": "uuid"}
_HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class EmailJob(Driver):
    """A job whose actions do the work (typically email actions with attachments)."""

    id = "email"
    name = "Email"
    description = (
        "Sends scheduled emails: the job's actions do the work, typically email actions with attachments."
    )
    schema = {"type": "object", "additionalProperties": False, "properties": {}}


class DatasetRefreshJob(Driver):
    """Re-runs a dataset's query against its datasource and stores the result."""

    id = "dataset-refresh"
    name = "Dataset refresh"
    description = (
        "Re-runs a dataset's query against its datasource and stores the result, then runs the actions."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["datasetId"],
        "properties": {"datasetId": _UUID},
    }


class LibrarySyncJob(Driver):
    """Mirrors a library from its cloud integration."""

    id = "library-sync"
    name = "Library sync"
    description = (
        "Mirrors a library from its cloud integration: new and changed files fetched, removed ones deleted."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["libraryId"],
        "properties": {"libraryId": _UUID},
    }


class IndexFilesJob(Driver):
    """Extracts text from a library's new or changed files and indexes it for vector search."""

    id = "index-files"
    name = "Index files"
    description = "Extracts text from a library's new or changed files and indexes it for vector search."
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["libraryId"],
        "properties": {
            "libraryId": _UUID,
            "extensions": {
                "type": "array",
                "items": {"type": "string", "enum": ["txt", "md", "csv", "html", "pdf", "docx"]},
                "uniqueItems": True,
            },
            "reindex": {"type": "boolean", "default": False},
        },
    }


class ApiCallJob(Driver):
    """One HTTP request; the response's status, headers and first 64 KiB are kept on the run."""

    id = "api-call"
    name = "API call"
    description = (
        "Makes one HTTP request (method, URL, headers, body, expected statuses); the response's status, "
        "headers and first 64 KiB are kept on the run."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            "method": {"type": "string", "enum": _HTTP_METHODS, "default": "GET"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"type": "string", "maxLength": 1_048_576},
            "expectStatus": {
                "type": "array",
                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                "minItems": 1,
                "uniqueItems": True,
            },
            "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": 30},
        },
    }


class SnapshotCleanupJob(Driver):
    """Deletes a dataset's old snapshots by a keep-count and/or a maximum age."""

    id = "snapshot-cleanup"
    name = "Snapshot cleanup"
    description = (
        "Deletes a dataset's old snapshots, keeping the newest keepCount and/or those "
        "younger than maxAgeDays."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["datasetId"],
        "anyOf": [{"required": ["keepCount"]}, {"required": ["maxAgeDays"]}],
        "properties": {
            "datasetId": _UUID,
            "keepCount": {"type": "integer", "minimum": 0},
            "maxAgeDays": {"type": "integer", "minimum": 1},
        },
    }
