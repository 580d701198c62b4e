"""Team names are unique per tenant, whatever their case, instead of across the installation.

The team's own name moves to ``local_name``; the group's name becomes ``<tenant id>:<local name>``, which
keeps group names unique across the installation as Django requires. Two teams of one tenant whose names
differ only in case (possible until now) cannot both keep theirs: the later one gets its id appended.
"""

from __future__ import annotations

import django.db.models.functions.text
from django.db import migrations, models

MAX_LENGTH = 100


def split_names(apps, schema_editor):  # type: ignore[no-untyped-def]
    Team = apps.get_model("informer", "Team")
    taken: set[tuple[int, str]] = set()
    for team in Team.objects.order_by("tenant_id", "pk"):
        base = team.name[:MAX_LENGTH]
        name, attempt = base, 1
        while (team.tenant_id, name.lower()) in taken:
            suffix = f" ({team.pk})" if attempt == 1 else f" ({team.pk}-{attempt})"
            name, attempt = base[: MAX_LENGTH - len(suffix)] + suffix, attempt + 1
        taken.add((team.tenant_id, name.lower()))
        team.local_name = name
        team.name = f"{team.tenant_id}:{name}"
        team.save(update_fields=["local_name", "name"])


def join_names(apps, schema_editor):  # type: ignore[no-untyped-def]
    Group = apps.get_model("auth", "Group")
    Team = apps.get_model("informer", "Team")
    for team in Team.objects.order_by("pk"):
        # Back to a bare group name where no other group holds it; otherwise the namespaced one stays.
        if not Group.objects.filter(name=team.local_name).exclude(pk=team.pk).exists():
            team.name = team.local_name
            team.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("informer", "0002_default_tenant")]

    operations = [
        migrations.AddField(
            model_name="team",
            name="local_name",
            field=models.CharField(
                default="",
                help_text="Unique within the tenant, whatever its case.",
                max_length=MAX_LENGTH,
                verbose_name="name",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(split_names, join_names),
        migrations.AddConstraint(
            model_name="team",
            constraint=models.UniqueConstraint(
                models.F("tenant"),
                django.db.models.functions.text.Lower("local_name"),
                name="team_name_unique_per_tenant",
                violation_error_message="A team with this name already exists in this tenant.",
            ),
        ),
    ]
