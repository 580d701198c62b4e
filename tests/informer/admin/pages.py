"""Helpers for admin tests: staff users with chosen permissions, and a form's POST data read from its page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Permission
from django.test import Client

from informer.models import Tenant, User
from tests.factories import UserFactory


def staff(tenant: Tenant, *permissions: str, username: str | None = None, **fields: Any) -> User:
    """A staff user of ``tenant`` holding the model permissions named ``app_label.codename``."""
    user = UserFactory(tenant=tenant, is_staff=True, **({"username": username} if username else {}), **fields)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # without a stale permission cache


def model_permissions(app_label: str, *model_names: str) -> list[str]:
    """View, add, change and delete of each model."""
    return [f"{app_label}.{verb}_{name}" for name in model_names for verb in ("view", "add", "change", "delete")]


def logged_in(user: User) -> Client:
    """A test client logged in as ``user`` (before any snapshot: logging in writes ``last_login``)."""
    client = Client()
    client.force_login(user)
    return client


def _field_data(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        bound = form[name]
        value = bound.value()
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        if isinstance(widget, forms.MultiWidget):
            parts = value if isinstance(value, list | tuple) else widget.decompress(value)
            for index, part in enumerate(parts):
                data[f"{bound.html_name}_{index}"] = "" if part is None else str(part)
            continue
        if isinstance(widget, forms.FileInput):
            continue
        if value is None:
            data[bound.html_name] = ""
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(item) for item in value]
        else:
            data[bound.html_name] = str(value)
    return data


def form_data(response: Any) -> dict[str, Any]:
    """The POST body that would save an admin change or add page as it stands (inlines included)."""
    data = _field_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_field_data(formset.management_form))
        for form in formset.forms:
            data.update(_field_data(form))
    return data
