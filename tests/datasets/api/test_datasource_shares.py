"""Datasource shares (§3, §8): ``/api/datasources/{id}/shares[/{principalId}]``, as a job's shares.

Levels: 1 view (and use in a dataset), 2 + edit, 3 + delete and share.
"""

from __future__ import annotations

from typing import Any

import pytest

from datasets import selectors
from datasets.models import DatasourceGroupObjectPermission, DatasourceUserObjectPermission
from tests.conftest import client_for
from tests.datasets.api.roles import make_datasource
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
    1: {"view_datasource"},
    2: {"view_datasource", "change_datasource"},
    3: {"view_datasource", "change_datasource", "delete_datasource", "share_datasource"},
}


def readable(user: Any, datasource: Any) -> bool:
    """Whether ``user`` can read the datasource through the API now."""
    return client_for(user).get(f"/api/datasources/{datasource.pk}").status_code == 200


@pytest.fixture
def kind() -> Kind:
    return Kind(
        base="/api/datasources",
        natural_id="alpha:sales",
        make=make_datasource,
        levels=LEVELS,
        user_permissions=DatasourceUserObjectPermission,
        group_permissions=DatasourceGroupObjectPermission,
        readable=readable,
        noun="datasource",
    )


@pytest.mark.parametrize(("level", "usable"), [(0, False), (1, True), (2, True), (3, True)])
def test_level_1_is_enough_to_use_the_datasource_in_a_dataset(roles, level, usable):  # noqa: F811
    # given
    from datasets.services import shares as share_services

    target = roles.users["no_share"]
    share_services.share_set(obj=roles.obj, principal=target, level=level)

    # when
    usable_ones = selectors.datasource_list_for_user(target, permission="view_datasource")

    # then
    assert usable_ones.filter(pk=roles.obj.pk).exists() is usable
