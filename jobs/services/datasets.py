"""A job's datasets (§8): the associations' writes, and the checks of the owner's rights when a run uses one.

An association names a dataset of the job's tenant under a short ``alias`` (``[a-z][a-z0-9_]*``, at most
64 characters: it is a template name, ``{{ datasets.sales.records }}``, and a path segment). Who saves an
association must be able to read its dataset (and refresh the datasets it snapshots); when a run executes,
the same rights are checked again, for the job's owner, whose rights the run acts with.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from datasets.models import Dataset
from datasets.selectors import dataset_lookup, dataset_permissions_for_user
from informer.api.exceptions import DomainError
from jobs.drivers.base import StepFailed
from jobs.models import Job, JobDataset

ALIAS_MAX_LENGTH = 64
ALIAS_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
SNAPSHOT_WHEN = ("before", "after")
SNAPSHOT_KEYS = ("when", "snapshotDatasets")
MAX_SNAPSHOT_DATASETS = 100
# What a step needs of a dataset: reading it, or refreshing it (refresh, clear and snapshot write to it).
NEEDS = {"view": ("view_dataset",), "refresh": ("view_dataset", "refresh_dataset")}
NEEDS["view_dataset"], NEEDS["refresh_dataset"] = NEEDS["view"], NEEDS["refresh"]


# --- Rights -------------------------------------------------------------------------------------------------


def dataset_codenames(user: Any, datasets: Iterable[Dataset]) -> dict[uuid.UUID, set[str]]:
    """The permission codenames ``user`` holds on each dataset (none across tenants, none for nobody)."""
    items = list(datasets)
    result: dict[uuid.UUID, set[str]] = {dataset.pk: set() for dataset in items}
    if user is None or not user.is_active:
        return result
    # Rights never reach across tenants, superusers excepted (§3).
    same_tenant = [dataset.pk for dataset in items if user.is_superuser or dataset.tenant_id == user.tenant_id]
    for pk, codenames in dataset_permissions_for_user(user, same_tenant).items():
        result[pk] = set(codenames)
    return result


def find_dataset(*, tenant_id: int, key: str) -> Dataset | None:
    """The dataset of the tenant with the UUID or natural id (``<tenant-slug>:<slug>``) ``key``, if any."""
    return dataset_lookup(Dataset.objects.select_related("tenant").filter(tenant_id=tenant_id), key)


def _dataset_key(value: Any, field: str) -> str:
    """A dataset reference from a body: an id string, or a ``{"datasetId": …}`` object as responses give it."""
    if isinstance(value, Mapping) and set(value) == {"datasetId"}:
        value = value["datasetId"]
    if not isinstance(value, str) or not value.strip():
        raise DomainError(f'{field}: must be a dataset id (a UUID or a natural id) or {{"datasetId": …}}.', field=field)
    return value.strip()


def _caller_dataset(*, user: Any, tenant_id: int, value: Any, field: str, refresh: bool = False) -> Dataset:
    """The dataset ``value`` names, when ``user`` may read it (and refresh it, when asked); else a 400 on ``field``.

    A dataset that does not exist and one the caller may not read get the same answer: the message must
    not tell them apart.
    """
    key = _dataset_key(value, field)
    dataset = find_dataset(tenant_id=tenant_id, key=key)
    codenames = dataset_codenames(user, [dataset]).get(dataset.pk, set()) if dataset is not None else set()
    if dataset is None or "view_dataset" not in codenames:
        raise DomainError(f"{field}: there is no dataset '{key[:80]}' that you can read.", field=field)
    if refresh and "refresh_dataset" not in codenames:
        raise DomainError(
            f"{field}: you need the 'dataset:refresh' permission on dataset '{dataset.name}' for a job to snapshot it.",
            field=field,
        )
    return dataset


# --- Writes -------------------------------------------------------------------------------------------------


def _clean_alias(value: Any) -> str:
    if not isinstance(value, str) or not ALIAS_PATTERN.fullmatch(value):
        raise DomainError(
            "alias: must be a lower-case letter followed by lower-case letters, digits or underscores "
            f"([a-z][a-z0-9_]*), at most {ALIAS_MAX_LENGTH} characters, not {_show(value)}.",
            field="alias",
        )
    return value


def _show(value: Any) -> str:
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= 70 else text[:69] + "…"


def _clean_snapshots(*, user: Any, tenant_id: int, value: Any, dataset: Dataset) -> dict[str, Any]:
    """``snapshots`` as stored: ``{}``, or ``{when, snapshotDatasets: [ids]}`` (by default the association's own)."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, Mapping):
        raise DomainError("snapshots: must be an object {when, snapshotDatasets} or null.", field="snapshots")
    for key in value:
        if key not in SNAPSHOT_KEYS:
            raise DomainError(
                f"snapshots.{key}: is not a known property; the known properties are: when, snapshotDatasets.",
                field=f"snapshots.{key}",
            )
    when = value.get("when")
    if when not in SNAPSHOT_WHEN:
        raise DomainError(f"snapshots.when: must be 'before' or 'after', not {_show(when)}.", field="snapshots.when")
    listed = value.get("snapshotDatasets", [str(dataset.pk)])
    field = "snapshots.snapshotDatasets"
    if not isinstance(listed, list):
        raise DomainError(f"{field}: must be a list of dataset ids.", field=field)
    if len(listed) > MAX_SNAPSHOT_DATASETS:
        raise DomainError(f"{field}: lists more than {MAX_SNAPSHOT_DATASETS} datasets.", field=field)
    ids: list[str] = []
    for position, item in enumerate(listed):
        found = _caller_dataset(user=user, tenant_id=tenant_id, value=item, field=f"{field}[{position}]", refresh=True)
        if str(found.pk) not in ids:  # listed twice (by id and by natural id, say): snapshotted once
            ids.append(str(found.pk))
    return {"when": when, "snapshotDatasets": ids}


def _lock(job: Job) -> None:
    """Serialise edits of one job's associations (SQLite already serialises writers)."""
    if connection.features.has_select_for_update:
        Job.objects.select_for_update().filter(pk=job.pk).first()


def _check_alias_free(job: Job, alias: str, exclude: uuid.UUID | None = None) -> None:
    others = JobDataset.objects.filter(job=job, alias=alias)
    if (others.exclude(pk=exclude) if exclude is not None else others).exists():
        raise DomainError(f"alias: '{alias}' is already used by another dataset of this job.", field="alias")


def _place(job: Job, link: JobDataset, index: int | None) -> None:
    """Put ``link`` at ``index`` (default: last) and renumber the others around it (0..n-1)."""
    others = list(JobDataset.objects.filter(job=job).exclude(pk=link.pk).order_by("index", "alias"))
    position = len(others) if index is None else max(0, min(index, len(others)))
    ordered = [*others[:position], link, *others[position:]]
    changed = []
    for number, item in enumerate(ordered):
        if item.index != number and item.pk != link.pk:
            item.index = number
            changed.append(item)
    JobDataset.objects.bulk_update(changed, ["index"])
    link.index = position


def _renumber(job: Job) -> None:
    for number, link in enumerate(JobDataset.objects.filter(job=job).order_by("index", "alias")):
        if link.index != number:
            JobDataset.objects.filter(pk=link.pk).update(index=number)


def _touch(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now())


@transaction.atomic
def job_dataset_create(*, job: Job, user: Any, fields: Mapping[str, Any]) -> JobDataset:
    """Associate a dataset ``user`` may read with ``job`` under ``fields['alias']``, at ``index`` (default last)."""
    _lock(job)
    if "alias" not in fields:
        raise DomainError("alias: is required.", field="alias")
    if "dataset_id" not in fields:
        raise DomainError("datasetId: is required.", field="datasetId")
    alias = _clean_alias(fields["alias"])
    dataset = _caller_dataset(user=user, tenant_id=job.tenant_id, value=fields["dataset_id"], field="datasetId")
    snapshots = _clean_snapshots(user=user, tenant_id=job.tenant_id, value=fields.get("snapshots"), dataset=dataset)
    _check_alias_free(job, alias)
    link = JobDataset(job=job, alias=alias, dataset=dataset, snapshots=snapshots)
    _place(job, link, fields.get("index"))
    link.save(force_insert=True)
    _touch(job)
    return link


@transaction.atomic
def job_dataset_update(*, link: JobDataset, user: Any, fields: Mapping[str, Any]) -> JobDataset:
    """Merge ``fields`` into ``link``; every dataset it names is checked again against ``user``'s rights."""
    job = link.job
    _lock(job)
    if "alias" in fields:
        link.alias = _clean_alias(fields["alias"])
        _check_alias_free(job, link.alias, exclude=link.pk)
    key = fields.get("dataset_id", str(link.dataset_id))
    dataset = _caller_dataset(user=user, tenant_id=job.tenant_id, value=key, field="datasetId")
    link.dataset = dataset
    snapshots = fields.get("snapshots", link.snapshots)
    link.snapshots = _clean_snapshots(user=user, tenant_id=job.tenant_id, value=snapshots, dataset=dataset)
    index = fields.get("index")
    if index is not None and index != link.index:
        _place(job, link, index)
    link.save()
    _touch(job)
    return link


@transaction.atomic
def job_dataset_delete(*, link: JobDataset) -> None:
    """Remove a dataset from its job (the dataset itself stays) and close the gap in the order."""
    job = link.job
    _lock(job)
    link.delete()
    _renumber(job)
    _touch(job)


# --- Reads --------------------------------------------------------------------------------------------------


def job_dataset_permissions(*, job: Job, user: Any) -> dict[str, Any]:
    """Per alias, whether the caller and whether the job's owner may view and refresh its dataset."""
    links = list(JobDataset.objects.filter(job=job).select_related("dataset").order_by("index", "alias"))
    datasets = [link.dataset for link in links]
    owner = job.permission_target.owner
    caller_codenames = dataset_codenames(user, datasets)
    owner_codenames = dataset_codenames(owner, datasets)

    def rows(codenames: dict[uuid.UUID, set[str]]) -> list[dict[str, Any]]:
        return [
            {
                "alias": link.alias,
                "datasetId": str(link.dataset_id),
                "view": "view_dataset" in codenames[link.dataset_id],
                "refresh": {"view_dataset", "refresh_dataset"} <= codenames[link.dataset_id],
            }
            for link in links
        ]

    return {
        "ownerId": owner.pk if owner is not None else None,
        "user": rows(caller_codenames),
        "owner": rows(owner_codenames),
    }


# --- At run time --------------------------------------------------------------------------------------------


def _owner_and_links(job: Job | Mapping[str, Any]) -> tuple[Job, dict[str, str]]:
    """The job's row and its aliases (alias -> dataset id): a definition's frozen ones, or the job's own."""
    if isinstance(job, Job):
        links = {link.alias: str(link.dataset_id) for link in JobDataset.objects.filter(job=job)}
        return job, links
    job_id = job.get("id")
    row = Job.objects.select_related("owner", "editing_of__owner").filter(pk=str(job_id)).first() if job_id else None
    if row is None:
        raise StepFailed("The job no longer exists.", permanent=True)
    links = {str(item["alias"]): str(item["datasetId"]) for item in job.get("datasets") or []}
    return row, links


def job_dataset_resolve(*, job: Job | Mapping[str, Any], alias_or_id: str, need: str = "view") -> Dataset:
    """The dataset a run's step names, once the job's owner is seen to hold the rights the step needs.

    ``job`` is the job, or the definition a run executes (``RunContext.job``: its ``datasets`` are the
    associations as the run froze them). ``alias_or_id`` is one of the job's aliases, else a dataset's UUID
    or natural id in the job's tenant. ``need`` is ``"view"`` (read its rows) or ``"refresh"`` (refresh,
    clear or snapshot it; ``view_dataset`` and ``refresh_dataset``). Anything else — an unknown name, a
    dataset the owner may no longer read or refresh, a job without an owner — raises ``StepFailed``
    (permanent) with a message naming the dataset, which fails that step.
    """
    if need not in NEEDS:
        raise ValueError(f"need must be one of {', '.join(NEEDS)}, not {need!r}")
    row, links = _owner_and_links(job)
    key = str(alias_or_id)
    named = f"'{key}'"
    if key in links:
        dataset = Dataset.objects.filter(pk=links[key], tenant_id=row.tenant_id).first()
        named = f"'{key}' (alias of dataset {links[key]})"
    else:
        dataset = find_dataset(tenant_id=row.tenant_id, key=key)
    if dataset is None:
        raise StepFailed(
            f"Dataset {named} is neither one of the job's dataset aliases nor a dataset of its tenant.",
            permanent=True,
        )
    owner = row.permission_target.owner
    if owner is None:
        raise StepFailed(f"The job has no owner, whose rights the run would use on dataset {named}.", permanent=True)
    held = dataset_codenames(owner, [dataset])[dataset.pk]
    if "view_dataset" not in held:
        # Named as the job names it: the dataset's own name is for those who may read it.
        raise StepFailed(
            f"The job's owner {owner.display_name} may no longer read dataset {named}; "
            "share it with them again or remove it from the job.",
            permanent=True,
        )
    if not set(NEEDS[need]) <= held:
        raise StepFailed(
            f"The job's owner {owner.display_name} may no longer refresh dataset '{dataset.name}' ({key}): "
            "it needs the 'dataset:refresh' permission.",
            permanent=True,
        )
    return dataset
