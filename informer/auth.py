"""The signed-in user of a request, as the installation's user model."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from informer.models import User


def request_user(request: HttpRequest) -> User:
    """The user of a request that authentication already let through (an API view past IsAuthenticated, the admin)."""
    # Anonymous requests never reach the callers (DRF's IsAuthenticated, the admin's staff check), so the
    # AnonymousUser half of ``request.user``'s type does not apply; the stubs cannot know that.
    return cast(User, request.user)
