"""What the job, action and run admins share: object permissions, credentials kept masked, writes of inline rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from informer import redaction
from informer.admin.forms import ServiceFormMixin, adopt
from informer.auth import request_user
from jobs import selectors
from jobs.models import Job


def job_codenames(request: HttpRequest, job: Job) -> set[str]:
    """The staff user's permissions on ``job`` (a draft's are its original's), read once per request."""
    user = request_user(request)
    target = job.permission_target
    cache: dict[Any, set[str]] = request.__dict__.setdefault("_admin_job_permissions", {})
    if target.pk not in cache:
        if user.is_superuser:
            cache[target.pk] = set(selectors.ALL_JOB_PERMISSIONS)
        elif target.tenant_id != user.tenant_id:
            cache[target.pk] = set()
        else:
            cache[target.pk] = set(selectors.job_permissions_for_user(user, [target.pk]).get(target.pk, set()))
    return cache[target.pk]


def visible_jobs(request: HttpRequest, permission: str = "view_job") -> QuerySet[Job]:
    """The jobs (their drafts included) on which the staff user holds ``permission``."""
    scope = selectors.job_scope_for_user(request.user)
    if request.user.is_superuser:
        return scope
    permitted = selectors.job_ids_for_user(request.user, permission=permission)
    return scope.filter(Q(pk__in=permitted) | Q(editing_of__in=permitted))


class JobPermissionMixin:
    """Django's model permission first, then the object permission on the job the object belongs to.

    ``job_permissions`` maps the admin's verbs to the job permission each needs (as the API's views map
    their actions); ``job_of`` finds the job of an object (for an inline: of its parent).
    """

    job_permissions: dict[str, str] = {
        "view": "view_job",
        "add": "change_job",
        "change": "change_job",
        "delete": "change_job",
    }

    def job_of(self, obj: Any) -> Job | None:
        return obj.job

    def job_allows(self, request: HttpRequest, obj: Model | None, verb: str) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        job = self.job_of(obj)
        if job is None or job._state.adding:
            return True  # a job being added is the staff user's own
        return self.job_permission(job, verb) in job_codenames(request, job)

    def job_permission(self, job: Job, verb: str) -> str:
        return self.job_permissions[verb]

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.job_allows(request, obj, "view")  # type: ignore[misc]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # A model admin is asked (request), an inline (request, parent object).
        parent = args[0] if args else None
        return super().has_add_permission(request, *args) and self.job_allows(request, parent, "add")  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.job_allows(request, obj, "change")  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.job_allows(request, obj, "delete")  # type: ignore[misc]


def _masked_names(names: Any) -> list[Any]:
    """Field names (nested lines included) with ``data`` shown as ``masked_data`` in its place."""
    swapped: list[Any] = []
    for name in names:
        if isinstance(name, list | tuple):
            swapped.append(type(name)(_masked_names(name)))
        elif name == "data":
            swapped.append("masked_data")
        elif name != "masked_data":  # Django lists read-only fields after the form's: keep the one in data's place
            swapped.append(name)
    return swapped


class MaskedDataMixin:
    """On a page the staff user may only view, ``data`` shows header values and URL credentials masked.

    They are write-only to whoever lacks ``job:edit``, as in the API (``informer.redaction``). A read-only page
    shows every field as stored, so ``data`` is swapped for ``masked_data`` there; an editable page shows it
    as it is to someone who holds ``job:edit`` (and could read it through the API). ``obj`` is the page's
    object for a model admin and the parent object for an inline, as Django's admin passes them.
    """

    def masks_data(self, request: HttpRequest, obj: Model | None) -> bool:
        """Whether this page is read-only for the staff user, so ``data`` is shown masked."""
        if obj is None or obj._state.adding:
            return False
        return not self.has_change_permission(request, obj)  # type: ignore[attr-defined]

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if not self.masks_data(request, obj):
            return fieldsets
        return [(title, {**options, "fields": _masked_names(options["fields"])}) for title, options in fieldsets]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if self.masks_data(request, obj) and "masked_data" not in fields:
            fields.append("masked_data")  # not a model field: the form must leave it to the page
        return fields

    @admin.display(description="Data")
    def masked_data(self, obj: Model) -> str:
        """``data`` with header values and URL credentials masked, as JSON."""
        return json.dumps(redaction.mask_data(obj.data), ensure_ascii=False)  # type: ignore[attr-defined]


_RowT = TypeVar("_RowT", bound=Model)


def _fresh(obj: _RowT) -> _RowT:
    """``obj`` as stored: the admin's form has already written the new values onto its instance."""
    return type(obj)._default_manager.get(pk=obj.pk)


def save_inline(
    formset: BaseInlineFormSet,
    *,
    create: Callable[[dict[str, Any]], _RowT],
    update: Callable[[_RowT, dict[str, Any]], _RowT],
    delete: Callable[[_RowT], None],
) -> None:
    """Save an inline formset through services, keeping what Django's admin logs about it."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    deleted = [form for form in formset.deleted_forms if not form.instance._state.adding]
    for form in deleted:
        stored = _fresh(form.instance)
        delete(stored)
        formset.deleted_objects.append(stored)
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        # The inlines that save through services build their forms from ServiceFormMixin.
        service_fields = cast(ServiceFormMixin, form).service_fields
        if form.instance._state.adding:
            saved = create(service_fields)
            adopt(form.instance, saved)
            formset.new_objects.append(form.instance)
        else:
            saved = update(_fresh(form.instance), service_fields)
            adopt(form.instance, saved)
            formset.changed_objects.append((form.instance, form.changed_data))
