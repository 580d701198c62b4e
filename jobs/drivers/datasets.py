"""What the dataset drivers share: finding a job's dataset when a step runs, refreshing it with progress,
and naming files made from it.

Rights are checked when a step runs, not only when the job was saved: the job's owner may have lost
them since. ``jobs.services.datasets.job_dataset_resolve`` does the finding and the checking; a lost
right is a permanent step failure that names the dataset.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from informer.api.exceptions import Conflict, DomainError
from jobs.drivers.base import Driver, ProgressEntry, RunContext, StepFailed

if TYPE_CHECKING:
    from datasets.models import Dataset
    from datasets.services.refresh import RefreshResult
    from jobs.models import Job

# What a step needs of a dataset (``job_dataset_resolve``): reading its rows, or refreshing it (refresh,
# clear and snapshot write to it). Deleting snapshots needs change_dataset too, as the API asks.
READ = "view"
REFRESH = "refresh"
CHANGE = "change_dataset"

# An alias (or a dataset's UUID or natural id) as data names it.
DATASET_REFERENCE = {"type": "string", "minLength": 1, "maxLength": 200}
ALIAS = {
    "type": "string",
    "minLength": 1,
    "maxLength": 64,
    "description": "The alias of one of the job's datasets (/api/jobs/{id}/datasets).",
}


def job_of(context: RunContext) -> Job:
    """The job a step works for (the draft, for a draft's preview); a job deleted meanwhile fails the step."""
    from jobs.models import Job

    job_id = context.job.get("id")
    job = (
        Job.objects.select_related("owner", "tenant", "editing_of__owner").filter(pk=job_id).first() if job_id else None
    )
    if job is None:
        raise StepFailed("The job no longer exists.", permanent=True)
    return job


def owner_of(job: Job) -> Any:
    """Whose rights the job's steps act with: its owner (a draft's original's owner)."""
    owner = job.permission_target.owner
    if owner is None:
        raise StepFailed("The job has no owner, whose rights the run would use on its datasets.", permanent=True)
    return owner


def dataset_for(context: RunContext, reference: str, *, need: str) -> Dataset:
    """The dataset ``reference`` (an alias of the job's as the run froze them, or a dataset id) names, once
    the job's owner is seen to hold ``need`` on it; else the step fails, naming it."""
    from jobs.services.datasets import job_dataset_resolve

    return job_dataset_resolve(job=context.job, alias_or_id=reference, need=need)


def require_change(job: Job, dataset: Dataset, reference: str) -> None:
    """Fail the step unless the job's owner may change ``dataset`` (what deleting its snapshots needs)."""
    from jobs.services.datasets import dataset_codenames

    owner = owner_of(job)
    if CHANGE not in dataset_codenames(owner, [dataset])[dataset.pk]:
        raise StepFailed(
            f"The job's owner {owner.display_name} may not change dataset '{dataset.name}' ({reference}): deleting "
            "its snapshots needs the 'dataset:edit' permission (change_dataset).",
            permanent=True,
        )


def checked_data(driver: type[Driver], data: Any, *, what: str) -> dict[str, Any]:
    """``data`` once it fits the driver's schema; a definition saved under an older schema fails the step."""
    problems = driver.validation_errors(data)
    if problems:
        raise StepFailed(f"{what}: {problems[0]}", permanent=True)
    return dict(data)


def label(dataset: Dataset) -> str:
    """How messages name a dataset."""
    return f"dataset '{dataset.name}'"


def refresh(
    context: RunContext, dataset: Dataset, *, params: dict[str, Any] | None, entry: ProgressEntry | None = None
) -> RefreshResult:
    """Refresh ``dataset``; ``entry`` counts the rows as they stream. Failures become the step's, naming it.

    A refresh that fails or is cancelled leaves the previous rows current (``dataset_refresh``).
    """
    from datasets.connectors.base import ConnectorError
    from datasets.services.refresh import RefreshCancelled, dataset_refresh

    def progress(rows: int) -> None:
        if entry is not None:
            entry.update(f"{rows:,} rows so far.", records=rows)

    try:
        return dataset_refresh(dataset=dataset, params=params, progress=progress, cancelled=context.should_stop)
    except ConnectorError as error:
        # The source's own reason (a syntax error, a connection cut): whether a retry helps is its call.
        raise StepFailed(f"Refreshing {label(dataset)} failed: {error.message}", permanent=error.permanent) from None
    except RefreshCancelled as error:  # the run is stopping (cancelled, timed out): the executor says which
        raise StepFailed(f"Refreshing {label(dataset)} stopped: {error.message}") from None
    except Conflict as error:
        # Someone else's refresh of the same dataset is under way; a retry later may find it free.
        raise StepFailed(f"Refreshing {label(dataset)} failed: {error.message}") from None
    except DomainError as error:  # a parameter of the wrong type, a required one missing
        raise StepFailed(f"Refreshing {label(dataset)} failed: {error.message}", permanent=True) from None


def refreshed_message(dataset: Dataset, result: RefreshResult) -> str:
    """A refresh's result in a sentence: records now and before, time taken, the cap if one was hit."""
    message = (
        f"Refreshed {label(dataset)}: {result.records:,} records "
        f"(before: {result.previous_record_count:,}) in {result.duration / 1000:.1f} s."
    )
    if result.truncated:
        message += " The result hit the row or size cap: only what fits was stored."
    return message


def refreshed_data(reference: str, dataset: Dataset, result: RefreshResult) -> dict[str, Any]:
    """What a run keeps of one refresh (the §8 answer, with the dataset it was)."""
    return {
        "dataset": reference,
        "datasetId": str(dataset.pk),
        "name": dataset.name,
        "records": result.records,
        "previousRecordCount": result.previous_record_count,
        "duration": result.duration,
        "fieldsAdded": list(result.fields_added),
        "fieldsUpdated": list(result.fields_updated),
        "truncated": result.truncated,
    }


# Characters a file name may not carry into a mail client or a file system.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def file_name(name: str, extension: str) -> str:
    """``name`` as one safe file name ending in ``.extension`` (added when it does not already)."""
    cleaned = " ".join(_UNSAFE.sub("-", name).split()).strip(" .-") or "export"
    suffix = f".{extension}"
    if not cleaned.lower().endswith(suffix):
        cleaned += suffix
    # Mail clients and file systems cut names beyond 255 bytes; keep the extension.
    if len(cleaned.encode()) > 200:
        stem = cleaned[: -len(suffix)].encode()[: 200 - len(suffix)].decode(errors="ignore")
        cleaned = stem + suffix
    return cleaned
