"""``q`` (full-text over name and description) and ``sort`` (validated) for every list."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request


class SearchFilter(BaseFilterBackend):
    """Case-insensitive match of every word of ``q`` over the view's ``search_fields``."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        fields = getattr(view, "search_fields", ("name", "description"))
        terms = request.query_params.get("q", "").split()
        for term in terms:
            condition = Q()
            for field in fields:
                condition |= Q(**{f"{field}__icontains": term})
            queryset = queryset.filter(condition)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "q",
                "in": "query",
                "required": False,
                "description": "Full-text search over name and description (case-insensitive).",
                "schema": {"type": "string"},
            }
        ]


class SortFilter(BaseFilterBackend):
    """``sort=<field>`` or ``sort=-<field>``; the view maps API names to ORM paths in ``sort_fields``."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        sort_fields: dict[str, str] = getattr(view, "sort_fields", {})
        if not sort_fields:
            return queryset
        default = getattr(view, "default_sort", "name")
        raw = request.query_params.get("sort") or default
        orderings = []
        for part in raw.split(","):
            part = part.strip()
            descending = part.startswith("-")
            name = part.lstrip("-+")
            if name not in sort_fields:
                allowed = ", ".join(sorted(sort_fields))
                raise ValidationError({"sort": [f"Cannot sort by '{name}'; sortable fields are: {allowed}."]})
            orderings.append(("-" if descending else "") + sort_fields[name])
        # A unique tie-breaker keeps pages stable when the sort key repeats.
        orderings.append("-pk" if orderings[-1].startswith("-") else "pk")
        return queryset.order_by(*orderings)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        sort_fields = getattr(view, "sort_fields", {})
        if not sort_fields:
            return []
        return [
            {
                "name": "sort",
                "in": "query",
                "required": False,
                "description": "Sort field, '-' prefix for descending. One of: " + ", ".join(sorted(sort_fields)),
                "schema": {"type": "string"},
            }
        ]
