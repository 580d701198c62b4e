"""History pruning by count per job and by age.

A finished run is deleted when either rule says so: it is not among its job's ``keep`` newest finished
runs, or it was recorded (``created_at``) more than ``max_age_days`` days ago. So a run is kept only
while it is both among the newest and young enough. A limit of 0 turns its rule off. Queued and running
runs are never deleted and do not count towards ``keep``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from runs.models import ACTIVE_STATUSES, Run


def history_prune(
    *,
    keep: int | None = None,
    max_age_days: int | None = None,
    track: Callable[[list[uuid.UUID]], Iterable[uuid.UUID]] | None = None,
) -> int:
    """Delete the finished runs beyond their job's newest ``keep`` or older than ``max_age_days``; returns how many.

    The limits default to ``INFORMER_HISTORY_KEEP`` and ``INFORMER_HISTORY_MAX_AGE_DAYS``. ``track`` is
    given the ids of the jobs that have runs to delete, and yields them as it goes (a progress bar).
    """
    keep = settings.INFORMER_HISTORY_KEEP if keep is None else keep
    max_age_days = settings.INFORMER_HISTORY_MAX_AGE_DAYS if max_age_days is None else max_age_days
    cutoff = timezone.now() - timedelta(days=max_age_days) if max_age_days > 0 else None
    finished = Run.objects.exclude(status__in=ACTIVE_STATUSES)
    crowded = []  # which jobs have runs to delete: too many, or one that is too old
    if keep > 0:
        crowded.append(Q(total__gt=keep))
    if cutoff is not None:
        crowded.append(Q(oldest__lt=cutoff))
    if not crowded:
        return 0
    job_ids = list(
        finished.order_by()
        .values("job_id")
        .annotate(total=Count("pk"), oldest=Min("created_at"))
        .filter(reduce(or_, crowded))
        .order_by("job_id")
        .values_list("job_id", flat=True)
    )
    deleted = 0
    for job_id in track(job_ids) if track is not None else job_ids:
        runs = finished.filter(job_id=job_id)
        doomed = []
        if cutoff is not None:
            doomed.append(Q(created_at__lt=cutoff))
        if keep > 0:
            # By id, not by a cut-off time: one scheduler tick records several runs at the same instant.
            kept = list(runs.order_by("-created_at", "-pk").values_list("pk", flat=True)[:keep])
            doomed.append(~Q(pk__in=kept))
        # One job's runs at a time, and only their ids loaded: the history and its progress are large.
        deleted += runs.filter(reduce(or_, doomed)).only("pk").delete()[1].get(Run._meta.label, 0)
    return deleted
