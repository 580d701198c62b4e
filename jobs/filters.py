"""Field filters for job lists."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django import forms
from django.db.models import QuerySet

from informer.api.filters import IntegerFilter, StrictBooleanFilter
from jobs.drivers import registry
from jobs.models import IntervalType, Job, JobTag


class NamedChoicesMixin:
    """A choice filter whose refusal names the value and the choices, as an unknown sort field's does (§2).

    Django's "Select a valid choice. x is not one of the available choices." says neither what was asked
    for nor what would do.
    """

    def __init__(self, *args: Any, noun: str, plural: str, **kwargs: Any) -> None:
        self.noun = noun
        self.plural = plural
        super().__init__(*args, **kwargs)

    @property
    def field(self) -> forms.Field:
        field: forms.ChoiceField = super().field  # type: ignore[misc]
        # A form field's choices are the normalised list of pairs by now (the stubs allow what set them).
        choices = cast(list[tuple[Any, Any]], field.choices)
        known = ", ".join(str(value) for value, _ in choices if value != "").replace("%", "%%")
        field.error_messages["invalid_choice"] = f"Unknown {self.noun} '%(value)s'; known {self.plural} are: {known}."
        return field


class ChoiceFilter(NamedChoicesMixin, django_filters.ChoiceFilter):
    """``?name=<one of the choices>``; anything else is a 400 naming it."""


class MultipleChoiceFilter(NamedChoicesMixin, django_filters.MultipleChoiceFilter):
    """``?name=a&name=b``, each one of the choices; anything else is a 400 naming it."""


def _job_types() -> list[tuple[str, str]]:
    # Every registered type, available here or not: jobs of an unavailable type exist and can be listed.
    return registry.choices("job")


class JobFilter(django_filters.FilterSet):
    """``?enabled=&type=&ownerId=&tag=&intervalType=`` (``tag`` may repeat: a job must carry every one)."""

    # Strict: "?enabled=maybe" or "?type=unknown" is a 400, not a silently ignored filter or an empty
    # list; so is an id no column can hold.
    enabled = StrictBooleanFilter()
    type = ChoiceFilter(choices=_job_types, noun="job type", plural="types")
    ownerId = IntegerFilter(field_name="owner_id")
    tag = django_filters.CharFilter(method="filter_tag")
    intervalType = ChoiceFilter(
        field_name="interval_type", choices=IntervalType.choices, noun="interval type", plural="types"
    )

    class Meta:
        model = Job
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Job], name: str, value: str) -> QuerySet[Job]:
        # GET is DRF's query_params (its Request hands attributes to Django's), and the stubs know it.
        for tag in self.request.GET.getlist("tag") if self.request else [value]:
            queryset = queryset.filter(pk__in=JobTag.objects.filter(name=tag).values("job_id"))
        return queryset
