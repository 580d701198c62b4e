"""Gives Django's own error responses under ``/api/`` the API's error shape; a path holding NUL is a 404."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from informer.api.exceptions import error_response

logger = logging.getLogger(__name__)

_MESSAGES = {
    400: "The request is invalid.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    413: "The request body is too large.",
    500: "An internal error occurred; it has been logged.",
}


class ApiErrorMiddleware:
    """Rewrites non-JSON error responses and unhandled exceptions on API paths into the error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request) and "\x00" in request.path:
            # No id, natural id, alias or principal holds NUL, and PostgreSQL refuses it in a query's text
            # (a ValueError from the driver, so a 500 from any lookup by a path parameter): nothing is there.
            return error_response(404, "No resource at this path (it holds a NUL character).")
        response = self.get_response(request)
        if not _is_api(request) or response.status_code < 400:
            return response
        # DRF responses already carry the shape (or the browsable page of it).
        if hasattr(response, "data") or response.get("Content-Type", "").startswith("application/json"):
            return response
        status_code = response.status_code
        message = _MESSAGES.get(status_code, "The request failed.")
        if status_code == 405:
            message = f"Method {request.method} is not allowed on {request.path}."
        elif status_code == 404:
            message = f"No resource at {request.path}."
        rewritten = error_response(status_code, message)
        if response.has_header("Allow"):
            rewritten["Allow"] = response["Allow"]
        return rewritten

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not _is_api(request):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return error_response(500, _MESSAGES[500])


def _is_api(request: HttpRequest) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")
