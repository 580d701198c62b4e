"""Writes to jobs: create, update, delete, grant. Views validate, then call these."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from informer.api.exceptions import Conflict
from informer.models import User
from informer.slugs import unique_slug
from jobs import timing
from jobs.drivers.registry import require_available
from jobs.models import Job, JobAttachment, JobTag, JobUserObjectPermission
from jobs.services.actions import delete_files_on_commit
from jobs.services.shares import ACCESS_LEVELS

SCHEDULE_FIELDS = frozenset({"interval", "interval_type", "timezone", "start_on", "end_on", "dst_policy", "enabled"})


def _check_slug_free(*, tenant_id: int, slug: str, exclude_pk: Any = None) -> None:
    clash = Job.objects.committed().filter(tenant_id=tenant_id, slug=slug).exclude(pk=exclude_pk).exists()
    if clash:
        raise Conflict(f"A job with slug '{slug}' already exists.", field="slug")


def _set_tags(job: Job, tags: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(tags))
    JobTag.objects.filter(job=job).exclude(name__in=wanted).delete()
    existing = set(JobTag.objects.filter(job=job).values_list("name", flat=True))
    JobTag.objects.bulk_create([JobTag(job=job, name=name) for name in wanted if name not in existing])


def _raise_slug_conflict(error: IntegrityError, slug: str) -> None:
    """A lost race on the slug is a 409; any other integrity error is a bug and stays one."""
    text = str(error)
    if "job_unique_slug" in text or "jobs_job.slug" in text:
        raise Conflict(f"A job with slug '{slug}' already exists.", field="slug") from None
    raise error


def job_refresh_next_run(job: Job) -> None:
    """Recompute ``next_run_at`` from the schedule as it stands now and save it."""
    job.next_run_at = timing.job_next_run_at(job)
    Job.objects.filter(pk=job.pk).update(next_run_at=job.next_run_at)


def job_grant(job: Job, user: Any, codenames: Iterable[str]) -> None:
    """Give ``user`` the listed permissions on ``job``."""
    permissions = Permission.objects.filter(content_type__app_label="jobs", codename__in=list(codenames))
    JobUserObjectPermission.objects.bulk_create(
        [JobUserObjectPermission(user=user, permission=perm, content_object=job) for perm in permissions],
        ignore_conflicts=True,
    )


@transaction.atomic
def job_create(*, user: User, fields: dict[str, Any], tags: Iterable[str] | None = None) -> Job:
    """Create a job owned by ``user`` in their tenant; the owner holds all five permissions."""
    require_available("job", fields.get("type", ""))
    job = Job(tenant_id=user.tenant_id, owner=user, **fields)
    if fields.get("slug"):
        _check_slug_free(tenant_id=user.tenant_id, slug=job.slug)
    else:
        job.slug = unique_slug(Job.objects.committed().filter(tenant_id=user.tenant_id), fallback="job", base=job.name)
    if "timezone" not in fields:
        job.timezone = user.tenant.timezone
    job.schedule_anchor = timezone.now()
    job.next_run_at = timing.job_next_run_at(job)
    try:
        with transaction.atomic():
            job.save(force_insert=True)
    except IntegrityError as error:
        _raise_slug_conflict(error, job.slug)
    _set_tags(job, tags or [])
    job_grant(job, user, ACCESS_LEVELS[3])
    return job


@transaction.atomic
def job_update(*, job: Job, fields: dict[str, Any], tags: Iterable[str] | None = None) -> Job:
    """Merge ``fields`` into ``job``; a schedule change re-anchors and recomputes ``next_run_at``."""
    if "type" in fields:
        require_available("job", fields["type"], current=job.type)
    if "slug" in fields and fields["slug"] != job.slug and not job.is_draft:
        _check_slug_free(tenant_id=job.tenant_id, slug=fields["slug"], exclude_pk=job.pk)
    schedule_changed = any(name in SCHEDULE_FIELDS and getattr(job, name) != value for name, value in fields.items())
    for name, value in fields.items():
        setattr(job, name, value)
    if schedule_changed:
        # A new schedule starts counting from now: simple intervals anchor on the moment it was saved.
        if any(name in fields for name in SCHEDULE_FIELDS - {"enabled"}):
            job.schedule_anchor = timezone.now()
        job.next_run_at = timing.job_next_run_at(job)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError as error:
        _raise_slug_conflict(error, job.slug)
    if tags is not None:
        _set_tags(job, tags)
    return job


@transaction.atomic
def job_delete(*, job: Job) -> None:
    """Delete a job with its draft, actions, attachment files, tags, shares and history."""
    paths = list(
        JobAttachment.objects.filter(Q(action__job=job) | Q(action__job__editing_of=job))
        .exclude(file="")
        .values_list("file", flat=True)
    )
    job.delete()
    delete_files_on_commit(paths)
