"""Drafts: edit a job safely in a deep copy, then commit it onto the original atomically."""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from informer.api.exceptions import Conflict
from jobs import timing
from jobs.models import Job, JobAction, JobAttachment, JobDataset, JobTag
from jobs.services.actions import copy_attachment_file, delete_files_on_commit
from jobs.services.jobs import SCHEDULE_FIELDS

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
# What a commit copies from a draft's action or attachment onto the one it was copied from.
ACTION_FIELDS = ("type", "name", "index", "enabled", "data", "run_condition")
ATTACHMENT_FIELDS = ("type", "name", "data", "content_type", "size", "sha256")
DATASET_FIELDS = ("alias", "dataset_id", "index", "snapshots")


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
            draft_source_id=action.pk,
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
                draft_source_id=attachment.pk,
            )
            copy_attachment_file(attachment, duplicate)
            duplicate.save(force_insert=True)
    JobDataset.objects.bulk_create(
        [
            JobDataset(job=draft, draft_source_id=link.pk, **{name: getattr(link, name) for name in DATASET_FIELDS})
            for link in JobDataset.objects.filter(job=original)
        ]
    )
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

    old_files = _files(JobAttachment.objects.filter(action__job=original))
    draft_files = _files(JobAttachment.objects.filter(action__job=draft))
    _commit_actions(original=original, draft=draft)
    _commit_datasets(original=original, draft=draft)
    JobTag.objects.filter(job=original).delete()
    JobTag.objects.filter(job=draft).update(job=original)
    draft.delete()
    kept = _files(JobAttachment.objects.filter(action__job=original))
    # No run ever reads a draft's files: the copies the original did not take go at once.
    delete_files_on_commit(sorted(draft_files - kept))
    # A run under way still reads the files of the definition it started with, so while one is
    # going the replaced files stay in storage rather than vanish under it.
    if original.locked_at is None:
        delete_files_on_commit(sorted(old_files - kept))
    return original


def _files(attachments: QuerySet[JobAttachment]) -> set[str]:
    return {path for path in attachments.values_list("file", flat=True) if path}


def _commit_actions(*, original: Job, draft: Job) -> None:
    """Make the original's actions and attachments those of the draft, keeping the ids of those that stay.

    Run history names actions by id, so a copy made by ``draft_edit`` updates the action (or attachment)
    it came from; what the draft added moves over with the id it got there; what it removed is deleted.
    """
    actions = {action.pk: action for action in JobAction.objects.filter(job=original)}
    attachments = {attachment.pk: attachment for attachment in JobAttachment.objects.filter(action__job=original)}
    staying_actions: set[uuid.UUID] = set()
    staying_attachments: set[uuid.UUID] = set()
    for copy in JobAction.objects.filter(job=draft).prefetch_related("attachments"):
        # No source: the draft added it.
        target = actions.get(copy.draft_source_id) if copy.draft_source_id is not None else None
        if target is None:
            JobAction.objects.filter(pk=copy.pk).update(job=original, draft_source_id=None)
            JobAttachment.objects.filter(action=copy).update(draft_source_id=None)
            continue
        staying_actions.add(target.pk)
        for name in ACTION_FIELDS:
            setattr(target, name, getattr(copy, name))
        target.save()
        for duplicate in copy.attachments.all():
            source = attachments.get(duplicate.draft_source_id) if duplicate.draft_source_id is not None else None
            if source is None:
                JobAttachment.objects.filter(pk=duplicate.pk).update(action=target, draft_source_id=None)
                continue
            staying_attachments.add(source.pk)
            unchanged_file = bool(source.file) and bool(duplicate.file) and source.sha256 == duplicate.sha256
            for name in ATTACHMENT_FIELDS:
                setattr(source, name, getattr(duplicate, name))
            source.action = target
            if not unchanged_file:
                # The draft's own copy of the file (a new upload, or none) becomes the attachment's; its path
                # stays under the copy's id, which no other attachment will ever have.
                source.file.name = duplicate.file.name
            source.save()
    JobAttachment.objects.filter(pk__in=attachments.keys() - staying_attachments).delete()
    JobAction.objects.filter(pk__in=actions.keys() - staying_actions).delete()


def _commit_datasets(*, original: Job, draft: Job) -> None:
    """Make the original's dataset associations those of the draft, keeping the ids of those that stay.

    As with actions: a copy updates the association it came from, an addition moves over, a removal goes.
    Aliases are unique in a job and a draft may swap two of them, so the staying ones take a placeholder
    alias (their id, which no alias can be: aliases start with a letter and have no hyphen) first.
    """
    links = {link.pk: link for link in JobDataset.objects.filter(job=original)}
    copies = list(JobDataset.objects.filter(job=draft))
    staying = {copy.draft_source_id for copy in copies if copy.draft_source_id in links}
    JobDataset.objects.filter(pk__in=links.keys() - staying).delete()
    for pk in staying:
        JobDataset.objects.filter(pk=pk).update(alias=f"-{pk}"[:64])
    for copy in copies:
        target = links.get(copy.draft_source_id) if copy.draft_source_id is not None else None
        if target is None:  # the draft added it
            JobDataset.objects.filter(pk=copy.pk).update(job=original, draft_source_id=None)
            continue
        JobDataset.objects.filter(pk=target.pk).update(**{name: getattr(copy, name) for name in DATASET_FIELDS})


@transaction.atomic
def draft_discard(*, draft: Job) -> None:
    """Throw a draft away with its actions and their files."""
    paths = [
        attachment.file.name for attachment in JobAttachment.objects.filter(action__job=draft) if attachment.file.name
    ]
    draft.delete()
    delete_files_on_commit(paths)
