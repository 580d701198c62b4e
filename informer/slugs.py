"""Slugs unique per tenant: a free one made from a name, and a save whose lost race on the slug is a 409."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils.text import slugify

from informer.api.exceptions import Conflict


def unique_slug(taken_in: models.QuerySet[Any], *, base: str, fallback: str, exclude_pk: Any = None) -> str:
    """``base`` slugified, or ``base-2``, ``base-3``… when ``taken_in`` (one tenant's objects) holds it."""
    stem = (slugify(base) or fallback)[:180]
    taken = set(taken_in.filter(slug__startswith=stem).exclude(pk=exclude_pk).values_list("slug", flat=True))
    candidate, number = stem, 2
    while candidate in taken:
        candidate, number = f"{stem}-{number}", number + 1
    return candidate


def slug_taken(label: str, slug: str) -> Conflict:
    """The 409 of a slug another object of the tenant holds."""
    return Conflict(f"A {label} with slug '{slug}' already exists.", field="slug")


def save_slugged(obj: models.Model, *, constraint: str, label: str, **save_options: Any) -> None:
    """Save ``obj``; a lost race on its unique slug is a 409 (any other integrity error is a bug and stays one)."""
    try:
        with transaction.atomic():
            obj.save(**save_options)
    except IntegrityError as error:
        # PostgreSQL names the constraint; SQLite names the columns ("…_datasource.slug").
        if constraint in str(error) or f"{obj._meta.db_table}.slug" in str(error):
            raise slug_taken(label, obj.slug) from None  # type: ignore[attr-defined]
        raise
