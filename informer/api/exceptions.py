"""The single error shape of the API, for every status.

``{"statusCode": 400, "error": "Bad Request", "message": "...", "details": {"field": ["..."]}}``
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A readable, expected failure raised by services; the API layer turns it into the error shape."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, details: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or ({field: [message]} if field else {})


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, a draft already committed...)."""

    status_code = status.HTTP_409_CONFLICT


class NotFound(DomainError):
    """The object does not exist or the caller may not read it."""

    status_code = status.HTTP_404_NOT_FOUND


# Fixed names for the statuses the API answers with: Python's own phrases change between versions
# (413 became "Content Too Large" in 3.13), and clients match on this field.
ERROR_NAMES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def error_body(status_code: int, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error shape as a dict."""
    phrase = ERROR_NAMES.get(status_code)
    if phrase is None:
        try:
            phrase = HTTPStatus(status_code).phrase
        except ValueError:
            phrase = "Error"
    return {"statusCode": status_code, "error": phrase, "message": message, "details": details or {}}


def error_response(status_code: int, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    """A plain Django response in the error shape (for errors raised outside DRF views)."""
    return JsonResponse(error_body(status_code, message, details), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for sub_key, messages in _flatten(value, path).items():
                out.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for sub_key, messages in _flatten(item, f"{prefix}[{index}]").items():
                    out.setdefault(sub_key, []).extend(messages)
    else:
        out[prefix] = [str(detail)]
    return out


def names_field(message: str, field: str) -> bool:
    """Whether ``message`` already opens with ``field`` ("data.url: …", "startOn 2026-… is …", "data must …")."""
    if not field or not message.startswith(field):
        return False
    rest = message[len(field) :]
    return not rest or rest[0] in ".[: "


def validation_message(details: dict[str, list[str]]) -> str:
    """One readable sentence summarising field errors, naming the first field once."""
    if not details:
        return "The request is invalid."
    field, messages = next(iter(details.items()))
    first = messages[0] if messages else "is invalid."
    more = len(details) - 1
    suffix = f" (and {more} more field{'s' if more > 1 else ''})" if more else ""
    if not field:
        return first
    # A message that opens with its field (a driver's "data.url: is required.") is not prefixed again.
    return f"{first}{suffix}" if names_field(first, field) else f"{field}: {first}{suffix}"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the single error shape."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.status_code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        # Raised by Django while DRF reads the body: the client's fault, not an internal error.
        set_rollback()
        status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        return Response(error_body(status_code, "The request body is too large."), status=status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(
            error_body(500, "An internal error occurred; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]

    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        message = validation_message(details)
    else:
        detail = exc.detail
        details = _flatten(detail) if isinstance(detail, dict | list) else {}
        message = str(detail) if not isinstance(detail, dict | list) else validation_message(details)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            # An anonymous request is always a 401, never a 403 (there is always an auth header to offer).
            exc.status_code = status.HTTP_401_UNAUTHORIZED
            headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    set_rollback()
    return Response(error_body(exc.status_code, message, details), status=exc.status_code, headers=headers)
