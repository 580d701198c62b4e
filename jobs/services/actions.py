"""Writes to a job's actions and their attachments; ``index`` is kept dense (0..n-1) in one transaction."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from jobs.drivers.registry import require_available
from jobs.models import Job, JobAction, JobAttachment


def _lock_job(job: Job) -> None:
    """Serialise edits of one job's action order (SQLite already serialises writers)."""
    if connection.features.has_select_for_update:
        Job.objects.select_for_update().filter(pk=job.pk).first()


def _place(job: Job, action: JobAction, index: int | None) -> None:
    """Put ``action`` at ``index`` (default: last) and renumber the others around it."""
    others = list(JobAction.objects.filter(job=job).exclude(pk=action.pk).order_by("index", "created_at"))
    position = len(others) if index is None else max(0, min(index, len(others)))
    ordered = [*others[:position], action, *others[position:]]
    changed = []
    for number, item in enumerate(ordered):
        if item.index != number:
            item.index = number
            changed.append(item)
    JobAction.objects.bulk_update([item for item in changed if item.pk != action.pk], ["index"])
    action.index = position


@transaction.atomic
def action_create(*, job: Job, fields: dict[str, Any]) -> JobAction:
    """Add an action to ``job`` at ``fields['index']`` (default last), shifting the ones after it."""
    require_available("action", fields.get("type", ""))
    _lock_job(job)
    index = fields.pop("index", None)
    action = JobAction(job=job, **fields)
    _place(job, action, index)
    action.save(force_insert=True)
    _touch(job)
    return action


@transaction.atomic
def action_update(*, action: JobAction, fields: dict[str, Any]) -> JobAction:
    """Merge ``fields`` into ``action``; a new ``index`` moves it and renumbers the others."""
    if "type" in fields:
        require_available("action", fields["type"], current=action.type)
    _lock_job(action.job)
    index = fields.pop("index", None)
    for name, value in fields.items():
        setattr(action, name, value)
    if index is not None and index != action.index:
        _place(action.job, action, index)
    action.save()
    _touch(action.job)
    return action


@transaction.atomic
def action_delete(*, action: JobAction) -> None:
    """Delete an action with its attachments (and their files) and close the gap in the order."""
    job = action.job
    _lock_job(job)
    paths = [a.file.name for a in action.attachments.all() if a.file.name]
    action.delete()
    for number, item in enumerate(JobAction.objects.filter(job=job).order_by("index", "created_at")):
        if item.index != number:
            JobAction.objects.filter(pk=item.pk).update(index=number)
    delete_files_on_commit(paths)
    _touch(job)


@transaction.atomic
def attachment_create(*, action: JobAction, fields: dict[str, Any]) -> JobAttachment:
    """Add an attachment to ``action``."""
    require_available("attachment", fields.get("type", ""))
    attachment = JobAttachment.objects.create(action=action, **fields)
    _touch(action.job)
    return attachment


@transaction.atomic
def attachment_update(*, attachment: JobAttachment, fields: dict[str, Any]) -> JobAttachment:
    """Merge ``fields`` into ``attachment``."""
    if "type" in fields:
        require_available("attachment", fields["type"], current=attachment.type)
    for name, value in fields.items():
        setattr(attachment, name, value)
    attachment.save()
    _touch(attachment.action.job)
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: JobAttachment) -> None:
    """Delete an attachment and, once committed, its file."""
    path = attachment.file.name if attachment.file else ""
    job = attachment.action.job
    attachment.delete()
    delete_files_on_commit([path] if path else [])
    _touch(job)


@transaction.atomic
def attachment_upload(
    *, attachment: JobAttachment, stream: IO[bytes], filename: str, content_type: str
) -> JobAttachment:
    """Store the file of a ``file`` attachment (replacing any previous one) with its size and checksum."""
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: stream.read(64 * 1024), b""):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    previous = attachment.file.name if attachment.file else ""
    attachment.file.save(_safe_name(filename or attachment.name), File(stream), save=False)
    attachment.size = size
    attachment.sha256 = digest.hexdigest()
    attachment.content_type = content_type or "application/octet-stream"
    attachment.save()
    if previous and previous != attachment.file.name:
        delete_files_on_commit([previous])
    _touch(attachment.action.job)
    return attachment


def copy_attachment_file(source: JobAttachment, target: JobAttachment) -> None:
    """Give ``target`` its own copy of ``source``'s file (drafts must not share files with originals)."""
    name = source.file.name  # a FieldFile is true when it has a name
    if not name:
        return
    with default_storage.open(name, "rb") as handle:
        target.file.save(name.rsplit("/", 1)[-1], File(handle), save=False)


def _safe_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in name).strip(" .")
    return keep[:150] or "file"


def delete_files_on_commit(paths: list[str]) -> None:
    def delete() -> None:
        for path in paths:
            default_storage.delete(path)

    if paths:
        transaction.on_commit(delete)


def _touch(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(updated_at=timezone.now())
