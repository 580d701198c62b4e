"""The six job types of §4: the JSON Schema of their ``data`` and what each does first when a run executes
(``library-sync`` and ``index-files`` in ``jobs.drivers.libraries``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from informer import redaction
from informer.outbound import OutboundBlocked, OutboundError, outbound_request
from jobs.drivers.base import JobTypeDriver, RunContext, StepFailed, StepResult
from jobs.drivers.datasets import (
    CHANGE,
    DATASET_REFERENCE,
    READ,
    REFRESH,
    checked_data,
    dataset_for,
    job_of,
    owner_of,
    refresh,
    refreshed_data,
    refreshed_message,
    require_change,
)
from jobs.drivers.delivery import JOB_STEP, delivery_headers

if TYPE_CHECKING:
    from datasets.models import Dataset
    from jobs.models import Job

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
    """Re-runs datasets' queries against their datasources and stores the results, one progress entry each."""

    id = "dataset-refresh"
    name = "Dataset refresh"
    description = (
        "Refreshes each listed dataset (an alias of the job's datasets, or a dataset id), one after the other, "
        "then runs the actions. Each dataset has a progress entry that counts the rows as they stream. A "
        "dataset whose refresh fails keeps its previous rows; the others are still refreshed."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["datasets"],
        "properties": {
            "datasets": {
                "type": "array",
                "items": DATASET_REFERENCE,
                "minItems": 1,
                "maxItems": 100,
                "uniqueItems": True,
                "description": "Aliases of the job's datasets, or dataset ids (UUID or natural id).",
            },
            "params": {
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                "description": "Values of the datasets' declared parameters, each given to the datasets that "
                "declare it; a run's own params (Run now) win over these.",
            },
        },
    }

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Refresh each dataset in turn; the step fails, naming them, when any did."""
        data = checked_data(cls, context.job.get("data") or {}, what="The job's data")
        given = data.get("params") or {}
        found: list[tuple[str, Dataset]] = []
        failures: list[StepFailed] = []
        for reference in data.get("datasets", []):
            try:
                found.append((reference, dataset_for(context, reference, need=REFRESH)))
            except StepFailed as failure:
                context.progress.begin(f"refresh:{reference}", f"Refresh {reference}").end("error", failure.message)
                failures.append(failure)
        declared = {param.get("name") for _, dataset in found for param in dataset.params or []}
        unknown = sorted(set(given) - declared)
        if unknown and not failures:
            raise StepFailed(
                f"data.params: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} declared by none of "
                "the datasets.",
                permanent=True,
            )
        refreshed: list[dict[str, Any]] = []
        truncated = False
        for reference, dataset in found:
            names = {param.get("name") for param in dataset.params or []}
            values = {key: value for key, value in {**given, **context.params}.items() if key in names}
            entry = context.progress.begin(
                f"refresh:{reference}", f"Refresh {dataset.name}", "Starting.", datasetId=str(dataset.pk), records=0
            )
            try:
                result = refresh(context, dataset, params=values, entry=entry)
            except StepFailed as failure:
                entry.end("error", failure.message)
                failures.append(failure)
                continue
            truncated = truncated or result.truncated
            entry.end(
                "warning" if result.truncated else "success", refreshed_message(dataset, result), records=result.records
            )
            refreshed.append(refreshed_data(reference, dataset, result))
        kept = {"datasets": refreshed}
        if failures:
            raise StepFailed(
                " ".join(failure.message for failure in failures),
                permanent=all(failure.permanent for failure in failures),
                data=kept,
            )
        records = sum(item["records"] for item in refreshed)
        message = f"Refreshed {len(refreshed)} dataset(s): {records:,} records."
        if truncated:
            message += " Some hit the row or size cap: only what fits was stored."
        return StepResult(message=message, warning=truncated, data=kept)


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
    """Deletes datasets' old snapshots by a keep-count and/or a maximum age."""

    id = "snapshot-cleanup"
    name = "Snapshot cleanup"
    description = (
        'Deletes the snapshots of the listed datasets (aliases of the job\'s datasets or dataset ids, or "all": '
        "every dataset of the job's tenant its owner may change) that are beyond the newest keep and older than "
        "maxAgeDays; a rule left out does not hold anything back, and at least one is needed. Snapshots taken by "
        "hand are kept unless includeManual. Reports how many went."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["datasets"],
        "anyOf": [{"required": ["keep"]}, {"required": ["maxAgeDays"]}],
        "properties": {
            "datasets": {
                "oneOf": [
                    {"type": "string", "const": "all"},
                    {"type": "array", "items": DATASET_REFERENCE, "minItems": 1, "maxItems": 100, "uniqueItems": True},
                ]
            },
            "keep": {"type": "integer", "minimum": 0, "description": "How many of the newest snapshots stay."},
            "maxAgeDays": {"type": "integer", "minimum": 0, "description": "Snapshots younger than this stay."},
            "includeManual": {"type": "boolean", "default": False},
        },
    }

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Delete each dataset's snapshots that both rules let go; the count per dataset goes on the run."""
        from django.utils import timezone

        from datasets.services.snapshots import snapshot_cleanup

        data = checked_data(cls, context.job.get("data") or {}, what="The job's data")
        job = job_of(context)
        if data.get("datasets") == "all":
            datasets = _changeable_datasets(job)
        else:
            datasets = []
            for reference in data["datasets"]:
                dataset = dataset_for(context, reference, need=READ)
                require_change(job, dataset, reference)
                datasets.append(dataset)
        now = timezone.now()  # one instant for every dataset: the same age rule for all
        counts: list[dict[str, Any]] = []
        for dataset in datasets:
            deleted = snapshot_cleanup(
                datasets=[dataset],
                keep=data.get("keep"),
                max_age_days=data.get("maxAgeDays"),
                include_manual=bool(data.get("includeManual", False)),
                now=now,
            )
            counts.append({"datasetId": str(dataset.pk), "name": dataset.name, "deleted": deleted})
        total = sum(item["deleted"] for item in counts)
        return StepResult(
            message=f"Deleted {total} snapshot(s) of {len(counts)} dataset(s).",
            data={"deleted": total, "datasets": counts},
        )


def _changeable_datasets(job: Job) -> list[Dataset]:
    """Every dataset of the job's tenant on which its owner holds ``change_dataset`` (``datasets: "all"``)."""
    from datasets.selectors import dataset_list_for_user

    owner = owner_of(job)
    return list(dataset_list_for_user(owner, permission=CHANGE).filter(tenant_id=job.tenant_id).order_by("name"))
