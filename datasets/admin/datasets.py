"""The dataset admin: its definition saved through the API's services, its stored result shown read-only.

A dataset's page shows its inferred fields, records, size, whether the last refresh was truncated, when the
rows were last updated (with seconds and zone) and whether a refresh is going; "Refresh now" and
"Snapshot" are on the page and in the list's actions (``datasets.admin.refreshes``). The datasource box
offers only the datasources of the dataset's tenant the staff user may use (``view_datasource``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from datasets.admin.access import ObjectPermissionMixin, visible_datasets, visible_datasources
from datasets.admin.forms import DatasetForm
from datasets.admin.refreshes import DatasetButtonsMixin
from datasets.models import Dataset, Datasource
from datasets.services import datasets as dataset_services
from informer.admin.display import EMPTY, admin_duration, admin_time, admin_time_cell
from informer.admin.forms import ServiceAdminMixin, adopt
from informer.admin.tenancy import TenantScopedAdminMixin
from informer.auth import request_user


@admin.register(Dataset)
class DatasetAdmin(
    DatasetButtonsMixin, ServiceAdminMixin, ObjectPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin
):
    form = DatasetForm
    object_permissions = {"view": "view_dataset", "change": "change_dataset", "delete": "delete_dataset"}
    change_form_template = "admin/datasets/dataset/change_form.html"
    list_display = ["name", "datasource", "owner", "tenant", "records", "shown_size", "last_refresh", "state"]
    list_filter = ["truncated", "datasource__type", "tenant"]
    list_select_related = ["tenant", "owner", "datasource"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = [
        "id",
        "natural_id",
        "tenant",
        "owner",
        "shown_fields",
        "records",
        "shown_size",
        "truncated",
        "refreshed_at",
        "last_duration",
        "refreshing",
        "current_generation",
        "snapshot_list",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "natural_id", "tenant", "owner", "name", "slug", "description"]}),
        ("Query", {"fields": ["datasource", "query", "params"]}),
        (
            "Stored rows",
            {
                "fields": [
                    "shown_fields",
                    "records",
                    "shown_size",
                    "truncated",
                    "refreshed_at",
                    "last_duration",
                    "refreshing",
                    "current_generation",
                    "snapshot_list",
                ]
            },
        ),
        ("State", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return visible_datasets(request).select_related("datasource")

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> type:
        # The tenant whose datasources the form offers: the dataset's, or the staff user's for a new one.
        tenant_id = obj.tenant_id if isinstance(obj, Dataset) else request_user(request).tenant_id
        request._admin_dataset_tenant_id = tenant_id  # type: ignore[attr-defined]
        return super().get_form(request, obj, change, **kwargs)

    def related_choices(self, request: HttpRequest, model: type[Model], queryset: QuerySet) -> QuerySet:
        if model is Datasource:
            # The datasources of the dataset's tenant the staff user may use: the service accepts no others,
            # a superuser's neither (a dataset never reads another tenant's source).
            tenant_id = getattr(request, "_admin_dataset_tenant_id", request_user(request).tenant_id)
            usable = visible_datasources(request).filter(tenant_id=tenant_id)
            return queryset.filter(pk__in=usable.values("pk"))
        return super().related_choices(request, model, queryset)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Dataset | None = None,
    ) -> HttpResponse:
        if obj is not None:
            if self.has_refresh_permission(request, obj):
                context["refresh_url"] = reverse("admin:datasets_dataset_refresh", args=[obj.pk])
            if self.has_snapshot_permission(request, obj):
                context["snapshot_url"] = reverse("admin:datasets_dataset_snapshot", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: Dataset, form: DatasetForm, change: bool) -> None:
        data = form.service_data()
        user = request_user(request)
        if change:
            stored = Dataset.objects.select_for_update().select_related("datasource").get(pk=obj.pk)
            dataset = dataset_services.dataset_update(dataset=stored, user=user, data=data)
        else:
            dataset = dataset_services.dataset_create(user=user, data=data)
        adopt(obj, dataset)

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        dataset_services.dataset_delete(dataset=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in self.each_permitted(request, queryset, self.has_delete_permission):
            dataset_services.dataset_delete(dataset=dataset)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """What deleting goes with: the datasets and their snapshots; jobs using one keep it (as the 409).

        Django's collector would call a snapshot "protected" (it pins a generation), but ``dataset_delete``
        removes the snapshots first; what does protect a dataset is a job that uses it.
        """
        datasets = list(objs)
        shown: list[Any] = []
        snapshots = 0
        protected: list[Any] = []
        for dataset in datasets:
            taken = list(dataset.snapshots.all()[:50])
            snapshots += dataset.snapshots.count()
            shown.append(format_html("Dataset: {}", dataset))
            if taken:
                shown.append([format_html("Snapshot: {}", snapshot) for snapshot in taken])
            protected += [format_html("Job: {}", link.job) for link in dataset.job_links.select_related("job")]
        counts = {"datasets": len(datasets), "snapshots": snapshots}
        return shown, {name: count for name, count in counts.items() if count}, set(), protected

    @admin.display(description="Natural id")
    def natural_id(self, dataset: Dataset) -> str:
        return EMPTY if dataset._state.adding else dataset.natural_id

    @admin.display(description="Fields")
    def shown_fields(self, dataset: Dataset) -> str:
        """The inferred fields of the stored rows: name, label, type, in order."""
        if not dataset.fields:
            return "None yet: the dataset has not been refreshed."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    field.get("position", ""),
                    field.get("name", ""),
                    field.get("label", ""),
                    field.get("dataType") or EMPTY,
                )
                for field in dataset.fields
            ),
        )
        return format_html(
            '<table class="dataset-fields"><tr><th>#</th><th>Name</th><th>Label</th><th>Type</th></tr>{}</table>', rows
        )

    @admin.display(description="Size", ordering="size")
    def shown_size(self, dataset: Dataset) -> str:
        return str(filesizeformat(dataset.size))

    @admin.display(description="Last refresh", ordering="data_updated_at")
    def last_refresh(self, dataset: Dataset) -> str:
        """When the stored rows were last replaced (``dataUpdatedAt``), with seconds and zone."""
        return admin_time_cell(dataset.data_updated_at) if dataset.data_updated_at else "never"

    @admin.display(description="Last refresh")
    def refreshed_at(self, dataset: Dataset) -> str:
        """``dataUpdatedAt`` on the dataset's page, on one line."""
        return admin_time(dataset.data_updated_at) if dataset.data_updated_at else "never"

    @admin.display(description="Last duration")
    def last_duration(self, dataset: Dataset) -> str:
        millis = dataset.last_duration_millis
        return admin_duration(None if millis is None else millis / 1000)

    @admin.display(description="Refreshing")
    def refreshing(self, dataset: Dataset) -> str:
        if dataset.refresh_started_at is None:
            return "no"
        return f"since {admin_time(dataset.refresh_started_at)}"

    @admin.display(description="State")
    def state(self, dataset: Dataset) -> str:
        """Refreshing, truncated, or nothing to say."""
        if dataset.refresh_started_at is not None:
            return "refreshing"
        return "truncated" if dataset.truncated else EMPTY

    @admin.display(description="Snapshots")
    def snapshot_list(self, dataset: Dataset) -> str:
        if dataset._state.adding:
            return EMPTY
        count = dataset.snapshots.count()
        url = f"{reverse('admin:datasets_snapshot_changelist')}?dataset__id__exact={dataset.pk}"
        return format_html('<a href="{}">{} snapshot(s)</a>', url, count)
