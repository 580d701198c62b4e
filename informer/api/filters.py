"""``q`` (full-text over name and description) and ``sort`` (validated) for every list; strict field filters."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.db.models import F, Field, Func, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.functions import Collate, Lower
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

# The range of a BigAutoField (every id here) and of SQLite's INTEGER: a value outside it is an
# OverflowError on SQLite and a type error on PostgreSQL, never a row.
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


class StrictIntegerField(forms.IntegerField):
    """A whole number in ASCII digits (not '1.0', '1_000' or Arabic-Indic digits, which ``int()`` takes)."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _INTEGER.fullmatch(text):
            raise forms.ValidationError(f"'{text}' is not a whole number.", code="invalid")
        if len(text.lstrip("+-").lstrip("0")) > 19:
            # Past the 64-bit bounds, said as their validators say it: int() is not asked to read a
            # number of thousands of digits (it refuses them with a ValueError).
            if text.startswith("-"):
                raise forms.ValidationError(f"Ensure this value is greater than or equal to {INTEGER_MIN}.")
            raise forms.ValidationError(f"Ensure this value is less than or equal to {INTEGER_MAX}.")
        return int(text)


class IntegerFilter(django_filters.NumberFilter):
    """``?field=<whole number>`` within the 64-bit range of the id columns; anything else is a 400 naming it."""

    # The stub ties NumberFilter to DecimalField; the filter works with any number field.
    field_class = StrictIntegerField  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", INTEGER_MIN)
        kwargs.setdefault("max_value", INTEGER_MAX)
        super().__init__(*args, **kwargs)


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """``?field=true|false``; anything else is a 400 (a plain BooleanFilter silently ignores "maybe")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class SearchFilter(BaseFilterBackend):
    """Case-insensitive match of every word of ``q`` over the view's ``search_fields``."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        fields = getattr(view, "search_fields", ("name", "description"))
        text = request.query_params.get("q", "")
        if "\x00" in text:
            # PostgreSQL refuses NUL in a string literal (a ValueError from the driver, so a 500).
            raise ValidationError({"q": ["The search text may not contain NUL characters."]})
        terms = text.split()
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


def sort_key(model: type[Model], path: str, vendor: str, *, descending: bool) -> OrderBy:
    """How a list orders by the ORM ``path``: text by its ASCII-lowercased form, NULL after every value."""
    field = _model_field(model, path)
    key: F | Func = F(path)
    if isinstance(field, models.CharField | models.TextField):
        # On PostgreSQL lower() under "C" folds ASCII letters only and the result sorts by code point, as
        # SQLite's lower() and BINARY collation do.
        key = Lower(Collate(key, "C")) if vendor == "postgresql" else Lower(key)
    if field is not None and not field.null:
        return key.desc() if descending else key.asc()  # as plain as before: an index on the column still serves
    return key.desc(nulls_first=True) if descending else key.asc(nulls_last=True)


def _model_field(model: type[Model], path: str) -> Field | None:
    """The model field an ORM path such as ``owner__username`` ends on, or None for anything else."""
    *relations, last = path.split("__")
    try:
        for name in relations:
            model = model._meta.get_field(name).related_model  # type: ignore[assignment]
        return model._meta.get_field(last)  # type: ignore[return-value]
    except (FieldDoesNotExist, AttributeError):
        return None


class SortFilter(BaseFilterBackend):
    """``sort=<field>`` or ``sort=-<field>``; the view maps API names to ORM paths in ``sort_fields``.

    Orders are the same on SQLite and PostgreSQL: text compares case-insensitively (ASCII letters folded, as
    SQLite's lower() does; everything else by code point, PostgreSQL's "C" collation rather than the
    database's, whose locale would skip spaces and punctuation), an empty value (NULL) comes last going up
    and first going down (PostgreSQL's own rule, which SQLite does the other way round), and ties are broken
    by id in the direction of the last key.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        sort_fields: dict[str, str] = getattr(view, "sort_fields", {})
        if not sort_fields:
            return queryset
        default = getattr(view, "default_sort", "name")
        raw = request.query_params.get("sort") or default
        vendor = connections[queryset.db].vendor
        orderings: list[OrderBy] = []
        descending = False
        for part in raw.split(","):
            part = part.strip()
            descending = part.startswith("-")
            name = part.lstrip("-+")
            if name not in sort_fields:
                allowed = ", ".join(sorted(sort_fields))
                raise ValidationError({"sort": [f"Cannot sort by '{name}'; sortable fields are: {allowed}."]})
            orderings.append(sort_key(queryset.model, sort_fields[name], vendor, descending=descending))
        # A unique tie-breaker keeps pages stable when the sort key repeats.
        orderings.append(F("pk").desc() if descending else F("pk").asc())
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
