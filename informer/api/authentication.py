"""``Authorization: Bearer <token>`` authentication against hashed API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from informer.models import ApiToken, hash_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Looks the token up by its hash; expired, revoked and unknown tokens are all a 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header; expected 'Bearer <token>'.")
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(parts[1])).first()
        if token is None:
            raise exceptions.AuthenticationFailed("The API token is invalid or has been revoked.")
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("The API token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this API token is inactive.")
        resolution = timedelta(seconds=settings.INFORMER_TOKEN_LAST_USED_RESOLUTION)
        # Touch last-used at most once per resolution window: a write on every request would serialise
        # all API traffic on SQLite.
        if token.last_used_at is None or now - token.last_used_at >= resolution:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
