"""The datasource admin: its password write-only, every save through the API's service.

The password box is never filled in (the stored password is never sent to a browser); left blank it keeps
the stored password, "Clear password" removes it. Saving calls ``datasource_create`` / ``datasource_update``,
so the connector's safety checks (the SQLite root, the address guard, the service's own database) refuse
here exactly as in the API, their message on the field they name.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from datasets.admin.access import ObjectPermissionMixin, visible_datasources
from datasets.admin.forms import DatasourceForm
from datasets.models import Datasource
from datasets.services import datasources as datasource_services
from informer.admin.display import admin_time_cell
from informer.admin.forms import ServiceAdminMixin, adopt
from informer.admin.tenancy import TenantScopedAdminMixin
from informer.auth import request_user


@admin.register(Datasource)
class DatasourceAdmin(ServiceAdminMixin, ObjectPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    form = DatasourceForm
    object_permissions = {"view": "view_datasource", "change": "change_datasource", "delete": "delete_datasource"}
    list_display = ["name", "type", "location", "owner", "tenant", "password_state", "updated"]
    list_filter = ["type", "tenant"]
    list_select_related = ["tenant", "owner"]
    search_fields = ["name", "slug", "description", "host", "database"]
    readonly_fields = ["id", "natural_id", "tenant", "owner", "password_state", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "natural_id", "tenant", "owner", "name", "slug", "description", "type"]}),
        (
            "Connection",
            {"fields": ["host", "port", "database", "username", "password_state", "password", "clear_password"]},
        ),
        ("Options", {"fields": ["options"]}),
        ("State", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Datasource]:
        return visible_datasources(request)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self.has_change_permission(request, obj):
            return fieldsets
        # A read-only page shows whether there is a password, not boxes to change it; an add page has none.
        hidden = {"password", "clear_password"} if obj is not None else {"clear_password", "password_state"}
        return [
            (title, {**options, "fields": [name for name in options["fields"] if name not in hidden]})
            for title, options in fieldsets
        ]

    def save_model(self, request: HttpRequest, obj: Datasource, form: DatasourceForm, change: bool) -> None:
        data = form.service_data()
        if change:
            stored = Datasource.objects.select_for_update().get(pk=obj.pk)
            datasource = datasource_services.datasource_update(datasource=stored, data=data)
        else:
            datasource = datasource_services.datasource_create(user=request_user(request), data=data)
        adopt(obj, datasource)

    def delete_model(self, request: HttpRequest, obj: Datasource) -> None:
        datasource_services.datasource_delete(datasource=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Datasource]) -> None:
        for datasource in self.each_permitted(request, queryset, self.has_delete_permission):
            datasource_services.datasource_delete(datasource=datasource)

    @admin.display(description="Natural id")
    def natural_id(self, datasource: Datasource) -> str:
        return "-" if datasource._state.adding else datasource.natural_id

    @admin.display(description="Where")
    def location(self, datasource: Datasource) -> str:
        """``host:port/database`` for a server, the file for SQLite."""
        if not datasource.host:
            return datasource.database or "-"
        port = f":{datasource.port}" if datasource.port else ""
        return f"{datasource.host}{port}/{datasource.database}"

    @admin.display(description="Password")
    def password_state(self, datasource: Datasource) -> str:
        # Whether one is stored, never what it is.
        return "set" if datasource.has_password else "none"

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, datasource: Datasource) -> str:
        return admin_time_cell(datasource.updated_at)
