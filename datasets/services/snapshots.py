"""Snapshots: named pins on a dataset's generation, taken in O(1), restored, and cleaned up by count and age."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from datasets import storage
from datasets.models import Dataset, Generation, GenerationStatus, Snapshot, SnapshotTrigger
from datasets.services.refresh import refresh_claim
from informer.api.exceptions import DomainError

_ATTEMPTS = 3  # a refresh may swap the generation between reading it and pinning it; try again


def snapshot_create(
    *,
    dataset: Dataset,
    name: str = "",
    note: str = "",
    trigger: str = SnapshotTrigger.MANUAL,
    user: Any = None,
    job_id: uuid.UUID | None = None,
    run_id: uuid.UUID | None = None,
) -> Snapshot:
    """Pin the dataset's current generation under a snapshot: one row written, whatever the row count."""
    if trigger not in SnapshotTrigger.values:
        raise DomainError(f"trigger: must be one of {', '.join(SnapshotTrigger.values)}.", field="trigger")
    for _ in range(_ATTEMPTS):
        generation_id = Dataset.objects.filter(pk=dataset.pk).values_list("current_generation_id", flat=True).first()
        if generation_id is None:
            raise DomainError("The dataset has never been refreshed: there are no rows to take a snapshot of.")
        with transaction.atomic():
            # Locked and READY: a collection that reached it first (it stopped being current) has marked it.
            if (
                not Generation.objects.select_for_update()
                .filter(pk=generation_id, status=GenerationStatus.READY)
                .first()
            ):
                continue
            return Snapshot.objects.create(
                dataset=dataset,
                generation_id=generation_id,
                name=name,
                note=note,
                trigger=trigger,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                job_id=job_id,
                run_id=run_id,
            )
    raise DomainError("The dataset's rows changed while the snapshot was taken; try again.")


def snapshot_delete(*, snapshot: Snapshot) -> None:
    """Delete a snapshot; its generation's rows go too unless something else still points at them."""
    dataset_id = snapshot.dataset_id
    snapshot.delete()
    storage.generations_collect(dataset_id=dataset_id)


def snapshot_restore(*, snapshot: Snapshot) -> Dataset:
    """Make the snapshot's generation the dataset's current one again (409 while the dataset refreshes)."""
    with refresh_claim(snapshot.dataset_id) as claim, transaction.atomic():
        generation = (
            Generation.objects.select_for_update()
            .filter(pk=snapshot.generation_id, status=GenerationStatus.READY)
            .first()
        )
        if generation is None:
            raise DomainError("The snapshot's rows are no longer stored; it cannot be restored.")
        Dataset.objects.filter(pk=snapshot.dataset_id, refresh_started_at=claim.token).update(
            current_generation=generation.pk,
            records=generation.records,
            size=generation.size,
            fields=generation.fields,
            truncated=generation.truncated,
            # The rows are those of the snapshot's time, and the dataset says so.
            data_updated_at=generation.completed_at,
        )
    storage.generations_collect(dataset_id=snapshot.dataset_id)
    return Dataset.objects.get(pk=snapshot.dataset_id)


def _whole_number(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DomainError(f"{field}: must be a whole number of 0 or more.", field=field)
    return value


def snapshot_cleanup(
    *,
    datasets: Iterable[Dataset],
    keep: int | None,
    max_age_days: int | None,
    include_manual: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Delete each dataset's snapshots beyond its newest ``keep`` and older than ``max_age_days``; how many went.

    A rule that is None is off; with both, a snapshot goes only when it breaks both. Manual snapshots
    are neither deleted nor counted unless ``include_manual``.
    """
    keep = _whole_number(keep, "keep")
    max_age_days = _whole_number(max_age_days, "maxAgeDays")
    if keep is None and max_age_days is None:
        raise DomainError("keep: give keep, maxAgeDays or both.", field="keep")
    cutoff = (now or timezone.now()) - dt.timedelta(days=max_age_days) if max_age_days is not None else None
    deleted = 0
    for dataset in datasets:
        snapshots = Snapshot.objects.filter(dataset_id=dataset.pk)
        if not include_manual:
            snapshots = snapshots.exclude(trigger=SnapshotTrigger.MANUAL)
        newest_first = snapshots.order_by("-created_at", "-pk").values_list("pk", "created_at")
        beyond = newest_first[keep:] if keep else newest_first
        doomed = [pk for pk, created_at in beyond if cutoff is None or created_at < cutoff]
        if not doomed:
            continue
        deleted += Snapshot.objects.filter(pk__in=doomed).delete()[0]
        storage.generations_collect(dataset_id=dataset.pk)
    return deleted
