"""The dataset admin's "Refresh now" and "Snapshot": buttons on a dataset's page and actions on the list.

A refresh runs inline, in the admin's request, and the page then says how it went (records, the count
before, the time it took, fields added and changed, truncated or not; or the source's error). There is
nothing to queue it on from here: datasets sit below jobs and runs and import neither, and a job of type
``dataset-refresh`` is the way to refresh a large dataset away from the browser. A snapshot is O(1).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from datasets.admin.access import may_refresh, may_snapshot, posted_only
from datasets.connectors.base import ConnectorError
from datasets.models import Dataset, Snapshot
from datasets.services import refresh as refresh_services
from datasets.services import snapshots as snapshot_services
from informer.admin.display import admin_duration
from informer.api.exceptions import DomainError
from informer.auth import request_user


def refresh_message(dataset: Dataset, result: refresh_services.RefreshResult) -> str:
    """What a refresh did, in one sentence: ``Refreshed 'Sales': 1,204 records (1,180 before) in 0.8 s.``."""
    text = (
        f"Refreshed '{dataset.name}': {result.records:,} records ({result.previous_record_count:,} before) "
        f"in {admin_duration(result.duration / 1000)}."
    )
    if result.fields_added:
        text += f" Fields added: {', '.join(result.fields_added)}."
    if result.fields_updated:
        text += f" Fields changed: {', '.join(result.fields_updated)}."
    if result.truncated:
        text += " Truncated: the row or byte cap was reached, only the rows that fit are stored."
    return text


def snapshot_link(snapshot: Snapshot) -> str:
    """A link to the snapshot's page, named as ``str(Snapshot)`` names it."""
    return format_html('<a href="{}">{}</a>', reverse("admin:datasets_snapshot_change", args=[snapshot.pk]), snapshot)


class DatasetButtonsMixin:
    """For the dataset admin: "Refresh now" and "Snapshot" on the page (POSTs) and as list actions."""

    actions: Any = ["refresh_now", "snapshot"]

    def has_refresh_permission(self, request: HttpRequest, obj: Dataset | None = None) -> bool:
        """The model's refresh permission, then ``refresh_dataset`` on the dataset."""
        if obj is None:
            return request.user.has_perm("datasets.refresh_dataset")
        return may_refresh(request, obj)

    def has_snapshot_permission(self, request: HttpRequest, obj: Dataset | None = None) -> bool:
        """Adding snapshots, then ``refresh_dataset`` on the dataset (as ``POST …/snapshots``)."""
        if obj is None:
            return request.user.has_perm("datasets.add_snapshot")
        return may_snapshot(request, obj)

    def get_urls(self) -> list[Any]:
        site = self.admin_site  # type: ignore[attr-defined]
        buttons = [
            path("<path:object_id>/refresh/", site.admin_view(self.refresh_view), name="datasets_dataset_refresh"),
            path("<path:object_id>/snapshot/", site.admin_view(self.snapshot_view), name="datasets_dataset_snapshot"),
        ]
        return [*buttons, *super().get_urls()]  # type: ignore[misc]

    def _posted_dataset(self, request: HttpRequest, object_id: str) -> Dataset:
        dataset = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if dataset is None or not self.has_view_permission(request, dataset):  # type: ignore[attr-defined]
            raise Http404
        return dataset

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Refresh now" button: refresh here and now, then show the page with what it did."""
        refused = posted_only(request)
        if refused:
            return refused
        dataset = self._posted_dataset(request, object_id)
        if not self.has_refresh_permission(request, dataset):
            raise PermissionDenied
        self._refresh(request, dataset)
        return HttpResponseRedirect(reverse("admin:datasets_dataset_change", args=[dataset.pk]))

    def snapshot_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Snapshot" button: pin the current rows as a manual snapshot."""
        refused = posted_only(request)
        if refused:
            return refused
        dataset = self._posted_dataset(request, object_id)
        if not self.has_snapshot_permission(request, dataset):
            raise PermissionDenied
        self._snapshot(request, dataset)
        return HttpResponseRedirect(reverse("admin:datasets_dataset_change", args=[dataset.pk]))

    def _refresh(self, request: HttpRequest, dataset: Dataset) -> bool:
        """Refresh ``dataset`` with its parameters' defaults and say how it went; whether it succeeded."""
        try:
            result = refresh_services.dataset_refresh(dataset=dataset)
        except (DomainError, ConnectorError) as error:  # refreshing already, a parameter, the source's refusal
            self.message_user(request, f"'{dataset.name}' was not refreshed: {error.message}", messages.ERROR)  # type: ignore[attr-defined]
            return False
        level = messages.WARNING if result.truncated else messages.SUCCESS
        self.message_user(request, refresh_message(dataset, result), level)  # type: ignore[attr-defined]
        return True

    def _snapshot(self, request: HttpRequest, dataset: Dataset) -> bool:
        """Take a manual snapshot of ``dataset`` and link to it; whether one was taken."""
        try:
            snapshot = snapshot_services.snapshot_create(dataset=dataset, trigger="manual", user=request_user(request))
        except DomainError as error:  # never refreshed: nothing to pin
            self.message_user(request, f"No snapshot of '{dataset.name}': {error.message}", messages.ERROR)  # type: ignore[attr-defined]
            return False
        self.message_user(request, format_html("Took {}.", snapshot_link(snapshot)), messages.SUCCESS)  # type: ignore[attr-defined]
        return True

    def _permitted(self, request: HttpRequest, queryset: QuerySet[Dataset], check: Any) -> list[Dataset]:
        return self.each_permitted(request, queryset.select_related("tenant"), check)  # type: ignore[attr-defined]

    @admin.action(description="Refresh the selected datasets now", permissions=["refresh"])
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        # One after the other, each with its own message: one source failing does not stop the others.
        for dataset in self._permitted(request, queryset, self.has_refresh_permission):
            self._refresh(request, dataset)

    @admin.action(description="Snapshot the selected datasets", permissions=["snapshot"])
    def snapshot(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in self._permitted(request, queryset, self.has_snapshot_permission):
            self._snapshot(request, dataset)
