"""What should run and when: jobs, their tags and their object-permission tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone as django_timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from informer.models import Tenant, validate_timezone_name


class IntervalType(models.TextChoices):
    CRON = "cron"
    SIMPLE = "simple"
    ONCE = "once"
    NONE = "none", "None (manual only)"  # never fires; runs when someone runs it


class MisfirePolicy(models.TextChoices):
    RUN_ONCE = "runOnce"
    SKIP = "skip"
    RUN_ALL = "runAll"


class OverlapPolicy(models.TextChoices):
    SKIP = "skip"
    QUEUE = "queue"
    ALLOW = "allow"


JOB_PERMISSIONS = ("view_job", "change_job", "run_job", "delete_job", "share_job")


class JobQuerySet(models.QuerySet["Job"]):
    def committed(self) -> JobQuerySet:
        """Jobs that are not drafts."""
        return self.filter(editing_of__isnull=True)


# The status of a run under way as the runs app stores it (this app reads runs only through the
# reverse relation ``Job.runs``; it does not import the runs app).
RUN_RUNNING = "running"


class Job(models.Model):
    """A scheduled or manually run unit of work: the type's step, then ordered actions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: job_tenant_name_idx starts with tenant, and a second one only tempts SQLite's
    # planner into scanning every job of the tenant for a short page.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="jobs", db_index=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="owned_jobs"
    )
    type = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, db_index=False)  # looked up with its tenant: job_unique_slug
    description = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    # Schedule (§5). startOn/endOn keep what the client sent (a date or a datetime), because a bare
    # date means "that local day" and must be re-read if the time zone changes.
    interval = models.CharField(max_length=200, blank=True)
    interval_type = models.CharField(max_length=10, choices=IntervalType.choices, default=IntervalType.CRON)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    start_on = models.CharField(max_length=40, blank=True)
    end_on = models.CharField(max_length=40, blank=True)
    dst_policy = models.JSONField(default=dict, blank=True)
    schedule_anchor = models.DateTimeField(
        default=django_timezone.now, help_text="When the schedule was saved: the anchor of simple intervals."
    )
    enabled = models.BooleanField(default=True)

    timeout_seconds = models.PositiveIntegerField(
        default=3600, validators=[MinValueValidator(1), MaxValueValidator(7 * 86400)]
    )
    max_attempts = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(20)])
    misfire_policy = models.CharField(max_length=10, choices=MisfirePolicy.choices, default=MisfirePolicy.RUN_ONCE)
    max_catch_up = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    overlap_policy = models.CharField(max_length=10, choices=OverlapPolicy.choices, default=OverlapPolicy.SKIP)

    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success = models.BooleanField(null=True, blank=True, editable=False)
    editing_of = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="draft", editable=False
    )
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("run_job", "Can run job"), ("share_job", "Can share job")]
        constraints = [
            # Drafts carry their original's slug, so uniqueness holds among committed jobs only.
            models.UniqueConstraint(
                fields=["tenant", "slug"], condition=models.Q(editing_of__isnull=True), name="job_unique_slug"
            ),
        ]
        indexes = [
            # The scheduler's only query: due, enabled, committed jobs by next_run_at.
            models.Index(
                fields=["next_run_at"],
                condition=models.Q(enabled=True, editing_of__isnull=True, next_run_at__isnull=False),
                name="job_due_idx",
            ),
            models.Index(fields=["tenant", "name"], name="job_tenant_name_idx"),
            # Lets a permission-filtered list check the tenant of each permitted id from the index alone.
            models.Index(fields=["id", "tenant"], name="job_id_tenant_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def locked_at(self) -> datetime | None:
        """When the oldest of the job's runs still going started; None when none is going.

        Derived from the runs rather than stored on the job, so that starting a run writes nothing
        but the run. Job reads annotate it (``selectors.with_locked_at``); otherwise it is one query.
        """
        if "running_since" in self.__dict__:
            return self.__dict__["running_since"]
        return self.runs.filter(status=RUN_RUNNING).aggregate(first=models.Min("started_at"))["first"]

    @property
    def natural_id(self) -> str:
        return f"{self.tenant.slug}:{self.slug}"

    @property
    def is_draft(self) -> bool:
        return self.editing_of_id is not None

    @property
    def permission_target(self) -> Job:
        """Whose permissions govern this job: a draft is governed by its original."""
        return self.editing_of if self.editing_of_id is not None else self  # type: ignore[return-value]

    @property
    def tags(self) -> list[str]:
        """Tag names (served from a prefetch when the caller made one)."""
        return sorted(tag.name for tag in self.tag_set.all())


class JobTag(models.Model):
    """A free-form label on a job, filterable with ``?tag=``."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tag_set")
    name = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["job", "name"], name="jobtag_unique")]
        indexes = [models.Index(fields=["name", "job"], name="jobtag_name_idx")]

    def __str__(self) -> str:
        return self.name


class JobUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key table for user permissions on jobs (fast joins, real cascades)."""

    content_object = models.ForeignKey(Job, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class JobGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key table for group (team) permissions on jobs."""

    content_object = models.ForeignKey(Job, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class JobAction(models.Model):
    """One step of a job's workflow, run in ``index`` order after the job type's own step."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="actions", db_index=False
    )  # jobaction_order_idx
    type = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    index = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)
    run_condition = models.JSONField(null=True, blank=True)
    # On a draft's copy: the id of the original's action it was copied from, so that a commit updates that
    # action in place (its id, which run history refers to, stays). Null everywhere else.
    draft_source_id = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "index"]
        indexes = [models.Index(fields=["job", "index"], name="jobaction_order_idx")]

    def __str__(self) -> str:
        return f"{self.index}. {self.name}"


def attachment_upload_to(instance: JobAttachment, filename: str) -> str:
    """Files live under their attachment's id: a new upload never overwrites another attachment's file."""
    return f"attachments/{instance.pk}/{filename}"


class JobAttachment(models.Model):
    """Something an action carries: an uploaded file, a dataset export or a rendered report."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.ForeignKey(JobAction, on_delete=models.CASCADE, related_name="attachments")
    type = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    file = models.FileField(upload_to=attachment_upload_to, blank=True, max_length=500)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # On a draft's copy: the id of the original's attachment it was copied from (see JobAction).
    draft_source_id = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "created_at"]

    def __str__(self) -> str:
        return self.name


class SnapshotWhen(models.TextChoices):
    BEFORE = "before"  # before the job's first action
    AFTER = "after"  # after its last


class JobDataset(models.Model):
    """A dataset a job uses under a short alias (§8): for its steps, templates, conditions and snapshots."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="dataset_links")
    alias = models.CharField(max_length=64)
    # PROTECT: a dataset a job uses cannot be deleted from under the job (the API answers 409).
    dataset = models.ForeignKey("datasets.Dataset", on_delete=models.PROTECT, related_name="job_links")
    index = models.PositiveIntegerField(default=0)
    # {when: before | after, snapshotDatasets: [dataset ids]}; {} when the job snapshots nothing.
    snapshots = models.JSONField(default=dict, blank=True)
    # On a draft's copy: the id of the original's association it was copied from (see JobAction).
    draft_source_id = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "index", "alias"]
        constraints = [models.UniqueConstraint(fields=["job", "alias"], name="jobdataset_unique_alias")]

    def __str__(self) -> str:
        return self.alias
