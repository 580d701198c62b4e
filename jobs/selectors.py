"""Reads of jobs, always scoped to what the caller may see."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from informer.models import User
from jobs.models import (
    RUN_RUNNING,
    Job,
    JobAction,
    JobAttachment,
    JobGroupObjectPermission,
    JobQuerySet,
    JobUserObjectPermission,
)

ALL_JOB_PERMISSIONS = frozenset({"view_job", "change_job", "run_job", "delete_job", "share_job"})


def with_locked_at(jobs: JobQuerySet) -> JobQuerySet:
    """Annotate ``Job.locked_at``: the start of the oldest run still going (few rows: those running)."""
    runs = Job._meta.get_field("runs").related_model._default_manager
    running = runs.filter(job_id=OuterRef("pk"), status=RUN_RUNNING).order_by("started_at")
    return jobs.annotate(running_since=Subquery(running.values("started_at")[:1]))


def job_scope_for_user(user: Any) -> JobQuerySet:
    """Jobs (drafts included) in the caller's tenant, every tenant for a superuser; no permission filter."""
    jobs = with_locked_at(Job.objects.select_related("tenant", "owner"))
    if user.is_superuser:
        return jobs.all()
    return jobs.filter(tenant_id=user.tenant_id)


def _permission_id(codename: str) -> Subquery:
    """The id of a job permission, as a scalar subquery the database evaluates once per query."""
    return Subquery(Permission.objects.filter(content_type__app_label="jobs", codename=codename).values("pk")[:1])


def job_ids_for_user(user: Any, *, permission: str = "view_job") -> QuerySet:
    """Ids of the jobs on which ``user`` holds ``permission``, directly or through one of their teams."""
    permission_id = _permission_id(permission)
    teams = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    direct = JobUserObjectPermission.objects.filter(user_id=user.pk, permission_id=permission_id)
    via_team = JobGroupObjectPermission.objects.filter(group_id__in=teams, permission_id=permission_id)
    return direct.values("content_object_id").union(via_team.values("content_object_id"))


def job_list_for_user(user: Any, *, permission: str = "view_job") -> JobQuerySet:
    """Committed jobs on which the caller holds ``permission``, directly or through a team.

    The filter drives from the permission tables (``pk IN (... UNION ...)``), so its cost follows the
    number of shares the caller has, not the number of jobs in the tenant; ``job_id_tenant_idx``
    answers the tenant check without reading the job rows. Drafts never hold permission rows (they
    are checked against their original), so the permission filter already leaves them out.
    """
    if user.is_superuser:
        return job_scope_for_user(user).committed()
    return job_scope_for_user(user).filter(pk__in=job_ids_for_user(user, permission=permission))


def job_lookup(scope: JobQuerySet, key: str) -> Job | None:
    """Find a job by UUID or by natural id ``<tenant-slug>:<slug>`` within ``scope``."""
    try:
        return scope.filter(pk=uuid.UUID(key)).first()
    except ValueError:
        pass
    tenant_slug, sep, slug = key.partition(":")
    if not sep or not tenant_slug or not slug:
        return None
    return scope.committed().filter(tenant__slug=tenant_slug, slug=slug).first()


def job_permissions_for_user(user: Any, job_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The caller's permission codenames on each of ``job_ids``, in two queries whatever their number."""
    ids = list(job_ids)
    if user.is_superuser:
        return {job_id: set(ALL_JOB_PERMISSIONS) for job_id in ids}
    result: dict[uuid.UUID, set[str]] = defaultdict(set)
    if not ids:
        return result
    direct = JobUserObjectPermission.objects.filter(user=user, content_object_id__in=ids).values_list(
        "content_object_id", "permission__codename"
    )
    via_team = JobGroupObjectPermission.objects.filter(group__user=user, content_object_id__in=ids).values_list(
        "content_object_id", "permission__codename"
    )
    for job_id, codename in [*direct, *via_team]:
        result[job_id].add(codename)
    return result


def job_shared_ids(job_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``job_ids`` are shared with anyone other than their owner."""
    ids = list(job_ids)
    with_users = (
        JobUserObjectPermission.objects.filter(content_object_id__in=ids)
        .exclude(user_id=Subquery(Job.objects.filter(pk=OuterRef("content_object_id")).values("owner_id")[:1]))
        .values_list("content_object_id", flat=True)
    )
    with_groups = JobGroupObjectPermission.objects.filter(content_object_id__in=ids).values_list(
        "content_object_id", flat=True
    )
    return set(with_users) | set(with_groups)


def actions_with_attachments() -> QuerySet[JobAction]:
    """Actions with their attachments prefetched in creation order."""
    return JobAction.objects.prefetch_related(
        Prefetch("attachments", queryset=JobAttachment.objects.select_related("action").order_by("created_at"))
    )


def attachment_definition(attachment: JobAttachment) -> dict[str, Any]:
    """An attachment as a run sees it."""
    return {
        "id": str(attachment.pk),
        "type": attachment.type,
        "name": attachment.name,
        "data": attachment.data,
        "file": attachment.file.name if attachment.file else "",
        "contentType": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def action_definition(action: JobAction, attachments: Iterable[JobAttachment] | None = None) -> dict[str, Any]:
    """An action (with its attachments, read from ``action.attachments`` unless given) as a run sees it."""
    return {
        "id": str(action.pk),
        "type": action.type,
        "name": action.name,
        "index": action.index,
        "enabled": action.enabled,
        "data": action.data,
        "runCondition": action.run_condition,
        "attachments": [
            attachment_definition(attachment)
            for attachment in (action.attachments.all() if attachments is None else attachments)
        ],
    }


def job_definition(job: Job, actions: Iterable[tuple[JobAction, list[JobAttachment]]] | None = None) -> dict[str, Any]:
    """What a run executes, frozen when it starts: later commits do not change a run under way.

    ``actions``, when the caller already read them, are the job's actions in order, each with its
    attachments in order.
    """
    if actions is None:
        ordered = job.actions.prefetch_related("attachments").order_by("index", "created_at", "id")
        actions = [(action, list(action.attachments.all())) for action in ordered]
    return {
        "id": str(job.pk),
        "type": job.type,
        "name": job.name,
        "naturalId": job.natural_id,
        "description": job.description,
        "data": job.data,
        "timeoutSeconds": job.timeout_seconds,
        "maxAttempts": job.max_attempts,
        "actions": [action_definition(action, attachments) for action, attachments in actions],
    }
