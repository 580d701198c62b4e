"""The migration that makes team names unique per tenant (informer 0003) keeps every team and its members."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("informer", "0002_default_tenant")]
AFTER = [("informer", "0003_team_name_per_tenant")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; return the app registry as of then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest() -> list[tuple[str, str]]:
    """The latest migration of every app, where the test database was."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_team_names_move_to_the_team_and_case_duplicates_are_told_apart():
    # given: teams as they were, their names unique across the installation only
    old = migrate(BEFORE)
    Tenant, Team, User = (old.get_model("informer", name) for name in ("Tenant", "Team", "User"))
    alpha = Tenant.objects.create(slug="alpha", name="Alpha")
    beta = Tenant.objects.create(slug="beta", name="Beta")
    analysts = Team.objects.create(name="analysts", tenant=alpha)
    shouting = Team.objects.create(name="ANALYSTS", tenant=alpha)
    finance = Team.objects.create(name="finance", tenant=beta)
    member = User.objects.create(username="ann", tenant=alpha)
    member.groups.add(shouting)

    try:
        # when
        new = migrate(AFTER)

        # then
        Team = new.get_model("informer", "Team")
        rows = {team.pk: (team.local_name, team.name, team.tenant_id) for team in Team.objects.all()}
        assert rows == {
            analysts.pk: ("analysts", f"{alpha.pk}:analysts", alpha.pk),
            shouting.pk: (f"ANALYSTS ({shouting.pk})", f"{alpha.pk}:ANALYSTS ({shouting.pk})", alpha.pk),
            finance.pk: ("finance", f"{beta.pk}:finance", beta.pk),
        }
        member = new.get_model("informer", "User").objects.get(username="ann")
        assert list(member.groups.values_list("pk", flat=True)) == [shouting.pk]
        # and the tenant of a team may now reuse a name another tenant has
        Team.objects.create(tenant_id=beta.pk, local_name="analysts", name=f"{beta.pk}:analysts")

        # and back again: the bare names return where they are free
        back = migrate(BEFORE)
        names = dict(back.get_model("informer", "Team").objects.values_list("pk", "name"))
        assert names[analysts.pk] == "analysts" and names[finance.pk] == "finance"
    finally:
        migrate(latest())
        # as `migrate` ends: post_migrate's handlers (the pgvector table's repair among them) run
        emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
