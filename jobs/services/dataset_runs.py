"""What a run does with its job's datasets (§8): ``datasets.<alias>`` in its context, the record counts its
conditions read, and the snapshots taken before its first step and after its last action.

Everything here acts with the rights of the job's owner, checked again when the run reads them: a dataset
the owner may no longer read is left out of the context (its conditions have no count), and a snapshot of
one they may no longer read or refresh fails its step with a message naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from datasets.data import dataset_rows
from datasets.models import Dataset
from datasets.services.snapshots import snapshot_create
from informer.api.exceptions import DomainError
from jobs.drivers.base import StepFailed, StepResult
from jobs.models import Job
from jobs.services.datasets import dataset_codenames, job_dataset_resolve

CONTEXT_ROWS = 1000  # the rows a template sees of each dataset (§8: the first 1,000)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def record_counts(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """The record count of each alias in a run's ``datasets`` context, as run conditions read them."""
    return {alias: entry["records"] for alias, entry in entries.items()}


class RunDatasets:
    """The job's datasets as a run's context shows them: ``entries`` (alias -> ``{id, name, records,
    dataUpdatedAt, fields, rows}``), read afresh by ``refresh()`` before each step.

    Only the aliases whose dataset the job's owner may still read (and ``viewer`` too, for a preview,
    which someone else may be asking for) have an entry. An entry's rows are read again only when its
    dataset's stored rows changed (a refresh, a clear or a restore put another generation in place).
    ``entries`` is one dict updated in place, so a ``RunContext`` holding it sees every refresh.
    """

    def __init__(self, definition: Mapping[str, Any], *, viewer: Any = None) -> None:
        self.job_id = definition.get("id")
        self.links = [(str(item["alias"]), str(item["datasetId"])) for item in definition.get("datasets") or []]
        self.viewer = viewer
        self.entries: dict[str, dict[str, Any]] = {}
        self._shown: dict[str, int | None] = {}  # alias -> the generation its entry's rows come from
        self._job: Job | None = None

    def refresh(self) -> dict[str, dict[str, Any]]:
        """Bring ``entries`` up to date with the datasets as stored now; returns them."""
        if not self.links:
            return self.entries  # no dataset: no query, whatever the run
        if self._job is None and self.job_id:
            self._job = Job.objects.select_related("owner", "editing_of__owner").filter(pk=str(self.job_id)).first()
        if self._job is None:
            self.entries.clear()
            return self.entries
        ids = {dataset_id for _, dataset_id in self.links}
        found = Dataset.objects.filter(pk__in=ids, tenant_id=self._job.tenant_id)
        datasets = {str(dataset.pk): dataset for dataset in found}
        readable = self._readable(list(datasets.values()))
        for alias, dataset_id in self.links:
            dataset = datasets.get(dataset_id)
            if dataset is None or dataset.pk not in readable:
                self.entries.pop(alias, None)
                self._shown.pop(alias, None)
                continue
            entry = self.entries.get(alias)
            same_rows = entry is not None and self._shown.get(alias) == dataset.current_generation_id
            rows = entry["rows"] if entry is not None and same_rows else self._rows(dataset)
            self.entries[alias] = {
                "id": str(dataset.pk),
                "name": dataset.name,
                "records": dataset.records,
                "dataUpdatedAt": _iso(dataset.data_updated_at),
                "fields": [dict(field) for field in dataset.fields],
                "rows": rows,
            }
            self._shown[alias] = dataset.current_generation_id
        return self.entries

    def _readable(self, datasets: list[Dataset]) -> set[uuid.UUID]:
        assert self._job is not None
        people = [self._job.permission_target.owner]
        if self.viewer is not None:
            people.append(self.viewer)
        readable = {dataset.pk for dataset in datasets}
        for person in people:
            rights = dataset_codenames(person, datasets)
            readable = {pk for pk in readable if "view_dataset" in rights[pk]}
        return readable

    @staticmethod
    def _rows(dataset: Dataset) -> list[dict[str, Any]]:
        if dataset.current_generation_id is None:
            return []  # never refreshed: no rows yet
        return dataset_rows(generation_id=dataset.current_generation_id, fields=dataset.fields, limit=CONTEXT_ROWS)


@dataclass(frozen=True)
class PlannedSnapshot:
    """One snapshot a run takes: its progress entry's key and name, and the dataset it names."""

    key: str
    name: str
    dataset_id: str


def snapshot_plan(definition: Mapping[str, Any], when: str) -> list[PlannedSnapshot]:
    """The snapshots the job's associations ask for ``when`` (``before`` | ``after``): each dataset once, in order."""
    links = definition.get("datasets") or []
    aliases = {str(item["datasetId"]): str(item["alias"]) for item in reversed(links)}  # the first alias wins
    planned: dict[str, PlannedSnapshot] = {}
    moment = "before the run" if when == "before" else "after the last action"
    for item in links:
        snapshots = item.get("snapshots") or {}
        if snapshots.get("when") != when:
            continue
        for dataset_id in snapshots.get("snapshotDatasets") or []:
            dataset_id = str(dataset_id)
            if dataset_id not in planned:
                # Named by its alias, or its id: job viewers see the name, and may not be able to read the dataset.
                label = aliases.get(dataset_id) or f"dataset {dataset_id}"
                planned[dataset_id] = PlannedSnapshot(
                    key=f"snapshot:{when}:{dataset_id}", name=f"Snapshot of {label} ({moment})", dataset_id=dataset_id
                )
    return list(planned.values())


def snapshot_take(*, definition: Mapping[str, Any], run_id: str, planned: PlannedSnapshot, when: str) -> StepResult:
    """Take one planned snapshot (trigger ``job``, with the job and run ids) with the owner's rights."""
    dataset = job_dataset_resolve(job=definition, alias_or_id=planned.dataset_id, need="refresh")
    if dataset.current_generation_id is None:
        return StepResult(message=f"Dataset '{dataset.name}' has no stored rows yet: there is nothing to snapshot.")
    job = Job.objects.select_related("owner", "editing_of__owner").filter(pk=str(definition["id"])).first()
    owner = job.permission_target.owner if job is not None else None
    moment = "before" if when == "before" else "after"
    try:
        snapshot = snapshot_create(
            dataset=dataset,
            name=f"{definition.get('name', 'Job')} ({moment} run {run_id})"[:200],
            note=f"Taken by job '{definition.get('name', '')}', run {run_id}, {moment} its work.",
            trigger="job",
            user=owner,
            job_id=uuid.UUID(str(definition["id"])),
            run_id=uuid.UUID(run_id),
        )
    except DomainError as error:  # cleared or collected in between, say
        raise StepFailed(f"Snapshot of '{dataset.name}' failed: {error.message}") from None
    records = snapshot.generation.records
    return StepResult(
        message=f"Snapshot of '{dataset.name}': {records} records.",
        data={"snapshotId": str(snapshot.pk), "datasetId": str(dataset.pk), "records": records},
    )
