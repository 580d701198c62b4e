"""What the dataset and snapshot resources share: the dataset lookup, connector errors as 400s, data pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from datasets import selectors
from datasets.connectors.base import ConnectorError
from datasets.models import Dataset
from informer.api.downloads import content_disposition as content_disposition  # re-exported for the exports
from informer.api.exceptions import DomainError, names_field
from informer.api.pagination import parse_int_param

DATA_DEFAULT_LIMIT = 100
DATA_MAX_LIMIT = 1000

if TYPE_CHECKING:
    # What the mixin below is mixed into, so that its uses of the view's attributes are checked.
    _DatasetView = generics.GenericAPIView
else:
    _DatasetView = object


class DatasetLookupMixin(_DatasetView):
    """Resolves ``{id}`` (UUID or natural id) to a dataset the caller may read, else 404; then the action's right."""

    read_permission = "view_dataset"
    lookup_value_regex = "[^/]+"

    def get_dataset(self, key: str) -> Dataset:
        request = self.request
        scope = selectors.dataset_scope_for_user(request.user).select_related("datasource")
        dataset = selectors.dataset_lookup(scope, key)
        if dataset is None:
            raise Http404
        self.check_object_permissions(request, dataset)
        return dataset

    @staticmethod
    def load_object_codenames(user: Any, dataset: Dataset) -> set[str]:
        """The caller's permissions on a dataset, for ``ObjectPermission`` (directly or through a team)."""
        return selectors.dataset_permissions_for_user(user, [dataset.pk]).get(dataset.pk, set())

    @staticmethod
    def lock_for_write(dataset: Dataset) -> Dataset:
        """Lock the dataset's row for the request's transaction and read it afresh; 404 once it is gone."""
        locked = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if locked is None:
            raise Http404
        return locked


@contextmanager
def connector_errors() -> Iterator[None]:
    """A ``ConnectorError`` (the source refused the query, failed or could not be reached) as a 400.

    It is the caller's query or datasource at fault, not this service: the answer carries the server's
    own message under the field it names (``query`` when it names none, as a syntax error does).
    """
    try:
        yield
    except ConnectorError as error:
        field = error.field or "query"
        message = error.message if names_field(error.message, field) else f"{field}: {error.message}"
        raise DomainError(message, field=field) from None


DATA_PARAMETERS = [
    OpenApiParameter("start", {"type": "integer", "minimum": 0}, description="Offset of the first row (default 0)."),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 0, "maximum": DATA_MAX_LIMIT},
        description=f"Rows per page (default {DATA_DEFAULT_LIMIT}, at most {DATA_MAX_LIMIT}).",
    ),
    OpenApiParameter("sort", str, description="A field name, '-' prefix for descending; typed by the field."),
    OpenApiParameter("q", str, description="Case-insensitive substring over the text fields."),
    OpenApiParameter(
        "filter",
        str,
        description='A JSON object: {"region": "West"} or {"amount": {"gte": 100}} (gt, gte, lt, lte, ne, in, '
        "contains, isnull).",
    ),
]


class DataPageSerializer(serializers.Serializer):
    """``GET …/data``: Informer's own shape for rows (``items``, not ``_embedded``)."""

    _links = serializers.DictField(child=serializers.DictField(child=serializers.CharField()))
    items = serializers.ListField(child=serializers.DictField())
    start = serializers.IntegerField(min_value=0)
    count = serializers.IntegerField(min_value=0)
    total = serializers.IntegerField(min_value=0)


def data_answer(request: Request, *, generation_id: int | None, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A page of a generation's rows as ``{_links, items, start, count, total}``, read from the query string."""
    from datasets.data import data_page

    start = parse_int_param(request, "start", 0, minimum=0)
    limit = parse_int_param(request, "limit", DATA_DEFAULT_LIMIT, minimum=0, maximum=DATA_MAX_LIMIT)
    params = request.query_params
    for name in ("sort", "q", "filter"):
        if "\x00" in params.get(name, ""):
            raise DomainError(f"{name} may not contain NUL characters.", field=name)
    rows, total = data_page(
        generation_id=generation_id,
        fields=fields,
        start=start,
        limit=limit,
        sort=params.get("sort") or None,
        q=params.get("q") or None,
        filter=params.get("filter") or None,
    )
    url = request.build_absolute_uri()
    links: dict[str, Any] = {"self": {"href": url}}
    if limit and start + limit < total:
        links["next"] = {"href": replace_query_param(url, "start", start + limit)}
    if start > 0:
        previous = max(0, start - (limit or start))
        links["prev"] = {
            "href": replace_query_param(url, "start", previous) if previous else remove_query_param(url, "start")
        }
    return {"_links": links, "items": rows, "start": start, "count": len(rows), "total": total}


class _NoFormatOverride:
    """DRF's settings with ``?format=`` left alone: an export reads it as the file format, not the renderer."""

    URL_FORMAT_OVERRIDE = None

    def __getattr__(self, name: str) -> Any:
        return getattr(api_settings, name)


class FileFormatNegotiation(DefaultContentNegotiation):
    """Content negotiation for routes whose ``format`` parameter names a file format (exports)."""

    settings = _NoFormatOverride()  # type: ignore[assignment]  # reads as DRF's settings do
