"""The ``dataset`` action: refresh, snapshot or clear one of the job's datasets when the run gets there."""

from __future__ import annotations

import uuid
from typing import Any

from informer.api.exceptions import DomainError
from jobs.drivers import datasets
from jobs.drivers.base import ActionDriver, RunContext, StepFailed, StepResult


class DatasetAction(ActionDriver):
    """Refresh, snapshot or clear one of the job's datasets."""

    id = "dataset"
    name = "Dataset operation"
    description = (
        "Refreshes, snapshots (trigger job, with the run's id) or clears one of the job's datasets, named by its "
        "alias. The job's owner needs refresh_dataset on it when the run gets there."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["alias", "operation"],
        "properties": {
            "alias": datasets.ALIAS,
            "operation": {"type": "string", "enum": ["refresh", "snapshot", "clear"]},
        },
    }

    @classmethod
    def preview(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        """The operation and the dataset it would work on (with its records now), doing nothing."""
        data = datasets.checked_data(cls, action.get("data") or {}, what=f"Action '{action['name']}'")
        dataset = datasets.dataset_for(context, data["alias"], need=datasets.REFRESH)
        return {
            "alias": data["alias"],
            "operation": data["operation"],
            "datasetId": str(dataset.pk),
            "name": dataset.name,
            "records": dataset.records,
        }

    @classmethod
    def execute(cls, context: RunContext, action: dict[str, Any]) -> StepResult:
        """Do the operation; a lost right or a failing source fails the step, naming the dataset."""
        data = datasets.checked_data(cls, action.get("data") or {}, what=f"Action '{action['name']}'")
        alias, operation = data["alias"], data["operation"]
        dataset = datasets.dataset_for(context, alias, need=datasets.REFRESH)
        if operation == "refresh":
            names = {param.get("name") for param in dataset.params or []}
            params = {key: value for key, value in context.params.items() if key in names}
            result = datasets.refresh(context, dataset, params=params)
            return StepResult(
                message=datasets.refreshed_message(dataset, result),
                warning=result.truncated,
                data=datasets.refreshed_data(alias, dataset, result),
            )
        if operation == "snapshot":
            from datasets.services.snapshots import snapshot_create

            job = datasets.job_of(context)
            try:
                snapshot = snapshot_create(
                    dataset=dataset,
                    name=f"{job.name} (run {context.run_id})"[:200],
                    note=f"Taken by the action '{action['name']}' of job '{job.name}', run {context.run_id}.",
                    trigger="job",
                    user=datasets.owner_of(job),
                    job_id=job.permission_target.pk,
                    run_id=uuid.UUID(context.run_id),
                )
            except DomainError as error:  # a dataset never refreshed has nothing to pin
                raise StepFailed(
                    f"Snapshot of {datasets.label(dataset)} failed: {error.message}", permanent=True
                ) from None
            return StepResult(
                message=f"Took a snapshot of {datasets.label(dataset)}: {snapshot.generation.records:,} records.",
                data={"datasetId": str(dataset.pk), "snapshotId": str(snapshot.pk)},
            )
        from datasets.services.refresh import dataset_clear

        previous = dataset.records
        try:
            dataset_clear(dataset=dataset)
        except DomainError as error:  # being refreshed right now (409)
            raise StepFailed(f"Clearing {datasets.label(dataset)} failed: {error.message}") from None
        return StepResult(
            message=f"Cleared {datasets.label(dataset)} ({previous:,} records before).",
            data={"datasetId": str(dataset.pk), "previousRecordCount": previous},
        )
