"""Dataset shares (§3, §8): ``/api/datasets/{id}/shares[/{principalId}]``, as a job's shares.

Levels: 1 view, 2 + edit and refresh, 3 + delete and share.
"""

from __future__ import annotations

from typing import Any

import pytest

from datasets import selectors
from datasets.models import DatasetGroupObjectPermission, DatasetUserObjectPermission
from tests.datasets.api.roles import make_dataset, make_datasource
from tests.datasets.api.share_cases import (  # noqa: F401 - the cases and their fixtures run in this module
    Kind,
    roles,
    team,
    test_a_superuser_of_another_tenant_may_share,
    test_an_admin_can_remove_their_own_access,
    test_bad_access_level_is_a_400_naming_it,
    test_bad_share_body_is_a_400,
    test_delete_share_removes_every_permission_of_that_principal,
    test_lowering_the_owner_below_admin_is_a_409,
    test_malformed_principal_id_is_a_400_naming_it,
    test_principal_outside_the_tenant_is_a_404,
    test_put_group_access_level_sets_exactly_that_permission_set,
    test_put_share_ignores_read_only_keys,
    test_put_user_access_level_sets_exactly_that_permission_set,
    test_read_permission_matrix,
    test_setting_the_owner_to_admin_is_a_no_op,
    test_share_get_reports_direct_access_only,
    test_share_list_envelope_and_items,
    test_share_of_a_principal_without_access_is_level_0,
    test_write_permission_matrix,
)

LEVELS = {
    0: set(),
    1: {"view_dataset"},
    2: {"view_dataset", "change_dataset", "refresh_dataset"},
    3: {"view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset"},
}


def make(owner: Any) -> Any:
    return make_dataset(owner, make_datasource(owner))


def readable(user: Any, dataset: Any) -> bool:
    """Whether ``user`` may read the dataset now (directly or through a team)."""
    return selectors.dataset_list_for_user(user).filter(pk=dataset.pk).exists()


@pytest.fixture
def kind() -> Kind:
    return Kind(
        base="/api/datasets",
        natural_id="alpha:west-sales",
        make=make,
        levels=LEVELS,
        user_permissions=DatasetUserObjectPermission,
        group_permissions=DatasetGroupObjectPermission,
        readable=readable,
        noun="dataset",
    )


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (0, set()),
        (1, {"view_dataset"}),
        (2, {"view_dataset", "change_dataset", "refresh_dataset"}),
        (3, {"view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset"}),
    ],
)
def test_a_level_through_a_team_is_what_the_selectors_report(roles, team, level, expected):  # noqa: F811
    # given
    from datasets.services import shares as share_services
    from tests.factories import UserFactory

    member = UserFactory(tenant=roles.obj.tenant)
    member.groups.add(team)
    share_services.share_set(obj=roles.obj, principal=team, level=level)

    # when
    held = selectors.dataset_permissions_for_user(member, [roles.obj.pk]).get(roles.obj.pk, set())

    # then
    assert held == expected
    assert selectors.dataset_list_for_user(member, permission="refresh_dataset").exists() is (level >= 2)
