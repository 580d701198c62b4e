"""History pruning by count per job and by age."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from runs.models import ACTIVE_STATUSES, Run


def history_prune(
    *, keep: int | None = None, max_age_days: int | None = None, on_job: Callable[[], None] | None = None
) -> int:
    """Delete finished runs older than ``max_age_days`` and beyond the newest ``keep`` per job."""
    keep = settings.INFORMER_HISTORY_KEEP if keep is None else keep
    max_age_days = settings.INFORMER_HISTORY_MAX_AGE_DAYS if max_age_days is None else max_age_days
    finished = Run.objects.exclude(status__in=ACTIVE_STATUSES)
    deleted = 0
    if max_age_days > 0:
        cutoff = timezone.now() - timedelta(days=max_age_days)
        deleted += finished.filter(created_at__lt=cutoff).delete()[0]
    if keep > 0:
        crowded = finished.values("job_id").annotate(total=Count("pk")).filter(total__gt=keep)
        for row in crowded:
            runs = finished.filter(job_id=row["job_id"])
            # By id, not by a cut-off time: one scheduler tick records several runs at the same instant.
            kept = list(runs.order_by("-created_at", "-pk").values_list("pk", flat=True)[:keep])
            deleted += runs.exclude(pk__in=kept).delete()[0]
            if on_job:
                on_job()
    return deleted
