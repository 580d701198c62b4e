"""The six job types of §4 with the JSON Schema of their ``data``.

What each type *does* when a run executes lives with the executor; here is what each accepts.
"""

from __future__ import annotations

from informer import redaction
from informer.outbound import OutboundBlocked, OutboundError, outbound_request
from jobs.drivers.base import JobTypeDriver, RunContext, StepFailed, StepResult
from jobs.drivers.delivery import JOB_STEP, delivery_headers

_UUID = {"type": "string", "format": "uuid"}
_HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class EmailJob(JobTypeDriver):
    """A job whose actions do the work (typically email actions with attachments)."""

    id = "email"
    name = "Email"
    description = "Sends scheduled emails: the job's actions do the work, typically email actions with attachments."
    schema = {"type": "object", "additionalProperties": False, "properties": {}}

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Nothing to do before the actions, which send the emails."""
        return StepResult(message="Nothing to do before the actions.")


class DatasetRefreshJob(JobTypeDriver):
    """Re-runs a dataset's query against its datasource and stores the result."""

    id = "dataset-refresh"
    available = False  # arrives with the datasets and libraries work
    name = "Dataset refresh"
    description = "Re-runs a dataset's query against its datasource and stores the result, then runs the actions."
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["datasetId"],
        "properties": {"datasetId": _UUID},
    }


class LibrarySyncJob(JobTypeDriver):
    """Mirrors a library from its cloud integration."""

    id = "library-sync"
    available = False  # arrives with the datasets and libraries work
    name = "Library sync"
    description = "Mirrors a library from its cloud integration: new and changed files fetched, removed ones deleted."
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["libraryId"],
        "properties": {"libraryId": _UUID},
    }


class IndexFilesJob(JobTypeDriver):
    """Extracts text from a library's new or changed files and indexes it for vector search."""

    id = "index-files"
    available = False  # arrives with the datasets and libraries work
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


class ApiCallJob(JobTypeDriver):
    """One HTTP request; the response's status, headers and first 64 KiB are kept on the run."""

    id = "api-call"
    name = "API call"
    description = (
        "Makes one HTTP request (method, URL, headers, body, expected statuses); the response's status, "
        "headers and first 64 KiB are kept on the run. The request carries Idempotency-Key: <run id>:job, the "
        "same on every retry of the run, and Content-Type: application/json for a JSON body, unless its "
        "headers name them."
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

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Make the request through the outbound guard and keep the response on the run."""
        data = context.job.get("data") or {}
        method = data.get("method", "GET")
        url = data["url"]
        configured = data.get("headers") or {}
        expected = data.get("expectStatus") or list(range(200, 300))
        # Messages and the kept URL are history that viewers read: credentials stay out of them (the
        # Idempotency-Key and Content-Type added below are no secrets).
        secrets = list(configured.values())
        headers = delivery_headers(configured, data.get("body"), context=context, step=JOB_STEP)
        target = f"{method} {redaction.redact_url(url)}"
        try:
            response = outbound_request(
                method,
                url,
                headers=headers,
                body=data.get("body"),
                total_timeout=float(data.get("timeoutSeconds", 30)),
                max_bytes=RESPONSE_KEEP_BYTES,
            )
        except OutboundBlocked as error:
            raise StepFailed(redaction.redact_text(error.reason, secrets), permanent=True) from None
        except OutboundError as error:
            raise StepFailed(f"{target} failed: {redaction.redact_text(str(error), secrets)}") from None
        kept = {
            "status": response.status,
            "headers": response.headers,
            "body": response.body.decode("utf-8", errors="replace"),
            "truncated": response.truncated,
            "url": redaction.redact_url(response.url),
            "elapsedMs": response.elapsed_ms,
        }
        if response.status not in expected:
            raise StepFailed(
                f"{target} answered {response.status}; expected {_describe(expected)}.",
                data={"response": kept},
            )
        return StepResult(message=f"{target} answered {response.status}.", data={"response": kept})


def _describe(statuses: list[int]) -> str:
    if statuses == list(range(200, 300)):
        return "a 2xx status"
    return ", ".join(str(status) for status in statuses)


RESPONSE_KEEP_BYTES = 64 * 1024


class SnapshotCleanupJob(JobTypeDriver):
    """Deletes a dataset's old snapshots by a keep-count and/or a maximum age."""

    id = "snapshot-cleanup"
    available = False  # arrives with the datasets and libraries work
    name = "Snapshot cleanup"
    description = (
        "Deletes a dataset's old snapshots, keeping the newest keepCount and/or those younger than maxAgeDays."
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
