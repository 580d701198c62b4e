"""Snapshots (read-only, deleted through the service, "Restore") and generations (read-only, never touched).

Both are seen by whoever may see their dataset. A snapshot is taken from its dataset's page ("Snapshot"),
never added here; deleting one needs ``change_dataset`` and restoring it ``refresh_dataset``, as in the API.
Generations are the refresh machinery's own rows: listed to see what is stored, not edited nor deleted.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse

from datasets.admin.access import ObjectPermissionMixin, dataset_codenames, posted_only, visible_datasets
from datasets.models import Dataset, Generation, Snapshot
from datasets.services import snapshots as snapshot_services
from informer.admin.display import EMPTY, admin_time, admin_time_cell
from informer.admin.tenancy import TenantScopedAdminMixin
from informer.api.exceptions import DomainError


@admin.register(Snapshot)
class SnapshotAdmin(ObjectPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_lookup = "dataset__tenant_id"
    object_permissions = {"view": "view_dataset", "delete": "change_dataset"}
    change_form_template = "admin/datasets/snapshot/change_form.html"
    list_display = ["title", "dataset", "trigger", "records", "shown_size", "created"]
    # Only the datasets the list holds: a plain filter would name every tenant's datasets.
    list_filter = ["trigger", ("dataset", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["dataset", "generation"]
    search_fields = ["name", "note", "dataset__name"]
    fields = readonly_fields = (
        "id",
        "dataset",
        "name",
        "note",
        "trigger",
        "records",
        "shown_size",
        "job_id",
        "run_id",
        "created_by",
        "created",
    )

    def permission_target(self, obj: Snapshot) -> Dataset:
        return obj.dataset

    def get_queryset(self, request: HttpRequest) -> QuerySet[Snapshot]:
        return (
            super()
            .get_queryset(request)
            .filter(dataset__in=visible_datasets(request).values("pk"))
            .select_related("dataset", "generation", "created_by")
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # taken from the dataset's page

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a pin on rows as they were: nothing to edit, and no Save button

    def has_restore_permission(self, request: HttpRequest, obj: Snapshot | None = None) -> bool:
        """The model's refresh permission, then ``refresh_dataset`` on the snapshot's dataset (as ``…/_restore``)."""
        if not request.user.has_perm("datasets.refresh_dataset"):
            return False
        return obj is None or "refresh_dataset" in dataset_codenames(request, obj.dataset)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Snapshot | None = None,
    ) -> HttpResponse:
        if obj is not None and self.has_restore_permission(request, obj):
            context["restore_url"] = reverse("admin:datasets_snapshot_restore", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[Any]:
        restore = path(
            "<path:object_id>/restore/", self.admin_site.admin_view(self.restore_view), name="datasets_snapshot_restore"
        )
        return [restore, *super().get_urls()]

    def restore_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The "Restore" button: the snapshot's rows become the dataset's current rows again."""
        refused = posted_only(request)
        if refused:
            return refused
        snapshot = self.get_object(request, unquote(object_id))
        if snapshot is None or not self.has_view_permission(request, snapshot):
            raise Http404
        if not self.has_restore_permission(request, snapshot):
            raise PermissionDenied
        try:
            dataset = snapshot_services.snapshot_restore(snapshot=snapshot)
        except DomainError as error:  # refreshing now (409)
            self.message_user(request, f"Not restored: {error.message}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:datasets_snapshot_change", args=[snapshot.pk]))
        self.message_user(
            request, f"Restored '{dataset.name}' to {snapshot}: {dataset.records:,} records.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:datasets_dataset_change", args=[dataset.pk]))

    def delete_model(self, request: HttpRequest, obj: Snapshot) -> None:
        snapshot_services.snapshot_delete(snapshot=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Snapshot]) -> None:
        for snapshot in self.each_permitted(request, queryset, self.has_delete_permission):
            snapshot_services.snapshot_delete(snapshot=snapshot)

    @admin.display(description="Snapshot")
    def title(self, snapshot: Snapshot) -> str:
        return snapshot.name or f"at {admin_time(snapshot.created_at)}"

    @admin.display(description="Records")
    def records(self, snapshot: Snapshot) -> str:
        return f"{snapshot.generation.records:,}"

    @admin.display(description="Size")
    def shown_size(self, snapshot: Snapshot) -> str:
        return str(filesizeformat(snapshot.generation.size))

    @admin.display(description="Created", ordering="created_at")
    def created(self, snapshot: Snapshot) -> str:
        return admin_time_cell(snapshot.created_at)


@admin.register(Generation)
class GenerationAdmin(ObjectPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_lookup = "dataset__tenant_id"
    object_permissions = {"view": "view_dataset"}
    list_display = ["id", "dataset", "status", "records", "shown_size", "truncated", "started", "completed"]
    list_filter = ["status", "truncated"]
    list_select_related = ["dataset"]
    search_fields = ["dataset__name"]
    fields = readonly_fields = (
        "id",
        "dataset",
        "status",
        "records",
        "shown_size",
        "truncated",
        "field_names",
        "params",
        "started",
        "completed",
    )

    def permission_target(self, obj: Generation) -> Dataset:
        return obj.dataset

    def get_queryset(self, request: HttpRequest) -> QuerySet[Generation]:
        return super().get_queryset(request).filter(dataset__in=visible_datasets(request).values("pk"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Rows go when nothing points at them any more (the refresh and snapshot services collect them).
        return False

    @admin.display(description="Size", ordering="size")
    def shown_size(self, generation: Generation) -> str:
        return str(filesizeformat(generation.size))

    @admin.display(description="Fields")
    def field_names(self, generation: Generation) -> str:
        return ", ".join(str(field.get("name", "")) for field in generation.fields) or EMPTY

    @admin.display(description="Started", ordering="started_at")
    def started(self, generation: Generation) -> str:
        return admin_time_cell(generation.started_at)

    @admin.display(description="Completed", ordering="completed_at")
    def completed(self, generation: Generation) -> str:
        return admin_time_cell(generation.completed_at)
