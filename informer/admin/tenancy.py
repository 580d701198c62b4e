"""What every admin shares: a staff user sees and touches only their own tenant unless they are a superuser.

``TenantScopedAdminMixin`` filters the list, the objects a URL can reach, the choices of every foreign key and
many-to-many field, and the list filters; it keeps the tenant field read-only and fills it in on add.
``SuperuserOnlyAdminMixin`` is for what is installation-wide (workers, the task queue, plain groups).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import ForeignKey, ManyToManyField, Model, QuerySet
from django.forms import ModelChoiceField, ModelMultipleChoiceField
from django.http import HttpRequest

from informer.auth import request_user
from informer.models import Tenant

_RowT = TypeVar("_RowT", bound=Model)


def tenant_of(obj: Model, lookup: str) -> int | None:
    """The tenant id of ``obj`` by following ``lookup`` (``tenant_id``, ``job__tenant_id``, ``pk``)."""
    value: Any = obj
    for part in lookup.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def tenant_choices(model: type[Model], queryset: QuerySet, user: Any) -> QuerySet:
    """``queryset`` of ``model`` cut to what belongs to ``user``'s tenant (unchanged for a superuser)."""
    if user.is_superuser:
        return queryset
    if issubclass(model, Tenant):
        return queryset.filter(pk=user.tenant_id)
    if model is Group:
        # Teams are groups with a tenant; a plain group belongs to no tenant and is the installation's.
        return queryset.filter(team__tenant_id=user.tenant_id)
    if any(field.name == "tenant" for field in model._meta.get_fields()):
        return queryset.filter(tenant_id=user.tenant_id)
    return queryset


class TenantScopedAdminMixin:
    """A model admin that shows and accepts only the staff user's own tenant, unless they are a superuser.

    ``tenant_lookup`` leads from the model to its tenant's id (``tenant_id``, ``job__tenant_id``; ``pk`` for
    tenants themselves). Related choices are cut by ``related_choices``, which an admin overrides when the
    tenant is not enough (jobs are also limited by object permission).
    """

    tenant_lookup: str = "tenant_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        objects = super().get_queryset(request)  # type: ignore[misc]
        if request.user.is_superuser:
            return objects
        return objects.filter(**{self.tenant_lookup: request_user(request).tenant_id})

    def in_tenant(self, request: HttpRequest, obj: Model | None) -> bool:
        """Whether ``obj`` (if any) belongs to the staff user's tenant."""
        if obj is None or request.user.is_superuser or obj._state.adding:
            return True
        return tenant_of(obj, self.tenant_lookup) == request_user(request).tenant_id

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.in_tenant(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.in_tenant(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_tenant(request, obj)  # type: ignore[misc]

    def related_choices(self, request: HttpRequest, model: type[Model], queryset: QuerySet) -> QuerySet:
        """The objects of ``model`` a foreign key or many-to-many field of this admin may point to."""
        return tenant_choices(model, queryset, request.user)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and hasattr(field, "queryset"):
            field.queryset = self.related_choices(request, db_field.related_model, field.queryset)
        return field

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelMultipleChoiceField[Any] | None:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and hasattr(field, "queryset"):
            field.queryset = self.related_choices(request, db_field.related_model, field.queryset)
        return field

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not request.user.is_superuser and self._has_tenant_field() and "tenant" not in fields:
            fields.append("tenant")
        return fields

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        if request.user.is_superuser:
            return columns
        # The same tenant on every row: a column the list has no room for.
        return [column for column in columns if column != "tenant"]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        if request.user.is_superuser:
            return filters
        # A tenant filter would list every tenant's name, and there is only one to choose from anyway.
        return [item for item in filters if item != "tenant"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and not request.user.is_superuser and self._has_tenant_field():
            obj.tenant_id = request_user(request).tenant_id
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def each_permitted(
        self, request: HttpRequest, queryset: QuerySet[_RowT], has_permission: Callable[[HttpRequest, Any], bool]
    ) -> list[_RowT]:
        """The selected objects, all of them permitted, or ``PermissionDenied`` and nothing done.

        Django's bulk actions check the model permission only; a selection (which a POST can name freely)
        is checked object by object.
        """
        objects = list(queryset)
        if not all(has_permission(request, obj) for obj in objects):
            raise PermissionDenied
        return objects

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.each_permitted(request, queryset, self.has_delete_permission)
        super().delete_queryset(request, queryset)  # type: ignore[misc]

    def _has_tenant_field(self) -> bool:
        model = self.model  # type: ignore[attr-defined]
        return any(field.name == "tenant" for field in model._meta.concrete_fields)


class SuperuserOnlyAdminMixin:
    """An installation-wide model: only superusers see it in the admin at all."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser and super().has_view_permission(request, obj)  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_active and request.user.is_superuser and super().has_add_permission(request, *args)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return (
            request.user.is_active and request.user.is_superuser and super().has_change_permission(request, obj)  # type: ignore[misc]
        )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return (
            request.user.is_active and request.user.is_superuser and super().has_delete_permission(request, obj)  # type: ignore[misc]
        )


class ViewOnlyAdminMixin:
    """A record nobody edits by hand (results, history): its page shows it, with no Save button."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def restrict_to_superusers(model: type[Model], site: admin.AdminSite = admin.site, *, view_only: bool = False) -> None:
    """Re-register the admin another app made for ``model`` so that only superusers reach it (only to view it)."""
    current = site._registry.get(model)
    if current is None:
        return
    mixins = (ViewOnlyAdminMixin, SuperuserOnlyAdminMixin) if view_only else (SuperuserOnlyAdminMixin,)
    restricted = type(type(current).__name__, (*mixins, type(current)), {})
    site.unregister(model)
    site.register(model, restricted)
