"""Writes to datasets (§8): create, update, delete, copy, and the checks of their declared parameters.

Views validate the body's shape, then call these; the refresh, the run, snapshots and the stored rows are
``datasets.services.refresh``'s and ``datasets.services.snapshots``'.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.dateparse import parse_date, parse_datetime

from datasets import selectors, storage
from datasets.connectors.base import DATA_TYPES
from datasets.models import Dataset, Datasource
from datasets.services.refresh import INTEGER_MAX, INTEGER_MIN
from datasets.services.shares import dataset_grant_owner
from informer.api.exceptions import Conflict, DomainError
from informer.api.serializers import json_type, shown
from informer.models import User
from informer.slugs import save_slugged, slug_taken, unique_slug

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PARAM_NAME_MAX_LENGTH = 64
PARAM_KEYS = ("name", "type", "default", "required")
MAX_PARAMS = 100
# The fields a write may set (the view's serializer maps the API's names to these).
WRITABLE = frozenset({"name", "slug", "description", "query", "params"})


def _param_error(index: int, key: str, message: str) -> DomainError:
    field = f"params[{index}].{key}" if key else f"params[{index}]"
    return DomainError(f"{field}: {message}", field=field)


def _default_error(data_type: str, value: Any) -> str | None:
    """Why ``value`` is not a default of ``data_type``, or None (dates and datetimes are ISO 8601 text)."""
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL's jsonb refuses \u0000 (a DataError, so a 500 if it got that far).
        return "must not contain NUL characters."
    if data_type == "string":
        return None if isinstance(value, str) else f"must be a string, not {json_type(value)} ({shown(value)})."
    if data_type == "integer":
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        ok = whole and not isinstance(value, bool)
        if ok and not INTEGER_MIN <= int(value) <= INTEGER_MAX:
            return f"must be an integer from {INTEGER_MIN} to {INTEGER_MAX}."
        return None if ok else f"must be a whole number, not {json_type(value)} ({shown(value)})."
    if data_type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be a number, not {json_type(value)} ({shown(value)})."
    if data_type == "boolean":
        return None if isinstance(value, bool) else f"must be true or false, not {json_type(value)} ({shown(value)})."
    parse = parse_date if data_type == "date" else parse_datetime
    example = "2024-01-31" if data_type == "date" else "2024-01-31T08:00:00Z"
    try:
        parsed = parse(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None  # well formed but impossible (2024-02-30)
    if parsed is None:
        return f"must be a {data_type} in ISO 8601 (e.g. {example}), not {shown(value)}."
    return None


def params_validate(params: Any) -> list[dict[str, Any]]:
    """The declared parameters ``[{name, type, default, required}]``, checked and completed; DomainError names the item.

    A name is an identifier (``[A-Za-z_][A-Za-z0-9_]*``, the ``:name`` a query uses), unique; a type one of
    ``DATA_TYPES`` (``string`` when left out); a default, when not null, of the declared type; ``required``
    false when left out.
    """
    if params is None:
        return []
    if not isinstance(params, list):
        raise DomainError(f"params must be a list of parameter declarations, not {json_type(params)}.", field="params")
    if len(params) > MAX_PARAMS:
        raise DomainError(f"params may declare at most {MAX_PARAMS} parameters.", field="params")
    declared: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(params):
        if not isinstance(item, dict):
            raise _param_error(
                index, "", f"must be an object {{name, type, default, required}}, not {json_type(item)}."
            )
        unknown = [key for key in item if key not in PARAM_KEYS]
        if unknown:
            known = ", ".join(PARAM_KEYS)
            raise _param_error(index, str(unknown[0]), f"is not a known key; the known keys are: {known}.")
        name = item.get("name")
        if not isinstance(name, str) or not PARAM_NAME.fullmatch(name) or len(name) > PARAM_NAME_MAX_LENGTH:
            raise _param_error(
                index, "name", f"{shown(name)} is not a parameter name (a letter or _, then letters, digits or _)."
            )
        if name in seen:
            raise _param_error(index, "name", f"'{name}' is declared twice.")
        seen.add(name)
        data_type = item.get("type", "string")
        if data_type not in DATA_TYPES:
            known = ", ".join(DATA_TYPES)
            raise _param_error(index, "type", f"{shown(data_type)} is not a type; the types are: {known}.")
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise _param_error(index, "required", f"must be true or false, not {json_type(required)}.")
        default = item.get("default")
        if default is not None:
            error = _default_error(data_type, default)
            if error:
                raise _param_error(index, "default", error)
        declared.append({"name": name, "type": data_type, "default": default, "required": required})
    return declared


def _check_slug_free(*, tenant_id: int, slug: str, exclude_pk: Any = None) -> None:
    if Dataset.objects.filter(tenant_id=tenant_id, slug=slug).exclude(pk=exclude_pk).exists():
        raise slug_taken("dataset", slug)


def datasource_for_user(*, user: User, key: Any, tenant_id: int) -> Datasource:
    """The datasource ``key`` (UUID or natural id) of ``tenant_id`` on which ``user`` holds ``view_datasource``.

    Anything else is the same 400 on ``datasourceId``, whether it exists or not: existence is private. The
    tenant is the dataset's: a dataset never reads another tenant's source, a superuser's neither.
    """
    found = None
    if isinstance(key, str) and key:
        scope = selectors.datasource_list_for_user(user, permission="view_datasource").filter(tenant_id=tenant_id)
        found = selectors.datasource_lookup(scope, key)
    if found is None:
        raise DomainError(
            f"datasourceId: no datasource {shown(key)} that you may use.",
            field="datasourceId",
        )
    return found


@transaction.atomic
def dataset_create(*, user: User, data: dict[str, Any]) -> Dataset:
    """Create a dataset of ``user``'s tenant on a datasource they may use; they own it with all five permissions."""
    fields = {name: value for name, value in data.items() if name in WRITABLE}
    datasource = datasource_for_user(user=user, key=data.get("datasource_id"), tenant_id=user.tenant_id)
    fields["params"] = params_validate(fields.get("params"))
    dataset = Dataset(tenant_id=user.tenant_id, owner=user, datasource=datasource, **fields)
    if fields.get("slug"):
        _check_slug_free(tenant_id=user.tenant_id, slug=dataset.slug)
    else:
        dataset.slug = unique_slug(
            Dataset.objects.filter(tenant_id=user.tenant_id), fallback="dataset", base=dataset.name
        )
    save_slugged(dataset, constraint="dataset_unique_slug", label="dataset", force_insert=True)
    dataset_grant_owner(dataset, user)
    return dataset


@transaction.atomic
def dataset_update(*, dataset: Dataset, user: User, data: dict[str, Any]) -> Dataset:
    """Merge ``data`` into ``dataset``; a new datasource must be one ``user`` may use.

    The stored rows stay those of the last refresh until the next one, as they do when the source changes.
    """
    fields = {name: value for name, value in data.items() if name in WRITABLE}
    if "datasource_id" in data:
        dataset.datasource = datasource_for_user(user=user, key=data["datasource_id"], tenant_id=dataset.tenant_id)
    if "params" in fields:
        fields["params"] = params_validate(fields["params"])
    if fields.get("slug") and fields["slug"] != dataset.slug:
        _check_slug_free(tenant_id=dataset.tenant_id, slug=fields["slug"], exclude_pk=dataset.pk)
    for name, value in fields.items():
        setattr(dataset, name, value)
    save_slugged(dataset, constraint="dataset_unique_slug", label="dataset")
    return dataset


def refresh_claimed(dataset: Dataset) -> bool:
    """Whether a live refresh holds ``dataset`` now (an abandoned claim does not count)."""
    started = dataset.refresh_started_at
    return started is not None and started >= storage.claim_stale_before()


@transaction.atomic
def dataset_delete(*, dataset: Dataset) -> None:
    """Delete a dataset with its snapshots, stored rows and shares; 409 while a job uses it or it refreshes."""
    links = dataset.job_links.order_by("job__name")
    if links.exists():
        jobs = ", ".join(dict.fromkeys(links.values_list("job__name", flat=True)))
        raise Conflict(f"Dataset '{dataset.name}' is used by jobs ({jobs}); remove it from them first.")
    if refresh_claimed(dataset):
        # The refresh writes rows under a generation of this dataset: they would be left behind.
        raise Conflict(f"Dataset '{dataset.name}' is being refreshed; delete it once the refresh is over.")
    storage.dataset_rows_delete_all(dataset.pk)
    try:
        with transaction.atomic():
            dataset.delete()
    except ProtectedError:
        # A job linked it after the check above.
        raise Conflict(f"Dataset '{dataset.name}' is used by a job; remove it from the job first.") from None


@transaction.atomic
def dataset_copy(*, dataset: Dataset, user: User, name: str | None = None) -> Dataset:
    """A new dataset of ``user`` with ``dataset``'s definition (datasource, query, params), no rows.

    The copier must be allowed to use the datasource, as for any dataset they create.
    """
    datasource = datasource_for_user(user=user, key=str(dataset.datasource_id), tenant_id=user.tenant_id)
    copy = Dataset(
        tenant_id=user.tenant_id,
        owner=user,
        datasource=datasource,
        name=name or f"{dataset.name} (copy)"[:200],
        description=dataset.description,
        query=dataset.query,
        params=dataset.params,
    )
    copy.slug = unique_slug(Dataset.objects.filter(tenant_id=user.tenant_id), fallback="dataset", base=copy.name)
    save_slugged(copy, constraint="dataset_unique_slug", label="dataset", force_insert=True)
    dataset_grant_owner(copy, user)
    return copy
