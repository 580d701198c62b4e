"""What the resources of the jobs API share: the job lookup, the nested-route mixin and form bodies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch
from django.http import Http404, QueryDict
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from informer.api import parsers
from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission
from jobs import selectors
from jobs.drivers import registry
from jobs.drivers.base import Driver
from jobs.models import Job, JobTag


def choosable(kind: registry.Kind) -> Callable[[], list[str]]:
    """For the schema: the driver ids a request body may name (the available ones; any other is a 400)."""
    return lambda: [driver_id for driver_id, _ in registry.choices(kind, available_only=True)]


# Fields whose value is JSON (an object, a list): a form sends their JSON text.
_JSON_TYPED = (serializers.JSONField, serializers.ListField, serializers.DictField, serializers.BaseSerializer)
_FORM_ONLY_KEYS = frozenset({"csrfmiddlewaretoken"})  # the browsable API's form sends it with every field


def form_body(data: Any, fields: Mapping[str, serializers.Field], *, partial: bool) -> Any:
    """A form-encoded or multipart body (the browsable API's HTML form) as the serializer reads it; JSON as it is.

    A form carries text: each field is sent once and keeps its text (numbers in ASCII digits, booleans as DRF
    reads them), except a JSON-typed field (``data``, ``tags``, ``dstPolicy``), which holds JSON text and is
    decoded here with the API's depth limit. As DRF reads HTML forms, an empty value leaves an optional field
    unset (null where null is allowed) and, on a create, an unticked checkbox (a boolean not sent) is false.
    The result is still a QueryDict, so the serializer goes on reading the rest as form text.
    """
    if not isinstance(data, QueryDict):
        return data  # a JSON body: typed and strict as it is
    body = QueryDict(mutable=True)
    errors: dict[str, list[str]] = {}
    for key, values in data.lists():
        if key in _FORM_ONLY_KEYS:
            continue
        if len(values) != 1:
            errors[key] = [f"'{key}' was sent {len(values)} times; send one value."]
            continue
        value, field = values[0], fields.get(key)
        if field is None or field.read_only:
            body[key] = value  # the serializer names unknown keys and ignores read-only ones
        elif value == "" and (field.allow_null or not field.required):
            if getattr(field, "allow_blank", False):
                body[key] = ""
            elif field.allow_null:
                body[key] = None  # type: ignore[assignment]  # a QueryDict holds text, but DRF reads None as null
        elif isinstance(field, _JSON_TYPED):
            try:
                body[key] = _form_json(key, value)
            except ValueError as error:
                errors[key] = [str(error)]
        else:
            body[key] = value
    if not partial:
        for key, field in fields.items():
            empty = getattr(field, "default_empty_html", serializers.empty)
            if key not in data and not field.read_only and empty is not serializers.empty:
                body[key] = empty
    if errors:
        raise ValidationError(errors)
    return body


def _form_json(key: str, value: Any) -> Any:
    """The value of a JSON-typed form field, decoded from its text; ValueError says what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be JSON text in a form body, not a file.")
    try:
        return parsers.loads(value)
    except parsers.JsonTooDeep as error:
        raise ValueError(f"The JSON in '{key}' is nested more than {error.limit} levels deep.") from None
    except ValueError:
        raise ValueError(f"'{key}' must be JSON text in a form body, as its value would be in a JSON body.") from None


def as_form(values: dict[str, Any]) -> QueryDict:
    """``values`` (one per key) as a form body again."""
    body = QueryDict(mutable=True)
    for key, value in values.items():
        body[key] = value
    return body


def reference_errors(
    serializer: serializers.Serializer,
    driver: type[Driver],
    data: dict[str, Any],
    *,
    tenant_id: int | None,
    current: Any,
) -> list[str]:
    """What the one saving (the serializer's request's user) may not name in ``data`` (``Driver.reference_errors``).

    ``tenant_id`` is the job's (the caller's own for a new job); ``current`` the data stored before, or None.
    Without a request nobody is saving: nothing a right is needed on can be named.
    """
    user = getattr(serializer.context.get("request"), "user", None)
    tenant = tenant_id if tenant_id is not None else getattr(user, "tenant_id", None)
    if tenant is None:
        tenant = 0  # no tenant has it: every reference is unknown
    return driver.reference_errors(data, user=user, tenant_id=tenant, current=current)


def tags_prefetch() -> Prefetch:
    return Prefetch("tag_set", queryset=JobTag.objects.order_by("name"))


if TYPE_CHECKING:
    # What the mixins below are mixed into, so that their uses of the view's attributes are checked.
    _JobView = generics.GenericAPIView
else:
    _JobView = object


class JobLookupMixin(_JobView):
    """Resolves ``{id}`` (UUID or natural id) to a job the caller may read, else 404."""

    read_permission = "view_job"
    lookup_value_regex = "[^/]+"

    def get_job(self, key: str) -> Job:
        request = self.request
        job = selectors.job_lookup(selectors.job_scope_for_user(request.user).prefetch_related(tags_prefetch()), key)
        if job is None:
            raise Http404
        self.check_object_permissions(request, job)
        return job

    @staticmethod
    def load_object_codenames(user: Any, job: Job) -> set[str]:
        """The caller's permissions on a job, for ``ObjectPermission``: one query where guardian makes two."""
        return selectors.job_permissions_for_user(user, [job.pk]).get(job.pk, set())

    def lock_for_write(self, job: Job) -> Job:
        """Lock the job's row for the request's transaction and read it afresh; 404 once it is gone.

        A commit deletes its draft: an edit that read the draft before must not write after (``save()``
        would bring the row back to life, and the draft's actions now belong to the original).
        """
        locked = Job.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None:
            raise Http404
        return locked


def uuid_or_404(value: str) -> uuid.UUID:
    """``value`` as a UUID; anything else names no row, so it is a 404."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


class NestedJobMixin(JobLookupMixin):
    """The job of ``{job_pk}`` (drafts included), checked once per request."""

    permission_classes = [ObjectPermission]
    filter_backends: list[Any] = []
    pagination_class: type[BasePagination] | None = None

    def job(self) -> Job:
        if not hasattr(self, "_job"):
            self._job = self.get_job(self.kwargs["job_pk"])
        return self._job

    def locked_job(self) -> Job:
        """The job, its row locked before anything under it is read for a write (see ``lock_for_write``)."""
        self._job = self.lock_for_write(self.job())
        return self._job

    def envelope(self, rel: str, items: list[dict[str, Any]]) -> Response:
        return Response(hal_collection(self.request, rel, items))
