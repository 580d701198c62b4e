"""Tenants, users, teams and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
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

    objects = UserManager()

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A user created without a tenant (createsuperuser, the admin) belongs to the default one.
        if self.tenant_id is None:
            self.tenant_id = default_tenant_id()
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        """Full name when known, else the username."""
        return self.get_full_name() or self.username


class Team(Group):
    """A group of users of one tenant; shares can be made to a team as a whole."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="teams", blank=True)
    display_name = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "team"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            self.tenant_id = default_tenant_id()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.display_name or self.name


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
