"""Datasources, datasets, their stored rows (generations) and snapshots (§8).

A dataset's rows live in this service's own database as an immutable **generation**: a refresh writes a
new one beside the current one and then points the dataset at it in one short transaction, so readers
see either the old rows or the new ones, never a mix. A snapshot is a second pointer to a generation
(taking one copies nothing); a generation's rows go when neither its dataset nor a snapshot points at it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone as django_timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from informer.models import Tenant


class DatasourceType(models.TextChoices):
    SQLITE = "sqlite", "SQLite"
    POSTGRESQL = "postgresql", "PostgreSQL"
    MYSQL = "mysql", "MySQL / MariaDB"


DATASOURCE_PERMISSIONS = ("view_datasource", "change_datasource", "delete_datasource", "share_datasource")
DATASET_PERMISSIONS = ("view_dataset", "change_dataset", "refresh_dataset", "delete_dataset", "share_dataset")


class Datasource(models.Model):
    """A connection to a database someone else owns; read only, through a connector."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="datasources", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_datasources"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, db_index=False)  # datasource_unique_slug
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=DatasourceType.choices)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    # For sqlite: the file's path relative to INFORMER_DATASOURCE_ROOT.
    database = models.CharField(max_length=500, blank=True)
    username = models.CharField(max_length=200, blank=True)
    # Fernet tokens (informer.secrets); never serialized, never shown.
    password_encrypted = models.TextField(blank=True, editable=False)
    # The connector's non-secret options (sslmode, connectTimeout, …); secret ones are encrypted below.
    options = models.JSONField(default=dict, blank=True)
    secret_options_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("share_datasource", "Can share datasource")]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="datasource_unique_slug")]
        indexes = [models.Index(fields=["tenant", "name"], name="datasource_tenant_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def natural_id(self) -> str:
        return f"{self.tenant.slug}:{self.slug}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)


class DatasourceUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key table for user permissions on datasources."""

    content_object = models.ForeignKey(Datasource, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class DatasourceGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key table for group (team) permissions on datasources."""

    content_object = models.ForeignKey(Datasource, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class Dataset(models.Model):
    """A named query on a datasource whose result this service stores (the current generation)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="datasets", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_datasets"
    )
    # PROTECT: a datasource that datasets read cannot be deleted from under them (the API answers 409).
    datasource = models.ForeignKey(Datasource, on_delete=models.PROTECT, related_name="datasets")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, db_index=False)  # dataset_unique_slug
    description = models.TextField(blank=True)
    query = models.TextField()
    # Declared parameters: [{name, type, default, required}]; the query names them as :name.
    params = models.JSONField(default=list, blank=True)
    # Inferred at each refresh: [{name, label, dataType, position}] (the current generation's).
    fields = models.JSONField(default=list, blank=True, editable=False)
    current_generation = models.ForeignKey(
        "Generation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    records = models.PositiveBigIntegerField(default=0, editable=False)
    size = models.PositiveBigIntegerField(default=0, editable=False)  # bytes of the stored rows (their JSON)
    truncated = models.BooleanField(default=False, editable=False)
    data_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_duration_millis = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # One refresh at a time: set by a conditional UPDATE only one caller can win (services.refresh).
    refresh_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("refresh_dataset", "Can refresh dataset"), ("share_dataset", "Can share dataset")]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="dataset_unique_slug")]
        indexes = [models.Index(fields=["tenant", "name"], name="dataset_tenant_name_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def natural_id(self) -> str:
        return f"{self.tenant.slug}:{self.slug}"

    @property
    def refreshing(self) -> bool:
        return self.refresh_started_at is not None


class DatasetUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key table for user permissions on datasets."""

    content_object = models.ForeignKey(Dataset, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class DatasetGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key table for group (team) permissions on datasets."""

    content_object = models.ForeignKey(Dataset, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class GenerationStatus(models.TextChoices):
    BUILDING = "building"  # a refresh is writing its rows; nobody reads them yet
    READY = "ready"  # complete; current, pinned by snapshots, or waiting to be collected
    FAILED = "failed"  # the refresh failed or was cancelled; its rows are being deleted


class Generation(models.Model):
    """One complete, immutable result of a dataset's query: its rows and the fields they had."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="generations")
    status = models.CharField(max_length=10, choices=GenerationStatus.choices, default=GenerationStatus.BUILDING)
    fields = models.JSONField(default=list, blank=True)
    records = models.PositiveBigIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    truncated = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)  # the parameter values the query ran with
    started_at = models.DateTimeField(default=django_timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.pk} ({self.status}, {self.records} records)"


class DatasetRow(models.Model):
    """One stored row: its cells in field order as a JSON array, at its 0-based position.

    The key is (generation, position): a page at any offset is an index range, not a scan, and the
    surrogate id and its index a million rows would need are not kept.
    """

    pk = models.CompositePrimaryKey("generation", "position")
    generation = models.ForeignKey(
        Generation, on_delete=models.DO_NOTHING, related_name="rows", db_constraint=False, db_index=False
    )
    position = models.PositiveBigIntegerField()
    cells = models.JSONField()

    class Meta:
        ordering = ["generation", "position"]

    def __str__(self) -> str:
        return f"{self.generation_id}:{self.position}"


class SnapshotTrigger(models.TextChoices):
    MANUAL = "manual"
    JOB = "job"
    API = "api"


class Snapshot(models.Model):
    """A named pin on a dataset's generation: its rows as they were, kept until the snapshot goes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="snapshots")
    generation = models.ForeignKey(Generation, on_delete=models.PROTECT, related_name="snapshots")
    name = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    trigger = models.CharField(max_length=10, choices=SnapshotTrigger.choices, default=SnapshotTrigger.MANUAL)
    # The job and run that took it (trigger "job"); plain ids, as datasets sit below jobs and runs.
    job_id = models.UUIDField(null=True, blank=True)
    run_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["dataset", "-created_at"], name="snapshot_dataset_created_idx")]

    def __str__(self) -> str:
        return self.name or f"{self.dataset} at {self.created_at:%Y-%m-%d %H:%M:%S} UTC"
