"""The library admin's form: its plain settings as JSON, its secrets write-only in boxes of their own.

It hands ``library_create`` / ``library_update`` what a ``POST`` (adding) or a ``PATCH`` (changing) would: the
plain fields under the service's names and ``settings`` under the API's, the secrets among them only when one
is typed (blank keeps the stored one) or cleared (``null``). The settings box is what the library's settings
become: a key taken out of it is removed. The service's refusals come back on the field they are about; a
secret's on its own box.
"""

from __future__ import annotations

from typing import Any

from django import forms

from informer.admin.forms import DOMAIN_ERROR, ServiceFormMixin
from informer.api.exceptions import DomainError
from library.models import Library

# The fields a write hands to the service besides the settings (the serializer's snake_case names).
LIBRARY_FIELDS = ("name", "slug", "description", "type", "embedded")
# Each secret's box, its "clear" box, and its name among the settings (§9: webdav password, s3 secretAccessKey).
SECRETS = {
    "password": ("clear_password", "password"),
    "secret_access_key": ("clear_secret_access_key", "secretAccessKey"),
}
SECRET_SETTINGS = {setting: box for box, (_, setting) in SECRETS.items()}


def _secret_box(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        # render_value=False: what was typed is not sent back either when the page is shown with errors.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: never shown. Leave blank to keep the stored one.",
    )


def errors_on_secret_boxes(request: Any) -> None:
    """Move a refusal of ``settings.password`` (or ``settings.secretAccessKey``) onto its own box, said as it is."""
    error = getattr(request, DOMAIN_ERROR, None)
    if error is None or not error.details:
        return
    details: dict[str, list[str]] = {}
    for path, messages in error.details.items():
        head, _, key = path.partition(".")
        target = SECRET_SETTINGS.get(key) if head == "settings" else None
        details.setdefault(target or path, []).extend(messages)
    setattr(request, DOMAIN_ERROR, DomainError(error.message, details=details))


class LibraryForm(ServiceFormMixin, forms.ModelForm):
    """A library; its secrets are write-only: empty boxes on every page, blank keeps what is stored."""

    password = _secret_box("WebDAV password")
    clear_password = forms.BooleanField(required=False, label="Clear password", help_text="Remove the stored one.")
    secret_access_key = _secret_box("S3 secret access key")
    clear_secret_access_key = forms.BooleanField(
        required=False, label="Clear secret access key", help_text="Remove the stored one."
    )

    class Meta:
        model = Library
        fields = [*LIBRARY_FIELDS, "settings"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # As stored: by the time the service is called the instance holds what the box says.
        self.stored_settings = dict(self.instance.settings or {})
        if "slug" in self.fields:
            # A new library's slug is made from its name when left empty, as in the API.
            self.fields["slug"].required = not self.is_new()
        if "settings" in self.fields:
            self.fields["settings"].help_text = (
                'The integration\'s settings as JSON. local: {"path": "a folder under the library root"}; '
                'webdav: {"url", "username", "root"}; s3: {"bucket", "prefix", "region", "endpointUrl", '
                '"accessKeyId"}. The secrets go in their own boxes below.'
            )

    def clean(self) -> dict[str, Any]:
        errors_on_secret_boxes(self.request)
        cleaned = super().clean()
        box = cleaned.get("settings")
        if box is not None and not isinstance(box, dict):
            self.add_error("settings", "Must be a JSON object.")
        elif box:
            for name in sorted(set(box) & set(SECRET_SETTINGS)):
                self.add_error("settings", f"{name}: type it in its own box below, where it is never shown again.")
        for box_name, (clear, _) in SECRETS.items():
            if cleaned.get(clear) and cleaned.get(box_name):
                self.add_error(clear, f"Either type a new {self.fields[box_name].label} or clear it, not both.")
        return cleaned

    def service_data(self) -> dict[str, Any]:
        """What the service is handed: every field when adding, the changed ones when changing."""
        new = self.is_new()
        changed = set(self.changed_data)
        data = {name: self.cleaned_data[name] for name in LIBRARY_FIELDS if new or name in changed}
        settings: dict[str, Any] = {}
        if new or "settings" in changed:
            settings = dict(self.cleaned_data.get("settings") or {})
            if not new and "type" not in changed:
                # The box is what the settings become: a key taken out of it goes (the service merges keys).
                for name in self.stored_settings:
                    settings.setdefault(name, None)
        for box_name, (clear, setting) in SECRETS.items():
            if self.cleaned_data.get(clear):
                settings[setting] = None  # the service's "clear it"
            elif self.cleaned_data.get(box_name):
                settings[setting] = self.cleaned_data[box_name]
        if new or settings:
            data["settings"] = settings
        return data
