"""Deleting a job removes its attachment files (and its draft's) from storage."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from jobs.models import JobAction, JobAttachment
from jobs.services import drafts as draft_services
from tests.conftest import client_for
from tests.factories import JobFactory


@pytest.mark.django_db(transaction=True)
def test_deleting_a_job_deletes_its_and_its_drafts_attachment_files(settings, tmp_path, owner):
    # given
    settings.MEDIA_ROOT = str(tmp_path)
    job = JobFactory(owner=owner)
    action = JobAction.objects.create(job=job, type="email", name="Mail", data={"to": "a@example.com", "subject": "s"})
    attachment = JobAttachment(action=action, type="file", name="a.txt")
    attachment.file.save("a.txt", ContentFile(b"payload"), save=True)
    draft, _ = draft_services.draft_edit(job=job)
    draft_file = JobAttachment.objects.get(action__job=draft).file.name
    assert default_storage.exists(attachment.file.name) and default_storage.exists(draft_file)

    # when
    response = client_for(owner).delete(f"/api/jobs/{job.pk}")

    # then
    assert response.status_code == 204
    assert not default_storage.exists(attachment.file.name)
    assert not default_storage.exists(draft_file)
    assert JobAttachment.objects.count() == 0
