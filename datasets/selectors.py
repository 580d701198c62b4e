"""Reads of datasources and datasets, always scoped to what the caller may see (§3)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Model, OuterRef, Q, QuerySet, Subquery

from datasets.models import (
    DATASET_PERMISSIONS,
    DATASOURCE_PERMISSIONS,
    Dataset,
    DatasetGroupObjectPermission,
    DatasetUserObjectPermission,
    Datasource,
    DatasourceGroupObjectPermission,
    DatasourceUserObjectPermission,
)
from informer.models import User

ObjectT = TypeVar("ObjectT", Datasource, Dataset)

_APP_LABEL = "datasets"


def _scope(model: type[ObjectT], user: Any) -> QuerySet[ObjectT]:
    """``model``'s rows in the caller's tenant, every tenant for a superuser (as jobs), no permission filter."""
    rows = model.objects.select_related("tenant", "owner")
    if user.is_superuser:
        return rows.all()
    return rows.filter(tenant_id=user.tenant_id)


def _granted(
    model: type[ObjectT],
    direct: type[DatasourceUserObjectPermission | DatasetUserObjectPermission],
    team: type[DatasourceGroupObjectPermission | DatasetGroupObjectPermission],
    user: Any,
    permission: str,
) -> QuerySet[ObjectT]:
    """The caller's scope narrowed to the objects they hold ``permission`` on, directly or through a team.

    Driven from the permission tables (``pk IN (…) OR pk IN (…)``): the cost follows the caller's shares,
    not the size of the tenant.
    """
    scope = _scope(model, user)
    if user.is_superuser:
        return scope
    held = {"permission__codename": permission, "permission__content_type__app_label": _APP_LABEL}
    memberships = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    mine = direct.objects.filter(user_id=user.pk, **held).values("content_object_id")
    teams = team.objects.filter(group_id__in=memberships, **held).values("content_object_id")
    return scope.filter(Q(pk__in=mine) | Q(pk__in=teams))


def _permissions(
    direct: type[DatasourceUserObjectPermission | DatasetUserObjectPermission],
    team: type[DatasourceGroupObjectPermission | DatasetGroupObjectPermission],
    every: tuple[str, ...],
    user: Any,
    ids: Iterable[uuid.UUID],
) -> dict[uuid.UUID, set[str]]:
    """The caller's codenames on each of ``ids``, in two queries whatever their number."""
    wanted = list(ids)
    if user.is_superuser:
        return {pk: set(every) for pk in wanted}
    result: dict[uuid.UUID, set[str]] = defaultdict(set)
    if not wanted or not user.is_active:
        return result
    memberships = User.groups.through.objects.filter(user_id=user.pk).values("group_id")
    rows = direct.objects.filter(user_id=user.pk, content_object_id__in=wanted).values_list(
        "content_object_id", "permission__codename"
    )
    for pk, codename in rows:
        result[pk].add(codename)
    through_teams = team.objects.filter(group_id__in=memberships, content_object_id__in=wanted).values_list(
        "content_object_id", "permission__codename"
    )
    for pk, codename in through_teams:
        result[pk].add(codename)
    return result


def _shared_ids(
    model: type[Model],
    direct: type[DatasourceUserObjectPermission | DatasetUserObjectPermission],
    team: type[DatasourceGroupObjectPermission | DatasetGroupObjectPermission],
    ids: Iterable[uuid.UUID],
) -> set[uuid.UUID]:
    """Which of ``ids`` someone other than their owner holds a permission on."""
    wanted = list(ids)
    owner = Subquery(model._default_manager.filter(pk=OuterRef("content_object_id")).values("owner_id")[:1])
    with_users = (
        direct.objects.filter(content_object_id__in=wanted)
        .exclude(user_id=owner)
        .values_list("content_object_id", flat=True)
    )
    with_teams = team.objects.filter(content_object_id__in=wanted).values_list("content_object_id", flat=True)
    return set(with_users) | set(with_teams)


def _lookup(scope: QuerySet[ObjectT], key: str) -> ObjectT | None:
    """The object of ``scope`` with UUID ``key`` or natural id ``<tenant-slug>:<slug>``, else None."""
    try:
        return scope.filter(pk=uuid.UUID(key)).first()
    except ValueError:
        pass
    tenant_slug, sep, slug = key.partition(":")
    # No slug holds NUL, and PostgreSQL refuses it in a query's text (a ValueError from the driver).
    if not sep or not tenant_slug or not slug or "\x00" in key:
        return None
    return scope.filter(tenant__slug=tenant_slug, slug=slug).first()


# Datasources


def datasource_scope_for_user(user: Any) -> QuerySet[Datasource]:
    """Datasources of the caller's tenant (every tenant for a superuser), whatever the caller's rights."""
    return _scope(Datasource, user)


def datasource_list_for_user(user: Any, *, permission: str = "view_datasource") -> QuerySet[Datasource]:
    """Datasources on which the caller holds ``permission``, directly or through a team."""
    return _granted(Datasource, DatasourceUserObjectPermission, DatasourceGroupObjectPermission, user, permission)


def datasource_lookup(scope: QuerySet[Datasource], key: str) -> Datasource | None:
    """Find a datasource by UUID or natural id ``<tenant-slug>:<slug>`` within ``scope``."""
    return _lookup(scope, key)


def datasource_permissions_for_user(user: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The caller's permission codenames on each of the datasources ``ids``."""
    return _permissions(
        DatasourceUserObjectPermission, DatasourceGroupObjectPermission, DATASOURCE_PERMISSIONS, user, ids
    )


def datasource_shared_ids(ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the datasources ``ids`` are shared with anyone other than their owner."""
    return _shared_ids(Datasource, DatasourceUserObjectPermission, DatasourceGroupObjectPermission, ids)


# Datasets


def dataset_scope_for_user(user: Any) -> QuerySet[Dataset]:
    """Datasets of the caller's tenant (every tenant for a superuser), whatever the caller's rights."""
    return _scope(Dataset, user)


def dataset_list_for_user(user: Any, *, permission: str = "view_dataset") -> QuerySet[Dataset]:
    """Datasets on which the caller holds ``permission``, directly or through a team."""
    return _granted(Dataset, DatasetUserObjectPermission, DatasetGroupObjectPermission, user, permission)


def dataset_lookup(scope: QuerySet[Dataset], key: str) -> Dataset | None:
    """Find a dataset by UUID or natural id ``<tenant-slug>:<slug>`` within ``scope``."""
    return _lookup(scope, key)


def dataset_permissions_for_user(user: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """The caller's permission codenames on each of the datasets ``ids``."""
    return _permissions(DatasetUserObjectPermission, DatasetGroupObjectPermission, DATASET_PERMISSIONS, user, ids)


def dataset_shared_ids(ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the datasets ``ids`` are shared with anyone other than their owner."""
    return _shared_ids(Dataset, DatasetUserObjectPermission, DatasetGroupObjectPermission, ids)
