"""The HAL collection envelope with ``start``/``limit`` paging."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

# A query-string integer is written in ASCII digits: int() would also read an Arabic-Indic or a fullwidth
# one as 1, and ' 1 ' or '1_000' too, so a homoglyph or a typo would page silently instead of being refused.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
# The largest value a 64-bit column (and an offset) can hold; past it a value is out of range.
INTEGER_MAX = 2**63 - 1


def parse_whole_number(raw: str) -> int | None:
    """``raw`` as an integer when it is an optionally signed run of ASCII digits, else None.

    A value of more digits than any 64-bit integer has is returned as ``±(INTEGER_MAX + 1)``, so range checks
    refuse it without ``int()`` reading thousands of digits (it refuses over 4300 of them).
    """
    if not WHOLE_NUMBER.fullmatch(raw):
        return None
    digits = raw.lstrip("+-").lstrip("0")
    if len(digits) > len(str(INTEGER_MAX)):
        return -(INTEGER_MAX + 1) if raw.startswith("-") else INTEGER_MAX + 1
    return int(raw)


def parse_int_param(
    request: Request, name: str, default: int, *, minimum: int, maximum: int | None = INTEGER_MAX
) -> int:
    """Read an integer query parameter in ASCII digits; a bad or out-of-range value is a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_whole_number(raw)
    if value is None:
        raise ValidationError({name: [f"'{raw}' is not a whole number."]})
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        shown = raw if len(raw) <= 30 else raw[:29] + "…"
        raise ValidationError({name: [f"{shown} is out of range; it must be {bounds}."]})
    return value


def hal_collection(request: Request, rel: str, items: list[Any]) -> dict[str, Any]:
    """The collection envelope for a list served whole (drivers, shares, a job's actions)."""
    return {
        "_links": {"self": {"href": request.build_absolute_uri()}},
        "_embedded": {rel: items},
        "start": 0,
        "count": len(items),
        "total": len(items),
    }


class HalPagination(BasePagination):
    """``{"_links": {...}, "_embedded": {"inf:<rel>": [...]}, "start", "count", "total"}``."""

    default_limit = 30

    def paginate_queryset(self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: Any = None) -> list:
        self.request = request
        self.rel = getattr(view, "hal_rel", "inf:item")
        self.limit = parse_int_param(
            request, "limit", self.default_limit, minimum=0, maximum=settings.INFORMER_MAX_PAGE_SIZE
        )
        self.start = parse_int_param(request, "start", 0, minimum=0)
        self.total = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        if self.limit == 0 or self.start >= self.total:
            return []
        page = queryset[self.start : self.start + self.limit]
        # A view may read its page in another shape than it counts it (as rows of the columns it shows,
        # whose joins the count does not need).
        page_rows = getattr(view, "page_rows", None)
        return list(page_rows(page) if page_rows is not None and isinstance(page, QuerySet) else page)

    def get_paginated_response(self, data: list) -> Response:
        return Response(self.envelope(data))

    def envelope(self, data: list) -> dict[str, Any]:
        url = self.request.build_absolute_uri()
        links: dict[str, Any] = {"self": {"href": url}}
        if self.limit and self.start + self.limit < self.total:
            links["next"] = {"href": replace_query_param(url, "start", self.start + self.limit)}
        if self.start > 0:
            prev_start = max(0, self.start - (self.limit or self.start))
            href = replace_query_param(url, "start", prev_start) if prev_start else remove_query_param(url, "start")
            links["prev"] = {"href": href}
        return {
            "_links": links,
            "_embedded": {self.rel: data},
            "start": self.start,
            "count": len(data),
            "total": self.total,
        }

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {
            "type": "object",
            "properties": {"href": {"type": "string", "format": "uri"}},
            "required": ["href"],
        }
        return {
            "type": "object",
            "required": ["_links", "_embedded", "start", "count", "total"],
            "properties": {
                "_links": {
                    "type": "object",
                    "properties": {"self": link, "next": link, "prev": link},
                    "required": ["self"],
                },
                "_embedded": {"type": "object", "additionalProperties": schema},
                "start": {"type": "integer", "minimum": 0},
                "count": {"type": "integer", "minimum": 0},
                "total": {"type": "integer", "minimum": 0},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "Items per page (default 30, at most 1000).",
                "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
            },
            {
                "name": "start",
                "in": "query",
                "required": False,
                "description": "Offset of the first item (default 0).",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]
