"""Writes to tenants, users, teams and API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from informer.api.exceptions import Conflict, DomainError
from informer.models import (
    TEAM_NAME_MAX_LENGTH,
    ApiToken,
    Team,
    Tenant,
    User,
    hash_token,
    team_name_taken,
    validate_timezone_name,
)


@transaction.atomic
def tenant_create(*, slug: str, name: str = "", timezone_name: str = "UTC", max_concurrent_jobs: int = 10) -> Tenant:
    """Create a tenant; the slug must be new."""
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(f"A tenant with slug '{slug}' already exists.", field="slug")
    validate_timezone_name(timezone_name)
    if max_concurrent_jobs < 1:
        raise DomainError("maxConcurrentJobs must be at least 1.", field="maxConcurrentJobs")
    return Tenant.objects.create(
        slug=slug, name=name or slug, timezone=timezone_name, max_concurrent_jobs=max_concurrent_jobs
    )


@transaction.atomic
def user_create(
    *,
    username: str,
    tenant: Tenant,
    password: str | None = None,
    email: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    teams: list[str] | None = None,
) -> User:
    """Create a user in ``tenant``, optionally in teams (made on first use) of the same tenant."""
    if User.objects.filter(username=username).exists():
        raise Conflict(f"A user named '{username}' already exists.", field="username")
    user = User(username=username, tenant=tenant, email=email, is_staff=is_staff, is_superuser=is_superuser)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    for team_name in teams or []:
        user.groups.add(team_get_or_create(tenant=tenant, name=team_name))
    return user


def team_name_clean(name: str) -> str:
    """``name`` as a team name: trimmed, not empty, not too long (a 400 naming ``group`` otherwise)."""
    cleaned = name.strip()
    if not cleaned:
        raise DomainError("A team name cannot be empty.", field="group")
    if len(cleaned) > TEAM_NAME_MAX_LENGTH:
        raise DomainError(f"A team name has at most {TEAM_NAME_MAX_LENGTH} characters.", field="group")
    return cleaned


@transaction.atomic
def team_create(*, tenant: Tenant, name: str, display_name: str = "") -> Team:
    """Create team ``name`` in ``tenant``; the name must be new to the tenant, whatever its case."""
    name = team_name_clean(name)
    if Team.objects.filter(tenant=tenant, local_name__iexact=name).exists():
        raise Conflict(team_name_taken(name), field="group")
    try:
        with transaction.atomic():
            return Team.objects.create(tenant=tenant, local_name=name, display_name=display_name)
    except IntegrityError:
        # Another request made it between the check and the insert.
        raise Conflict(team_name_taken(name), field="group") from None


def team_get_or_create(*, tenant: Tenant, name: str) -> Team:
    """The team of ``tenant`` named ``name`` (whatever its case), created when missing."""
    team = Team.objects.filter(tenant=tenant, local_name__iexact=team_name_clean(name)).first()
    return team if team is not None else team_create(tenant=tenant, name=name)


def token_create(*, user: User, name: str = "", expires_days: int | None = None) -> tuple[ApiToken, str]:
    """Create an API token; returns it with its secret, which is never stored nor shown again."""
    if expires_days is not None and expires_days < 1:
        raise DomainError("expiresDays must be at least 1.", field="expiresDays")
    secret = ApiToken.generate_secret()
    expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_token(secret), key_hint=secret[:10], expires_at=expires_at
    )
    return token, secret


def token_revoke(*, token: ApiToken) -> None:
    """Revoke a token: it is deleted, and its hash with it."""
    token.delete()
