"""Drafts: edit a job safely in a deep copy, then commit it onto the original atomically."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from informer.api.exceptions import Conflict
from jobs import timing
from jobs.action_services import copy_attachment_file, delete_files_on_commit
from jobs.models import Job, JobAction, JobAttachment, JobTag
from jobs.services import SCHEDULE_FIELDS

# What a draft carries over to its original on commit (identity, owner, shares and history stay).
COPIED_FIELDS = (
    "type",
    "name",
    "slug",
    "description",
    "data",
    "interval",
    "interval_type",
    "timezone",
    "start_on",
    "end_on",
    "dst_policy",
    "enabled",
    "timeout_seconds",
    "max_attempts",
    "misfire_policy",
    "max_catch_up",
    "overlap_policy",
)


def _lock(*jobs: Job) -> None:
    if connection.features.has_select_for_update:
        list(Job.objects.select_for_update().filter(pk__in=[job.pk for job in jobs]).order_by("pk"))


@transaction.atomic
def draft_edit(*, job: Job) -> tuple[Job, bool]:
    """The draft of ``job``, made on first call as a deep copy; returns it and whether it is new."""
    original = job.permission_target
    _lock(original)
    existing = Job.objects.filter(editing_of=original).first()
    if existing is not None:
        return existing, False
    draft = Job(
        tenant_id=original.tenant_id,
        owner_id=original.owner_id,
        editing_of=original,
        schedule_anchor=original.schedule_anchor,
        next_run_at=None,
        **{name: getattr(original, name) for name in COPIED_FIELDS},
    )
    draft.save(force_insert=True)
    JobTag.objects.bulk_create([JobTag(job=draft, name=tag.name) for tag in original.tag_set.all()])
    for action in original.actions.prefetch_related("attachments").order_by("index"):
        copy = JobAction.objects.create(
            job=draft,
            type=action.type,
            name=action.name,
            index=action.index,
            enabled=action.enabled,
            data=action.data,
            run_condition=action.run_condition,
        )
        for attachment in action.attachments.all():
            duplicate = JobAttachment(
                action=copy,
                type=attachment.type,
                name=attachment.name,
                data=attachment.data,
                content_type=attachment.content_type,
                size=attachment.size,
                sha256=attachment.sha256,
            )
            copy_attachment_file(attachment, duplicate)
            duplicate.save(force_insert=True)
    return draft, True


@transaction.atomic
def draft_commit(*, job: Job) -> Job:
    """Copy the draft onto its original (which keeps its id, owner, shares and history) and delete it."""
    original = job.permission_target
    # The original's row first, then look for the draft: a second commit waits here and then finds
    # no draft (409) instead of one deleted under it.
    _lock(original)
    original.refresh_from_db()
    draft = Job.objects.filter(editing_of=original).first()
    if draft is None:
        raise Conflict(f"Job '{original.name}' has no draft to commit.", field="id")
    _lock(draft)
    draft.refresh_from_db()
    if draft.slug != original.slug and (
        Job.objects.committed().filter(tenant_id=original.tenant_id, slug=draft.slug).exclude(pk=original.pk).exists()
    ):
        raise Conflict(f"A job with slug '{draft.slug}' already exists.", field="slug")
    schedule_changed = any(getattr(original, name) != getattr(draft, name) for name in SCHEDULE_FIELDS)
    reanchor = any(getattr(original, name) != getattr(draft, name) for name in SCHEDULE_FIELDS - {"enabled"})
    for name in COPIED_FIELDS:
        setattr(original, name, getattr(draft, name))
    if reanchor:
        original.schedule_anchor = timezone.now()
    if schedule_changed:
        original.next_run_at = timing.job_next_run_at(original)
    original.save()

    old_files = [
        attachment.file.name for attachment in JobAttachment.objects.filter(action__job=original) if attachment.file
    ]
    JobAction.objects.filter(job=original).delete()
    JobAction.objects.filter(job=draft).update(job=original)
    JobTag.objects.filter(job=original).delete()
    JobTag.objects.filter(job=draft).update(job=original)
    draft.delete()
    # The draft's attachments were moved (with their own file copies): only the replaced ones go.
    # A run under way still reads the files of the definition it started with, so while one is
    # going the replaced files stay in storage rather than vanish under it.
    if original.locked_at is None:
        kept = set(JobAttachment.objects.filter(action__job=original).values_list("file", flat=True))
        delete_files_on_commit([path for path in old_files if path not in kept])
    return original


@transaction.atomic
def draft_discard(*, draft: Job) -> None:
    """Throw a draft away with its actions and their files."""
    paths = [attachment.file.name for attachment in JobAttachment.objects.filter(action__job=draft) if attachment.file]
    draft.delete()
    delete_files_on_commit(paths)
