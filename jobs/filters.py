"""Field filters for job lists."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from informer.api.filters import IntegerFilter, StrictBooleanFilter
from jobs.models import Job, JobTag


class JobFilter(django_filters.FilterSet):
    """``?enabled=&type=&ownerId=&tag=`` (``tag`` may repeat: a job must carry every one)."""

    # Strict: "?enabled=maybe" is a 400, not a silently ignored filter; so is an id no column can hold.
    enabled = StrictBooleanFilter()
    type = django_filters.CharFilter()
    ownerId = IntegerFilter(field_name="owner_id")
    tag = django_filters.CharFilter(method="filter_tag")
    intervalType = django_filters.CharFilter(field_name="interval_type")

    class Meta:
        model = Job
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Job], name: str, value: str) -> QuerySet[Job]:
        # GET is DRF's query_params (its Request hands attributes to Django's), and the stubs know it.
        for tag in self.request.GET.getlist("tag") if self.request else [value]:
            queryset = queryset.filter(pk__in=JobTag.objects.filter(name=tag).values("job_id"))
        return queryset
