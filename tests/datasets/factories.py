"""factory_boy factories for datasources and datasets, and stored generations of rows for tests that read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone

from datasets import storage
from datasets.cells import row_json
from datasets.connectors.base import SourceConfig
from datasets.models import (
    DATASET_PERMISSIONS,
    DATASOURCE_PERMISSIONS,
    Dataset,
    DatasetUserObjectPermission,
    Datasource,
    DatasourceUserObjectPermission,
    Generation,
    GenerationStatus,
)
from informer import secrets
from tests.factories import UserFactory


def _grant(model_permission: type, obj: Any, user: Any, codenames: Sequence[str]) -> None:
    permissions = Permission.objects.filter(content_type__app_label="datasets", codename__in=codenames)
    model_permission.objects.bulk_create(  # type: ignore[attr-defined]
        [model_permission(user=user, permission=permission, content_object=obj) for permission in permissions]
    )


class DatasourceFactory(factory.django.DjangoModelFactory):
    """A SQLite datasource (a file under INFORMER_DATASOURCE_ROOT) owned by ``owner`` with every right."""

    class Meta:
        model = Datasource
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda o: o.owner.tenant)
    name = factory.Sequence(lambda n: f"Source {n:04d}")
    slug = factory.Sequence(lambda n: f"source-{n:04d}")
    type = "sqlite"
    database = "sales.sqlite3"

    @factory.post_generation
    def grant_owner(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.owner is not None and extracted is not False:
            _grant(DatasourceUserObjectPermission, self, self.owner, DATASOURCE_PERMISSIONS)


def datasource_from_config(config: SourceConfig, **fields: Any) -> Datasource:
    """A datasource holding ``config`` (a source fixture's settings), its secrets sealed as the service stores them."""
    datasource: Datasource = DatasourceFactory(
        type=config.type,
        host=config.host,
        port=config.port,
        database=config.database,
        username=config.username,
        password_encrypted=secrets.seal(config.password),
        options=dict(config.options),
        secret_options_encrypted=secrets.seal_json(dict(config.secret_options)),
        **fields,
    )
    return datasource


class DatasetFactory(factory.django.DjangoModelFactory):
    """A dataset on a new datasource of the same owner, with the owner's five rights."""

    class Meta:
        model = Dataset
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda o: o.owner.tenant)
    datasource = factory.LazyAttribute(lambda o: DatasourceFactory(owner=o.owner, tenant=o.tenant))
    name = factory.Sequence(lambda n: f"Dataset {n:04d}")
    slug = factory.Sequence(lambda n: f"dataset-{n:04d}")
    query = "SELECT * FROM sales"

    @factory.post_generation
    def grant_owner(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.owner is not None and extracted is not False:
            _grant(DatasetUserObjectPermission, self, self.owner, DATASET_PERMISSIONS)


def fields_of(*spec: tuple[str, str]) -> list[dict[str, Any]]:
    """Fields as a refresh infers them, from ``(name, dataType)`` pairs."""
    return [
        {"name": name, "label": name.replace("_", " ").capitalize(), "dataType": data_type, "position": index}
        for index, (name, data_type) in enumerate(spec)
    ]


def stored_generation(
    dataset: Dataset,
    fields: list[dict[str, Any]],
    rows: Sequence[Sequence[Any]],
    *,
    current: bool = True,
    truncated: bool = False,
) -> Generation:
    """A READY generation of ``dataset`` holding ``rows`` (JSON cells), made current unless told not to."""
    cells = [row_json(row) for row in rows]
    generation = Generation.objects.create(
        dataset=dataset,
        status=GenerationStatus.READY,
        fields=fields,
        records=len(cells),
        size=sum(len(text.encode()) for text in cells),
        truncated=truncated,
        completed_at=timezone.now(),
    )
    storage.rows_write(generation_id=generation.pk, first_position=0, cells=cells)
    if current:
        Dataset.objects.filter(pk=dataset.pk).update(
            current_generation=generation,
            fields=fields,
            records=generation.records,
            size=generation.size,
            truncated=truncated,
            data_updated_at=generation.completed_at,
        )
        dataset.refresh_from_db()
    return generation
