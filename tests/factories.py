"""factory_boy factories for the whole test suite."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Permission

from informer.models import ApiToken, Team, Tenant, User, hash_token
from jobs.models import Job, JobTag, JobUserObjectPermission


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    timezone = "UTC"
    max_concurrent_jobs = 10


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    tenant = factory.SubFactory(TenantFactory)
    password = factory.django.Password("secret-pass-123")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"team{n}")
    local_name = factory.LazyAttribute(lambda team: team.name)  # the team's own name; save() derives the group's
    tenant = factory.SubFactory(TenantFactory)


class JobFactory(factory.django.DjangoModelFactory):
    """A job owned by ``owner`` with the owner's five permissions, like ``job_create`` makes."""

    class Meta:
        model = Job
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    tenant = factory.LazyAttribute(lambda o: o.owner.tenant)
    type = "email"
    name = factory.Sequence(lambda n: f"Job {n:04d}")
    slug = factory.Sequence(lambda n: f"job-{n:04d}")
    interval = "0 8 * * *"
    interval_type = "cron"
    timezone = "UTC"

    @factory.post_generation
    def grant_owner(self, create: bool, extracted: object, **kwargs: object) -> None:
        if not create or self.owner is None or extracted is False:
            return
        perms = Permission.objects.filter(
            content_type__app_label="jobs",
            codename__in=["view_job", "change_job", "run_job", "delete_job", "share_job"],
        )
        JobUserObjectPermission.objects.bulk_create(
            [JobUserObjectPermission(user=self.owner, permission=p, content_object=self) for p in perms]
        )


def make_token(user: User, *, secret: str = "inf_test-secret", **fields: object) -> tuple[ApiToken, str]:
    """A token row for ``user`` with a known secret."""
    token = ApiToken.objects.create(user=user, key_hash=hash_token(secret), key_hint=secret[:10], **fields)
    return token, secret


class JobTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobTag

    job = factory.SubFactory(JobFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


def tag(job: Job, *names: str) -> Job:
    """Put ``names`` on ``job``."""
    for name in names:
        JobTagFactory(job=job, name=name)
    return job


def make_draft(job: Job, **fields: object) -> Job:
    """A draft of ``job`` as editing makes it: same slug, no permission rows of its own."""
    return JobFactory(
        owner=job.owner, name=job.name, slug=job.slug, type=job.type, editing_of=job, grant_owner=False, **fields
    )
