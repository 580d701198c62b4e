"""Admin forms that write through services: the API's serializer validates, errors land on the field they name.

A form validates its values with the serializer the API uses for the same model (so the admin accepts exactly
what the API accepts) and keeps the serializer's ``validated_data`` as ``service_fields`` for the admin to hand
to the service. A ``DomainError`` the service raises while saving is shown on the field it names: the admin
rolls the save back and renders the form again with the error (``ServiceAdminMixin``). JSON columns are edited
through ``DepthLimitedJSONField``, held to the depth limit API bodies are held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Model
from django.forms.fields import InvalidJSONInput, JSONString
from django.http import HttpRequest, HttpResponse
from rest_framework import serializers

from informer.api.exceptions import DomainError
from informer.api.parsers import JsonTooDeep, json_depth, max_depth
from informer.api.serializers import camel, snake

DOMAIN_ERROR = "_admin_domain_error"


def _too_deep(value: Any) -> JsonTooDeep | None:
    """The error for form text nesting deeper than API bodies may (``INFORMER_JSON_MAX_DEPTH``), or None."""
    if not isinstance(value, str) or isinstance(value, JSONString):
        return None  # a JSONString is a value already decoded, not text to decode
    limit = max_depth()
    return JsonTooDeep(limit) if json_depth(value, limit) > limit else None


class DepthLimitedJSONField(forms.JSONField):
    """Django's JSON form field held to the API's depth limit: a deep value is an error on the field.

    Python's JSON decoder recurses once per level, so about a thousand raise RecursionError (a 500); the text is
    measured before it is decoded, when the form is cleaned and when it is shown again with its errors.
    """

    def to_python(self, value: Any) -> Any:
        error = None if self.disabled else _too_deep(value)
        if error is not None:
            raise ValidationError(str(error), code="too_deep")
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if not self.disabled and _too_deep(data) is not None:
            return InvalidJSONInput(data)  # shown back as the text that was sent
        return super().bound_data(data, initial)


# Every JSON column of a model admin or inline is edited through the depth-limited field.
JSON_FORM_FIELDS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.JSONField: {"form_class": DepthLimitedJSONField}
}


def _messages(detail: Any, path: str = "") -> list[tuple[str, str]]:
    """``(path, message)`` pairs of a serializer's nested error detail."""
    if isinstance(detail, Mapping):
        pairs = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list's items are keyed by position
                pairs += _messages(value, f"{path}[{key}]")
                continue
            name = "" if key == "non_field_errors" else str(key)
            pairs += _messages(value, f"{path}.{name}" if path and name else (path or name))
        return pairs
    if isinstance(detail, list | tuple):
        pairs = []
        for index, item in enumerate(detail):
            nested = isinstance(item, Mapping | list | tuple)
            pairs += _messages(item, f"{path}[{index}]" if nested else path)
        return pairs
    return [(path, str(detail))]


def add_api_errors(form: forms.BaseForm, detail: Any) -> None:
    """Put API errors (camelCase field names) on the form field each names, the rest on the form itself."""
    for path, message in _messages(detail):
        head = path.split(".", 1)[0].split("[", 1)[0]
        name = snake(head) if head else ""
        if name in form.fields:
            inner = path[len(head) :].lstrip(".")
            form.add_error(name, f"{inner}: {message}" if inner else message)
        else:
            form.add_error(None, f"{path}: {message}" if path else message)


def add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's domain error on the field it names (or on the form)."""
    add_api_errors(form, error.details or {"": [error.message]})


class ServiceFormMixin:
    """A form validated by ``serializer_class`` as the API would, in ``clean()``.

    ``request`` is set by the admin (``ServiceAdminMixin.get_form``). On a change only the changed fields are
    sent, as a ``PATCH`` would; the serializer still checks the merged result.
    """

    serializer_class: type[serializers.Serializer] | None = None
    request: HttpRequest | None = None
    service_fields: dict[str, Any]

    def is_new(self) -> bool:
        instance = getattr(self, "instance", None)
        return instance is None or instance._state.adding

    def serializer_context(self) -> dict[str, Any]:
        """What the serializer's context holds (the API's view passes the same)."""
        return {"request": self.request}

    def serializer_payload(self, writable: set[str]) -> dict[str, Any]:
        """The form's values under the API's names, limited to the serializer's writable fields."""
        cleaned: dict[str, Any] = self.cleaned_data  # type: ignore[attr-defined]
        names = list(cleaned) if self.is_new() else self.changed_data  # type: ignore[attr-defined]
        return {camel(name): cleaned[name] for name in names if name in cleaned and camel(name) in writable}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        self.service_fields = {}
        error = getattr(self.request, DOMAIN_ERROR, None)
        if error is not None and getattr(self, "shows_domain_errors", False):
            add_domain_error(self, error)  # type: ignore[arg-type]
        if self.errors or self.serializer_class is None:  # type: ignore[attr-defined]
            return cleaned
        if not self.is_new() and not self.has_changed():  # type: ignore[attr-defined]
            return cleaned  # as a PATCH that sends nothing: what is stored is not checked again
        instance = None if self.is_new() else self.instance  # type: ignore[attr-defined]
        probe = self.serializer_class(instance, context=self.serializer_context())
        writable = {name for name, field in probe.fields.items() if not field.read_only}
        serializer = self.serializer_class(
            instance,
            data=self.serializer_payload(writable),
            partial=instance is not None,
            context=self.serializer_context(),
        )
        if serializer.is_valid():
            self.service_fields = dict(serializer.validated_data)
        else:
            add_api_errors(self, serializer.errors)  # type: ignore[arg-type]
        return cleaned


def with_request(form_class: type, request: HttpRequest, **attributes: Any) -> type:
    """``form_class`` bound to ``request`` (Django's admin builds form classes, not instances)."""
    return type(form_class.__name__, (form_class,), {"request": request, **attributes})


def adopt(target: Model, source: Model) -> None:
    """Make ``target`` (the admin's object) the row ``source`` (what the service saved) is."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class ServiceAdminMixin:
    """A model admin whose form is told the request, and which re-renders a save a service refused.

    A ``DomainError`` raised by a service in ``save_model`` or ``save_related`` rolls the whole save back
    (Django's admin saves inside one transaction); the form is then validated again with the error on the
    field it names, so the page shows what was sent and why it was refused.
    """

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = JSON_FORM_FIELDS

    def get_form(self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any) -> type:
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        return with_request(form, request, shows_domain_errors=True)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except DomainError as error:
            if request.method != "POST" or hasattr(request, DOMAIN_ERROR):
                raise
            setattr(request, DOMAIN_ERROR, error)
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


class ServiceInlineMixin:
    """An inline whose forms are told the request (their ``clean()`` runs the API's serializer)."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = JSON_FORM_FIELDS

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> type:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        formset.form = with_request(formset.form, request)
        return formset
