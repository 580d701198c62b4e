"""Reads of jobs, always scoped to what the caller may see."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from informer.models import User
from jobs.models import (
    RUN_RUNNING,
    Job,
    JobAction,
    JobAttachment,
    JobDataset,
    JobGroupObjectPermission,
    JobQuerySet,
    JobTag,
    JobUserObjectPermission,
)

ALL_JOB_PERMISSIONS = frozenset({"view_job", "change_job", "run_job", "delete_job", "share_job"})

# What a job's API representation reads, as columns: the list reads its page as these rows rather than as
# models (building a job, its tenant and its owner from a 55-column join took a third of a page's time).
JOB_ROW_FIELDS = (
    "id",
    "type",
    "name",
    "slug",
    "description",
    "owner_id",
    "data",
    "interval",
    "interval_type",
    "timezone",
    "start_on",
    "end_on",
    "dst_policy",
    "enabled",
    "timeout_seconds",
    "max_attempts",
    "misfire_policy",
    "max_catch_up",
    "overlap_policy",
    "next_run_at",
    "last_run_at",
    "last_success",
    "editing_of_id",
    "created_at",
    "updated_at",
    "running_since",
    "tenant__slug",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


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


# The permission statements are written as SQL once rather than built by the ORM on every request: compiling
# the filter's union of two subqueries, each with the permission id as a subquery of its own, cost more
# than a millisecond of CPU per statement, twice per list page (its count and its rows), where the
# database answers in a tenth of that. Names come from the models, quoted as the backend quotes them.


def _names() -> dict[str, str]:
    """The quoted tables and columns of the object-permission statements."""
    ops = connections[JobUserObjectPermission.objects.db].ops

    def quote(name: str | None) -> str:
        assert name is not None  # tables and concrete columns have names; the stubs allow a column None
        return ops.quote_name(name)

    direct, team, membership = JobUserObjectPermission._meta, JobGroupObjectPermission._meta, User.groups.through._meta
    permission, content_type = Permission._meta, ContentType._meta
    return {
        "direct": quote(direct.db_table),
        "direct_job": quote(direct.get_field("content_object").column),
        "direct_user": quote(direct.get_field("user").column),
        "direct_permission": quote(direct.get_field("permission").column),
        "team": quote(team.db_table),
        "team_job": quote(team.get_field("content_object").column),
        "team_group": quote(team.get_field("group").column),
        "team_permission": quote(team.get_field("permission").column),
        "membership": quote(membership.db_table),
        "member": quote(membership.get_field("user").column),
        "member_group": quote(membership.get_field("group").column),
        "permission": quote(permission.db_table),
        "permission_id": quote(permission.pk.column),
        "permission_content_type": quote(permission.get_field("content_type").column),
        "codename": quote(permission.get_field("codename").column),
        "content_type": quote(content_type.db_table),
        "content_type_id": quote(content_type.pk.column),
        "app_label": quote(content_type.get_field("app_label").column),
    }


def _job_ids_sql() -> str:
    """Jobs a user (first parameter) holds a permission on (second), directly or through a team (third, fourth).

    The permission's id is a scalar subquery the database evaluates once per statement.
    """
    n = _names()
    permission_id = (
        f"(SELECT P.{n['permission_id']} FROM {n['permission']} P"  # noqa: S608 - names from _meta, values bound
        f" INNER JOIN {n['content_type']} C ON C.{n['content_type_id']} = P.{n['permission_content_type']}"
        f" WHERE C.{n['app_label']} = 'jobs' AND P.{n['codename']} = %s LIMIT 1)"
    )
    return (
        f"SELECT D.{n['direct_job']} FROM {n['direct']} D"  # noqa: S608 - names from _meta, values bound
        f" WHERE D.{n['direct_user']} = %s AND D.{n['direct_permission']} = {permission_id}"
        f" UNION SELECT T.{n['team_job']} FROM {n['team']} T WHERE T.{n['team_group']} IN"
        f" (SELECT M.{n['member_group']} FROM {n['membership']} M WHERE M.{n['member']} = %s)"
        f" AND T.{n['team_permission']} = {permission_id}"
    )


def job_ids_for_user(user: Any, *, permission: str = "view_job") -> RawSQL:
    """Ids of the jobs on which ``user`` holds ``permission``, directly or through one of their teams (for ``__in``)."""
    return RawSQL(_job_ids_sql(), [user.pk, permission, user.pk, permission])  # noqa: S611 - values bound


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
    """The caller's permission codenames on each of ``job_ids``, in one query whatever their number."""
    ids = list(job_ids)
    if user.is_superuser:
        return {job_id: set(ALL_JOB_PERMISSIONS) for job_id in ids}
    result: dict[uuid.UUID, set[str]] = defaultdict(set)
    if not ids:
        return result
    connection = connections[JobUserObjectPermission.objects.db]
    # The ids as the column stores them (a UUID on PostgreSQL, 32 hex digits on SQLite), which is also how
    # the rows give them back: mapped to the caller's values without converting each row.
    column = JobUserObjectPermission._meta.get_field("content_object")
    stored = {column.get_db_prep_value(job_id, connection): job_id for job_id in ids}
    marks = ", ".join(["%s"] * len(stored))
    n = _names()
    sql = (
        f"SELECT D.{n['direct_job']}, P.{n['codename']} FROM {n['direct']} D"  # noqa: S608 - names from _meta
        f" INNER JOIN {n['permission']} P ON P.{n['permission_id']} = D.{n['direct_permission']}"
        f" WHERE D.{n['direct_user']} = %s AND D.{n['direct_job']} IN ({marks})"
        f" UNION ALL SELECT T.{n['team_job']}, P.{n['codename']} FROM {n['team']} T"
        f" INNER JOIN {n['permission']} P ON P.{n['permission_id']} = T.{n['team_permission']}"
        f" INNER JOIN {n['membership']} M ON M.{n['member_group']} = T.{n['team_group']}"
        f" WHERE M.{n['member']} = %s AND T.{n['team_job']} IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, *stored, user.pk, *stored])
        for job_id, codename in cursor.fetchall():
            result[stored[job_id]].add(codename)
    return result


def job_tags(job_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The tag names of each of ``job_ids`` (in no particular order), in one query."""
    tags: dict[uuid.UUID, list[str]] = defaultdict(list)
    for job_id, name in JobTag.objects.filter(job_id__in=list(job_ids)).values_list("job_id", "name"):
        tags[job_id].append(name)
    return tags


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
    """Actions with their attachments prefetched in creation order (each attachment's ``action`` set to its own)."""
    return JobAction.objects.prefetch_related(
        Prefetch("attachments", queryset=JobAttachment.objects.order_by("created_at"))
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


def dataset_link_definition(link: JobDataset) -> dict[str, Any]:
    """A dataset association as a run sees it (its ids as plain strings)."""
    return {"alias": link.alias, "datasetId": str(link.dataset_id), "index": link.index, "snapshots": link.snapshots}


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
        "slug": job.slug,
        "naturalId": job.natural_id,
        "description": job.description,
        "timezone": job.timezone,
        "data": job.data,
        "timeoutSeconds": job.timeout_seconds,
        "maxAttempts": job.max_attempts,
        "actions": [action_definition(action, attachments) for action, attachments in actions],
        "datasets": [
            dataset_link_definition(link) for link in JobDataset.objects.filter(job=job).order_by("index", "alias")
        ],
    }
