"""Admin for tenants, users, teams and API tokens, each limited to the staff user's tenant.

A staff user who is not a superuser can never hand out more than they hold: not ``is_superuser``, not another
tenant, not a permission they lack (directly or through a team), and they cannot change an account that holds
more than they do (its password page included). A token is made for oneself; only a superuser makes one for
someone else.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from informer import services
from informer.admin.tenancy import TenantScopedAdminMixin, restrict_to_superusers
from informer.auth import request_user
from informer.models import ApiToken, Team, Tenant, User


def held_permission_ids(user: Any) -> set[int]:
    """Ids of every permission ``user`` holds, directly or through a group (all of them for a superuser)."""
    permissions = Permission.objects.select_related("content_type")
    if user.is_superuser:
        return set(permissions.values_list("pk", flat=True))
    held = user.get_all_permissions()
    return {perm.pk for perm in permissions if f"{perm.content_type.app_label}.{perm.codename}" in held}


def grantable_teams(user: Any, teams: QuerySet[Group]) -> QuerySet[Group]:
    """The ``teams`` whose every permission ``user`` holds: joining one must not give more than they have."""
    if user.is_superuser:
        return teams
    return teams.exclude(permissions__in=Permission.objects.exclude(pk__in=held_permission_ids(user))).distinct()


class GrantLimitMixin:
    """Permissions offered by a form are the editor's own; teams offered are those within the editor's rights."""

    def related_choices(self, request: HttpRequest, model: type[Model], queryset: QuerySet) -> QuerySet:
        queryset = super().related_choices(request, model, queryset)  # type: ignore[misc]
        if request.user.is_superuser:
            return queryset
        if model is Permission:
            return queryset.filter(pk__in=held_permission_ids(request.user))
        if model is Group:
            return grantable_teams(request.user, queryset)
        return queryset


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Superusers manage every tenant; a tenant's staff see and edit their own, within the installation's limits."""

    tenant_lookup = "pk"
    list_display = ["slug", "name", "timezone", "max_concurrent_jobs", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # The slug is in every natural id; the concurrency limit is the installation's to give.
            fields += ["slug", "max_concurrent_jobs"]
        return fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: Model | None = None) -> dict[str, Any]:
        return super().get_prepopulated_fields(request, obj) if request.user.is_superuser else {}


@admin.register(User)
class InformerUserAdmin(GrantLimitMixin, TenantScopedAdminMixin, UserAdmin):
    list_display = ["username", "email", "tenant", "is_staff", "is_superuser", "is_active"]
    list_filter = ["tenant", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["tenant"]
    fieldsets = [*(UserAdmin.fieldsets or ()), ("Tenant", {"fields": ["tenant"]})]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "tenant", "password1", "password2"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None and not request.user.is_superuser:
            # A new user of a staff member's belongs to the staff member's tenant: nothing to choose.
            return [
                (name, {**options, "fields": [field for field in options["fields"] if field != "tenant"]})
                for name, options in fieldsets
            ]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser and obj is not None:
            fields.append("is_superuser")
        return fields

    def manageable(self, request: HttpRequest, target: User) -> bool:
        """Whether the editor may change ``target``: never an account holding what the editor does not."""
        editor = request_user(request)
        if editor.is_superuser:
            return True
        if target.is_superuser:
            return False
        # Read from the tables, not get_all_permissions(): that is empty for an inactive account, which the
        # form could then reactivate with a new password.
        held = Permission.objects.filter(Q(user=target) | Q(group__user=target))
        if held.exclude(pk__in=held_permission_ids(editor)).exists():
            return False
        teams = grantable_teams(editor, Group.objects.filter(team__tenant_id=editor.tenant_id))
        return not target.groups.exclude(pk__in=teams.values("pk")).exists()

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.manageable(request, obj))  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.manageable(request, obj))  # type: ignore[arg-type]


@admin.register(Team)
# GroupAdmin's stub lets formfield_for_manytomany go without a request, which the tenant scope needs; Django's
# admin always passes one.
class TeamAdmin(GrantLimitMixin, TenantScopedAdminMixin, GroupAdmin):  # type: ignore[misc]
    list_display = ["local_name", "display_name", "tenant"]
    list_filter = ["tenant"]
    fields = ["local_name", "display_name", "tenant", "permissions"]

    def get_form(self, request: HttpRequest, obj: Group | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None or request.user.is_superuser:
            return form
        tenant_id = request_user(request).tenant_id

        class InTenant(form):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, **form_kwargs)
                # The new team is the staff user's tenant's: known before validation, its name is checked there.
                self.instance.tenant_id = tenant_id

        return InTenant

    def manageable(self, request: HttpRequest, team: Team) -> bool:
        """A team is changed only by someone holding all its permissions (the form could not show the rest)."""
        if request.user.is_superuser:
            return True
        held = held_permission_ids(request.user)
        return not team.permissions.exclude(pk__in=held).exists()

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.manageable(request, obj))  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or self.manageable(request, obj))  # type: ignore[arg-type]


@admin.register(ApiToken)
class ApiTokenAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Tokens of the tenant; one's own are changed and revoked, and a new one is always for oneself."""

    tenant_lookup = "user__tenant_id"
    list_display = ["key_hint", "name", "user", "created_at", "expires_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "key_hint"]
    readonly_fields = ["key_hint", "created_at", "last_used_at"]
    fields = ["user", "name", "expires_at", "key_hint", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))
        if obj is None and not request.user.is_superuser:
            fields.remove("user")  # the token is the saving user's
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moving a token to another user would let whoever knows its secret act as that user.
            fields.append("user")
        return fields

    def owns(self, request: HttpRequest, token: ApiToken | None) -> bool:
        return token is None or request.user.is_superuser or token.user_id == request.user.pk

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.owns(request, obj)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.owns(request, obj)  # type: ignore[arg-type]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        user = obj.user if request.user.is_superuser else request_user(request)
        token, secret = services.token_create(user=user, name=obj.name)
        if obj.expires_at:  # the admin sets a date, not a number of days
            ApiToken.objects.filter(pk=token.pk).update(expires_at=obj.expires_at)
        obj.pk, obj.user = token.pk, user
        # The only time the secret is ever shown.
        messages.warning(request, f"Copy the new token now, it will not be shown again: {secret}")

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        services.token_revoke(token=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in self.each_permitted(request, queryset, self.has_delete_permission):
            services.token_revoke(token=token)

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        tokens = self.each_permitted(request, queryset, self.has_delete_permission)
        for token in tokens:
            services.token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).")


# Plain groups belong to no tenant (teams are the tenant's groups): only superusers manage them.
restrict_to_superusers(Group)
