"""Writes to jobs and their shares. Views validate, then call these."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from informer.api.exceptions import Conflict, DomainError, NotFound
from informer.models import Team, User
from jobs import timing
from jobs.action_services import delete_files_on_commit
from jobs.drivers.registry import require_available
from jobs.models import Job, JobAttachment, JobGroupObjectPermission, JobTag, JobUserObjectPermission

SCHEDULE_FIELDS = frozenset({"interval", "interval_type", "timezone", "start_on", "end_on", "dst_policy", "enabled"})
ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_job",),
    2: ("view_job", "change_job", "run_job"),
    3: ("view_job", "change_job", "run_job", "delete_job", "share_job"),
}


def _unique_slug(*, tenant_id: int, base: str, exclude_pk: Any = None) -> str:
    base = (slugify(base) or "job")[:180]
    taken = set(
        Job.objects.committed()
        .filter(tenant_id=tenant_id, slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


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
        job.slug = _unique_slug(tenant_id=user.tenant_id, base=job.name)
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


# --- Shares -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """A user or a team that a job can be shared with."""

    kind: str  # "user" | "group"
    pk: int
    name: str
    display_name: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.pk}"


def principal_of(obj: User | Group) -> Principal:
    """The principal for a user or a team."""
    if isinstance(obj, User):
        return Principal("user", obj.pk, obj.username, obj.display_name)
    team = obj if isinstance(obj, Team) else Team.objects.filter(pk=obj.pk).first()
    if team is None:  # a plain group (the installation's, not a tenant's)
        return Principal("group", obj.pk, obj.name, obj.name)
    return Principal("group", team.pk, team.local_name, team.display_name or team.local_name)


_PRINCIPAL_NUMBER = re.compile(r"[0-9]+")
_ID_MAX = 2**63 - 1  # the largest id a 64-bit column holds


def principal_resolve(*, tenant_id: int, principal_id: str) -> User | Team:
    """The user or team of ``tenant_id`` behind ``principal_id`` (``user:<id>`` or ``group:<id>``)."""
    kind, _, raw = principal_id.partition(":")
    # ASCII digits only: str.isdigit() and int() also take an Arabic-Indic one (U+0661) for 1, so it was user 1.
    if kind not in {"user", "group"} or not _PRINCIPAL_NUMBER.fullmatch(raw):
        raise DomainError(
            f"Principal id '{principal_id}' is malformed; expected 'user:<id>' or 'group:<id>'.",
            field="principalId",
        )
    model = User if kind == "user" else Team
    # An id past the 64-bit range names nobody: it is not looked up (int() would read thousands of digits).
    number = int(raw) if len(raw.lstrip("0")) <= len(str(_ID_MAX)) else None
    in_range = number is not None and number <= _ID_MAX
    found = model.objects.filter(pk=number, tenant_id=tenant_id).first() if in_range else None
    if found is None:
        raise NotFound(f"No user or team '{principal_id}' in this tenant.")
    return found


def share_level(codenames: Iterable[str]) -> int:
    """The highest access level whose permissions ``codenames`` include."""
    held = set(codenames)
    return max(level for level, perms in ACCESS_LEVELS.items() if set(perms) <= held)


def share_list(*, job: Job) -> list[tuple[Principal, int]]:
    """Every principal holding any permission on ``job`` with their access level."""
    by_user: dict[int, set[str]] = {}
    users: dict[int, User] = {}
    for row in JobUserObjectPermission.objects.filter(content_object=job).select_related("user", "permission"):
        by_user.setdefault(row.user_id, set()).add(row.permission.codename)
        users[row.user_id] = row.user
    by_group: dict[int, set[str]] = {}
    groups: dict[int, Group] = {}
    for row in JobGroupObjectPermission.objects.filter(content_object=job).select_related("group", "permission"):
        by_group.setdefault(row.group_id, set()).add(row.permission.codename)
        groups[row.group_id] = row.group
    teams = {team.pk: team for team in Team.objects.filter(pk__in=list(groups))}
    shares = [(principal_of(users[pk]), share_level(perms)) for pk, perms in by_user.items()]
    shares += [(principal_of(teams.get(pk, groups[pk])), share_level(perms)) for pk, perms in by_group.items()]
    return sorted(shares, key=lambda item: (item[0].kind != "user", item[0].name.lower()))


def share_get(*, job: Job, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``job`` directly (not through a team)."""
    if isinstance(principal, User):
        rows = JobUserObjectPermission.objects.filter(content_object=job, user=principal)
    else:
        rows = JobGroupObjectPermission.objects.filter(content_object=job, group=principal)
    return share_level(rows.values_list("permission__codename", flat=True))


@transaction.atomic
def share_set(*, job: Job, principal: User | Team, level: int) -> int:
    """Give ``principal`` exactly the permissions of access ``level`` on ``job``."""
    if level not in ACCESS_LEVELS:
        raise DomainError(f"accessLevel {level} is not one of 0, 1, 2, 3.", field="accessLevel")
    if isinstance(principal, User) and principal.pk == job.owner_id and level < 3:
        raise Conflict("The owner always has admin access to their job.", field="accessLevel")
    wanted = ACCESS_LEVELS[level]
    permissions = list(Permission.objects.filter(content_type__app_label="jobs", codename__in=wanted))
    if isinstance(principal, User):
        JobUserObjectPermission.objects.filter(content_object=job, user=principal).exclude(
            permission__codename__in=wanted
        ).delete()
        JobUserObjectPermission.objects.bulk_create(
            [JobUserObjectPermission(content_object=job, user=principal, permission=perm) for perm in permissions],
            ignore_conflicts=True,
        )
    else:
        JobGroupObjectPermission.objects.filter(content_object=job, group=principal).exclude(
            permission__codename__in=wanted
        ).delete()
        JobGroupObjectPermission.objects.bulk_create(
            [JobGroupObjectPermission(content_object=job, group=principal, permission=perm) for perm in permissions],
            ignore_conflicts=True,
        )
    return level
