"""Reads of libraries and their files, always scoped to what the caller may see (§3)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from informer.models import User
from library.models import (
    LIBRARY_PERMISSIONS,
    Library,
    LibraryFile,
    LibraryGroupObjectPermission,
    LibraryUserObjectPermission,
)

_APP_LABEL = "library"


def library_scope_for_user(user: Any) -> QuerySet[Library]:
    """Libraries of the caller's tenant (every tenant for a superuser), whatever the caller's rights."""
    rows = Library.objects.select_related("tenant", "owner")
    if user.is_superuser:
        return rows.all()
    return rows.filter(tenant_id=user.tenant_id)


def library_list_for_user(user: Any, *, permission: str = "view_library") -> QuerySet[Library]:
    """Libraries on which the caller holds ``permission``, directly or through a team.

    Driven from the permission tables (``pk IN (…) OR pk IN (…)``): the cost follows the caller's shares,
    not the size of the tenant.
    """
    scope = library_scope_for_user(user)
    if user.is_superuser:
        return scope
    if not user.is_active:
        return scope.none()
    held = {"permission__codename": permission, "permission__content_type__app_label": _APP_LABEL}
    memberships = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    mine = LibraryUserObjectPermission.objects.filter(user_id=user.pk, **held).values("content_object_id")
    teams = LibraryGroupObjectPermission.objects.filter(group_id__in=memberships, **held).values("content_object_id")
    return scope.filter(Q(pk__in=mine) | Q(pk__in=teams))


def library_lookup(scope: QuerySet[Library], key: str) -> Library | None:
    """The library of ``scope`` with UUID ``key`` or natural id ``<tenant-slug>:<slug>``, else None."""
    try:
        return scope.filter(pk=uuid.UUID(key)).first()
    except ValueError:
        pass
    tenant_slug, sep, slug = key.partition(":")
    # No slug holds NUL, and PostgreSQL refuses it in a query's text (a ValueError from the driver).
    if not sep or not tenant_slug or not slug or "\x00" in key:
        return None
    return scope.filter(tenant__slug=tenant_slug, slug=slug).first()


def library_get_for_user(user: Any, key: str, *, permission: str = "view_library") -> Library | None:
    """The library ``key`` (UUID or natural id) when the caller holds ``permission`` on it, else None."""
    return library_lookup(library_list_for_user(user, permission=permission), key)


def library_permissions_for_user(user: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The caller's permission codenames on each of the libraries ``ids``, in two queries whatever their number."""
    wanted = list(ids)
    if user.is_superuser:
        return {pk: set(LIBRARY_PERMISSIONS) for pk in wanted}
    result: dict[uuid.UUID, set[str]] = defaultdict(set)
    if not wanted or not user.is_active:
        return result
    memberships = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    direct = LibraryUserObjectPermission.objects.filter(user_id=user.pk, content_object_id__in=wanted)
    for pk, codename in direct.values_list("content_object_id", "permission__codename"):
        result[pk].add(codename)
    teams = LibraryGroupObjectPermission.objects.filter(group_id__in=memberships, content_object_id__in=wanted)
    for pk, codename in teams.values_list("content_object_id", "permission__codename"):
        result[pk].add(codename)
    return result


def library_shared_ids(ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the libraries ``ids`` someone other than their owner holds a permission on."""
    wanted = list(ids)
    owner = Subquery(Library.objects.filter(pk=OuterRef("content_object_id")).values("owner_id")[:1])
    with_users = (
        LibraryUserObjectPermission.objects.filter(content_object_id__in=wanted)
        .exclude(user_id=owner)
        .values_list("content_object_id", flat=True)
    )
    with_teams = LibraryGroupObjectPermission.objects.filter(content_object_id__in=wanted).values_list(
        "content_object_id", flat=True
    )
    return set(with_users) | set(with_teams)


def library_file_list(library: Library) -> QuerySet[LibraryFile]:
    """Every file and folder of ``library``, by path."""
    return LibraryFile.objects.filter(library=library).order_by("path")


def library_file_lookup(library: Library, key: str) -> LibraryFile | None:
    """The file or folder of ``library`` with UUID ``key``, else None (a malformed id finds nothing)."""
    try:
        pk = uuid.UUID(key)
    except ValueError:
        return None
    return LibraryFile.objects.filter(library=library, pk=pk).first()
