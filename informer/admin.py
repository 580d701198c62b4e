"""Admin for tenants, users, teams and API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from informer import services
from informer.models import ApiToken, Team, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone", "max_concurrent_jobs", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class InformerUserAdmin(UserAdmin):
    list_display = ["username", "email", "tenant", "is_staff", "is_superuser", "is_active"]
    list_filter = ["tenant", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["tenant"]
    fieldsets = [*UserAdmin.fieldsets, ("Tenant", {"fields": ["tenant"]})]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "tenant", "password1", "password2"]}),
    ]


@admin.register(Team)
class TeamAdmin(GroupAdmin):
    list_display = ["name", "display_name", "tenant"]
    list_filter = ["tenant"]
    fields = ["name", "display_name", "tenant", "permissions"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["key_hint", "name", "user", "created_at", "expires_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "key_hint"]
    readonly_fields = ["key_hint", "created_at", "last_used_at"]
    fields = ["user", "name", "expires_at", "key_hint", "created_at", "last_used_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, secret = services.token_create(user=obj.user, name=obj.name)
        if obj.expires_at:  # the admin sets a date, not a number of days
            ApiToken.objects.filter(pk=token.pk).update(expires_at=obj.expires_at)
        obj.pk = token.pk
        # The only time the secret is ever shown.
        messages.warning(request, f"Copy the new token now, it will not be shown again: {secret}")

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.count()
        for token in queryset:
            services.token_revoke(token=token)
        self.message_user(request, f"Revoked {count} token(s).")
