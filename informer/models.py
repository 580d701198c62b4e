"""Tenants, users, teams and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone

from informer.timezones import UnknownTimeZone, load_zone


def validate_timezone_name(value: str) -> None:
    """Reject names that are not IANA time zones."""
    try:
        load_zone(value)
    except UnknownTimeZone as error:
        raise ValidationError(str(error)) from None


class Tenant(models.Model):
    """An isolated organisation: its users, teams, jobs and data are invisible to every other tenant."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    max_concurrent_jobs = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


def default_tenant_id() -> int:
    """The id of the default tenant, which the migrations create."""
    tenant, _ = Tenant.objects.get_or_create(slug=settings.INFORMER_DEFAULT_TENANT_SLUG, defaults={"name": "Default"})
    return tenant.pk


class User(AbstractUser):
    """A person or service account; belongs to exactly one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="users", blank=True)

    objects: ClassVar[UserManager[Self]] = UserManager()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A user created without a tenant (createsuperuser, the admin) belongs to the default one.
        if self.tenant_id is None:
            self.tenant_id = default_tenant_id()
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """Full name when known, else the username."""
        return self.get_full_name() or self.username


TEAM_NAME_MAX_LENGTH = 100


def team_group_name(tenant_id: int, name: str) -> str:
    """The Django group name behind team ``name`` of a tenant: group names are unique across the
    installation, team names only within their tenant, so the tenant's id keeps the tenants apart."""
    return f"{tenant_id}:{name}"


def team_name_taken(name: str) -> str:
    """The message for a team name its tenant already has."""
    return f"A team named '{name}' already exists in this tenant (team names ignore case)."


class Team(Group):
    """A group of users of one tenant; shares can be made to a team as a whole.

    The team's own name is ``local_name``, unique within its tenant whatever its case; the inherited
    ``name`` is the group's, derived from it (``<tenant id>:<local name>``) and never shown.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="teams", blank=True)
    local_name = models.CharField(
        "name", max_length=TEAM_NAME_MAX_LENGTH, help_text="Unique within the tenant, whatever its case."
    )
    display_name = models.CharField(max_length=200, blank=True)

    # The GroupManager inherited from Group, typed for teams: the stubs type it for Group rows only, which
    # would make every Team query a Group query. Annotation only, so nothing changes at run time.
    objects: ClassVar[models.Manager[Team]]  # type: ignore[assignment]

    class Meta:
        verbose_name = "team"
        constraints = [
            models.UniqueConstraint(
                F("tenant"),
                Lower("local_name"),
                name="team_name_unique_per_tenant",
                violation_error_message="A team with this name already exists in this tenant.",
            )
        ]

    def clean(self) -> None:
        super().clean()
        # The constraint is only checked by forms that show the tenant; a team's tenant is often set
        # outside the form (a staff user's own), so the name is checked here as well.
        if self.tenant_id is not None and self.local_name:
            taken = Team.objects.filter(tenant_id=self.tenant_id, local_name__iexact=self.local_name)
            if taken.exclude(pk=self.pk).exists():
                raise ValidationError({"local_name": team_name_taken(self.local_name)})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            self.tenant_id = default_tenant_id()
        self.name = team_group_name(self.tenant_id, self.local_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"local_name", "tenant"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "name"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.display_name or self.local_name


TOKEN_PREFIX = "inf_"


def hash_token(secret: str) -> str:
    """The stored form of a token: tokens are long random strings, so a plain SHA-256 is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        now = django_timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A bearer token for API clients; only its hash is stored and the secret is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=200, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_hint = models.CharField(max_length=16, editable=False, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.key_hint}… ({self.name or self.user})"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= django_timezone.now()

    @staticmethod
    def generate_secret() -> str:
        """A new random token secret."""
        return TOKEN_PREFIX + secrets.token_urlsafe(32)


class DemoRecord(models.Model):
    """Something ``manage.py seed_demo`` made: it changes only what it recorded here, so running it again
    never touches an object of the same name that someone else made."""

    class Kind(models.TextChoices):
        TENANT = "tenant"
        USER = "user"
        TEAM = "team"
        JOB = "job"
        DATASOURCE = "datasource"
        DATASET = "dataset"
        LIBRARY = "library"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=300, help_text="The natural key the demo gave it: slug, username, name.")
    object_id = models.CharField(max_length=64, help_text="The primary key of what was made under that key.")
    created_at = models.DateTimeField(default=django_timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="demorecord_kind_key_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
