"""Writes and reads of a job's shares (§3): principals, access levels and the permissions behind them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import QuerySet

from informer.api.exceptions import Conflict, DomainError, NotFound
from informer.models import Team, User
from jobs.models import Job, JobGroupObjectPermission, JobUserObjectPermission

ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_job",),
    2: ("view_job", "change_job", "run_job"),
    3: ("view_job", "change_job", "run_job", "delete_job", "share_job"),
}


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
    found = model.objects.filter(pk=number, tenant_id=tenant_id).first() if number is not None and in_range else None
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
    for grant in JobGroupObjectPermission.objects.filter(content_object=job).select_related("group", "permission"):
        by_group.setdefault(grant.group_id, set()).add(grant.permission.codename)
        groups[grant.group_id] = grant.group
    teams = {team.pk: team for team in Team.objects.filter(pk__in=list(groups))}
    shares = [(principal_of(users[pk]), share_level(perms)) for pk, perms in by_user.items()]
    shares += [(principal_of(teams.get(pk, groups[pk])), share_level(perms)) for pk, perms in by_group.items()]
    return sorted(shares, key=lambda item: (item[0].kind != "user", item[0].name.lower()))


def share_get(*, job: Job, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``job`` directly (not through a team)."""
    rows: QuerySet[JobUserObjectPermission] | QuerySet[JobGroupObjectPermission]
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
