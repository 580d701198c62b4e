"""The default tenant always exists: a single-team installation never has to think about tenants."""

from __future__ import annotations

from django.db import migrations


def create_default_tenant(apps, schema_editor):  # type: ignore[no-untyped-def]
    Tenant = apps.get_model("informer", "Tenant")
    Tenant.objects.get_or_create(slug="default", defaults={"name": "Default", "timezone": "UTC"})


class Migration(migrations.Migration):
    dependencies = [("informer", "0001_initial")]

    operations = [migrations.RunPython(create_default_tenant, migrations.RunPython.noop)]
