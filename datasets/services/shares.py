"""Shares (§3) of datasources and datasets: access levels and the permissions behind them."""

from __future__ import annotations

from datasets.models import (
    Dataset,
    DatasetGroupObjectPermission,
    DatasetUserObjectPermission,
    Datasource,
    DatasourceGroupObjectPermission,
    DatasourceUserObjectPermission,
)
from informer import shares
from informer.models import Team, User
from informer.shares import Principal

# Datasources: 1 may read it and use it in a dataset; 2 may also edit it; 3 may also delete and share it.
DATASOURCE_ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_datasource",),
    2: ("view_datasource", "change_datasource"),
    3: ("view_datasource", "change_datasource", "delete_datasource", "share_datasource"),
}
# Datasets: 1 may read its rows; 2 may also edit and refresh it; 3 may also delete and share it.
DATASET_ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_dataset",),
    2: ("view_dataset", "change_dataset", "refresh_dataset"),
    3: ("view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset"),
}

DATASOURCE_SHARES = shares.Shareable(
    noun="datasource",
    app_label="datasets",
    user_permissions=DatasourceUserObjectPermission,
    group_permissions=DatasourceGroupObjectPermission,
    levels=DATASOURCE_ACCESS_LEVELS,
)
DATASET_SHARES = shares.Shareable(
    noun="dataset",
    app_label="datasets",
    user_permissions=DatasetUserObjectPermission,
    group_permissions=DatasetGroupObjectPermission,
    levels=DATASET_ACCESS_LEVELS,
)


def shareable_of(obj: Datasource | Dataset) -> shares.Shareable:
    """How ``obj``'s kind is shared."""
    return DATASOURCE_SHARES if isinstance(obj, Datasource) else DATASET_SHARES


def share_list(*, obj: Datasource | Dataset) -> list[tuple[Principal, int]]:
    """Every principal holding any permission on ``obj`` with their access level."""
    return shares.share_list(shareable_of(obj), obj)


def share_get(*, obj: Datasource | Dataset, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``obj`` directly (not through a team)."""
    return shares.share_get(shareable_of(obj), obj, principal)


def share_set(*, obj: Datasource | Dataset, principal: User | Team, level: int) -> int:
    """Give ``principal`` exactly the permissions of access ``level`` on ``obj`` (its owner keeps level 3)."""
    return shares.share_set(shareable_of(obj), obj, principal, level)


def dataset_grant_owner(dataset: Dataset, user: User) -> None:
    """Give a dataset's creator every dataset permission (level 3)."""
    shares.share_set(DATASET_SHARES, dataset, user, 3)
