"""What the datasets admins share: object permissions read as the API reads them, and POST-only buttons.

A staff user sees a datasource or dataset of their tenant only when they hold its ``view_*`` permission
(directly or through a team), as ``GET /api/datasets`` lists them; each verb of the admin then needs the
object permission the API's route needs. Superusers see every tenant's and may do everything.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from datasets import selectors
from datasets.models import DATASET_PERMISSIONS, DATASOURCE_PERMISSIONS, Dataset, Datasource
from informer.auth import request_user


def _codenames(request: HttpRequest, target: Dataset | Datasource) -> set[str]:
    """The staff user's permissions on ``target``, read once per request."""
    user = request_user(request)
    kind = type(target).__name__
    cache: dict[Any, set[str]] = request.__dict__.setdefault(f"_admin_{kind}_permissions", {})
    if target.pk not in cache:
        if user.is_superuser:
            every = DATASET_PERMISSIONS if isinstance(target, Dataset) else DATASOURCE_PERMISSIONS
            cache[target.pk] = set(every)
        elif target.tenant_id != user.tenant_id:
            cache[target.pk] = set()
        elif isinstance(target, Dataset):
            cache[target.pk] = set(selectors.dataset_permissions_for_user(user, [target.pk]).get(target.pk, set()))
        else:
            cache[target.pk] = set(selectors.datasource_permissions_for_user(user, [target.pk]).get(target.pk, set()))
    return cache[target.pk]


def dataset_codenames(request: HttpRequest, dataset: Dataset) -> set[str]:
    """The staff user's permissions on ``dataset`` (all of them for a superuser, none in another tenant)."""
    return _codenames(request, dataset)


def datasource_codenames(request: HttpRequest, datasource: Datasource) -> set[str]:
    """The staff user's permissions on ``datasource`` (all of them for a superuser, none in another tenant)."""
    return _codenames(request, datasource)


def visible_datasets(request: HttpRequest, permission: str = "view_dataset") -> QuerySet[Dataset]:
    """The datasets on which the staff user holds ``permission`` (every tenant's for a superuser)."""
    return selectors.dataset_list_for_user(request.user, permission=permission)


def visible_datasources(request: HttpRequest, permission: str = "view_datasource") -> QuerySet[Datasource]:
    """The datasources on which the staff user holds ``permission`` (every tenant's for a superuser)."""
    return selectors.datasource_list_for_user(request.user, permission=permission)


def may_refresh(request: HttpRequest, dataset: Dataset) -> bool:
    """The model's refresh permission, then ``refresh_dataset`` on the dataset (as ``POST …/_refresh``)."""
    return request.user.has_perm("datasets.refresh_dataset") and "refresh_dataset" in dataset_codenames(
        request, dataset
    )


def may_snapshot(request: HttpRequest, dataset: Dataset) -> bool:
    """Adding snapshots (the model permission), then ``refresh_dataset`` on the dataset (as the API's create)."""
    return request.user.has_perm("datasets.add_snapshot") and "refresh_dataset" in dataset_codenames(request, dataset)


def posted_only(request: HttpRequest) -> HttpResponse | None:
    """A 405 unless the request is a POST: the buttons change state, so a link or a reload must not."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


class ObjectPermissionMixin:
    """Django's model permission first, then the object permission the API needs for the same verb.

    ``object_permissions`` maps the admin's verbs (view, change, delete) to a codename on the object's
    dataset or datasource, which ``permission_target`` finds (the object itself, or a snapshot's dataset).
    """

    object_permissions: dict[str, str] = {}

    def permission_target(self, obj: Any) -> Dataset | Datasource | None:
        return obj

    def object_allows(self, request: HttpRequest, obj: Model | None, verb: str) -> bool:
        if obj is None or request.user.is_superuser:
            return True
        target = self.permission_target(obj)
        if target is None or target._state.adding:
            return True  # an object being added is the staff user's own
        codename = self.object_permissions.get(verb)
        return codename is None or codename in _codenames(request, target)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.object_allows(request, obj, "view")  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.object_allows(request, obj, "change")  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.object_allows(request, obj, "delete")  # type: ignore[misc]
