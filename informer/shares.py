"""Shares (§3) of any object with guardian's direct foreign-key permission tables: principals and access levels.

Jobs, datasets and datasources are shared alike: a principal (a user or a team of the object's tenant)
holds an access level 0..3, which is exactly a set of the object's permissions. Each app describes its
object with a ``Shareable`` (its two permission tables, its app label and its levels) and calls these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Model

from informer.api.exceptions import Conflict, DomainError, NotFound
from informer.models import Team, User


@dataclass(frozen=True)
class Principal:
    """A user or a team that an object can be shared with."""

    kind: str  # "user" | "group"
    pk: int
    name: str
    display_name: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.pk}"


@dataclass(frozen=True)
class Shareable:
    """How one kind of object is shared: its permission tables (guardian's direct FK ones) and its levels."""

    noun: str  # "job", "dataset", … for messages
    app_label: str
    user_permissions: type[Model]  # a UserObjectPermissionBase subclass with content_object
    group_permissions: type[Model]  # a GroupObjectPermissionBase subclass with content_object
    levels: Mapping[int, tuple[str, ...]]


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


def share_level(levels: Mapping[int, tuple[str, ...]], codenames: Iterable[str]) -> int:
    """The highest access level of ``levels`` whose permissions ``codenames`` include."""
    held = set(codenames)
    return max(level for level, perms in levels.items() if set(perms) <= held)


def share_list(kind: Shareable, obj: Model) -> list[tuple[Principal, int]]:
    """Every principal holding any permission on ``obj`` with their access level, users first, by name."""
    by_user: dict[int, set[str]] = {}
    users: dict[int, User] = {}
    user_rows = kind.user_permissions._default_manager.filter(content_object=obj).select_related("user", "permission")
    for row in user_rows:
        by_user.setdefault(row.user_id, set()).add(row.permission.codename)  # type: ignore[attr-defined]
        users[row.user_id] = row.user  # type: ignore[attr-defined]
    by_group: dict[int, set[str]] = {}
    groups: dict[int, Group] = {}
    group_rows = kind.group_permissions._default_manager.filter(content_object=obj).select_related(
        "group", "permission"
    )
    for grant in group_rows:
        by_group.setdefault(grant.group_id, set()).add(grant.permission.codename)  # type: ignore[attr-defined]
        groups[grant.group_id] = grant.group  # type: ignore[attr-defined]
    teams = {team.pk: team for team in Team.objects.filter(pk__in=list(groups))}
    shares = [(principal_of(users[pk]), share_level(kind.levels, perms)) for pk, perms in by_user.items()]
    shares += [
        (principal_of(teams.get(pk, groups[pk])), share_level(kind.levels, perms)) for pk, perms in by_group.items()
    ]
    return sorted(shares, key=lambda item: (item[0].kind != "user", item[0].name.lower()))


def _rows(kind: Shareable, obj: Model, principal: User | Team) -> Any:
    if isinstance(principal, User):
        return kind.user_permissions._default_manager.filter(content_object=obj, user=principal)
    return kind.group_permissions._default_manager.filter(content_object=obj, group=principal)


def share_get(kind: Shareable, obj: Model, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``obj`` directly (not through a team)."""
    return share_level(kind.levels, _rows(kind, obj, principal).values_list("permission__codename", flat=True))


@transaction.atomic
def share_set(kind: Shareable, obj: Model, principal: User | Team, level: int) -> int:
    """Give ``principal`` exactly the permissions of access ``level`` on ``obj``; its owner stays at the top."""
    if level not in kind.levels:
        known = ", ".join(str(number) for number in kind.levels)
        raise DomainError(f"accessLevel {level} is not one of {known}.", field="accessLevel")
    top = max(kind.levels)
    if isinstance(principal, User) and principal.pk == getattr(obj, "owner_id", None) and level < top:
        raise Conflict(f"The owner always has admin access to their {kind.noun}.", field="accessLevel")
    wanted = kind.levels[level]
    permissions = list(Permission.objects.filter(content_type__app_label=kind.app_label, codename__in=wanted))
    _rows(kind, obj, principal).exclude(permission__codename__in=wanted).delete()
    holder: dict[str, User | Team]
    if isinstance(principal, User):
        table, holder = kind.user_permissions, {"user": principal}
    else:
        table, holder = kind.group_permissions, {"group": principal}
    grants = [table(content_object=obj, permission=perm, **holder) for perm in permissions]
    table._default_manager.bulk_create(grants, ignore_conflicts=True)
    return level
