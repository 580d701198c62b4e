"""The datasets admin's forms: a datasource with its password write-only, a dataset's definition.

Each hands the service what a ``POST`` (adding) or a ``PATCH`` (changing) would, under the service's names;
the service's refusals come back on the field they name (``errors_on_fields``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from datasets.models import Dataset, Datasource
from informer.admin.forms import DOMAIN_ERROR, ServiceFormMixin
from informer.api.exceptions import DomainError


def errors_on_fields(request: HttpRequest | None, renames: dict[str, str] | None = None) -> None:
    """Put the refusal a service raised while saving (if any) on the form field it is about, said once.

    The services' messages already name their item (``params[0].name: …``, ``options.sslmode: …``): they go on
    the field as they are, not prefixed with the path again; ``renames`` maps the API's names to the form's.
    """
    error = getattr(request, DOMAIN_ERROR, None)
    if error is None or not error.details:
        return
    details: dict[str, list[str]] = {}
    for path, messages in error.details.items():
        head = path.split(".", 1)[0].split("[", 1)[0]
        details.setdefault((renames or {}).get(head, head), []).extend(messages)
    setattr(request, DOMAIN_ERROR, DomainError(error.message, details=details))


# The form's fields a write hands to the service, under the service's (snake_case) names.
DATASOURCE_FIELDS = ("name", "slug", "description", "type", "host", "port", "database", "username", "options")


class DatasourceForm(ServiceFormMixin, forms.ModelForm):
    """A datasource; ``password`` is write-only: an empty box on every page, blank keeps what is stored."""

    password = forms.CharField(
        required=False,
        strip=False,
        # render_value=False: what was typed is not sent back either when the page is shown with errors.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: never shown. Leave blank to keep the stored password.",
    )
    clear_password = forms.BooleanField(required=False, label="Clear password", help_text="Remove the stored password.")

    class Meta:
        model = Datasource
        fields = [*DATASOURCE_FIELDS]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            # A new datasource's slug is made from its name when left empty, as in the API.
            self.fields["slug"].required = not self.is_new()
        if "options" in self.fields:
            self.fields["options"].help_text = (
                "The connector's options as JSON (sslmode, connectTimeout, …). Secret options are write-only: "
                "they are not shown here, and are kept unless given again."
            )

    def clean(self) -> dict[str, Any]:
        errors_on_fields(self.request)
        cleaned = super().clean()
        if cleaned.get("clear_password") and cleaned.get("password"):
            self.add_error("clear_password", "Either type a new password or clear it, not both.")
        return cleaned

    def service_data(self) -> dict[str, Any]:
        """What the service is handed: every field when adding, the changed ones when changing."""
        names = (
            DATASOURCE_FIELDS if self.is_new() else [name for name in self.changed_data if name in DATASOURCE_FIELDS]
        )
        data = {name: self.cleaned_data[name] for name in names}
        if "options" in data and data["options"] is None:
            data["options"] = {}
        if self.cleaned_data.get("clear_password"):
            data["password"] = None  # the service's "clear it"
        elif self.cleaned_data.get("password"):
            data["password"] = self.cleaned_data["password"]
        return data


DATASET_FIELDS = ("name", "slug", "description", "query", "params")


class DatasetForm(ServiceFormMixin, forms.ModelForm):
    """A dataset's definition; the services check its parameters and its datasource as the API does."""

    class Meta:
        model = Dataset
        fields = ["name", "slug", "description", "datasource", "query", "params"]
        help_texts = {
            "query": "One read-only statement; :name placeholders are bound to the declared parameters.",
            "params": 'Declared parameters as JSON, e.g. [{"name": "region", "type": "string", "default": "West"}].',
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = not self.is_new()

    def clean(self) -> dict[str, Any]:
        errors_on_fields(self.request, {"datasourceId": "datasource"})
        return super().clean()

    def service_data(self) -> dict[str, Any]:
        """What the service is handed: every field when adding, the changed ones when changing."""
        names = list(self.cleaned_data) if self.is_new() else self.changed_data
        data = {name: self.cleaned_data[name] for name in names if name in DATASET_FIELDS}
        if "params" in data and data["params"] is None:
            data["params"] = []
        if "datasource" in names and self.cleaned_data.get("datasource") is not None:
            data["datasource_id"] = str(self.cleaned_data["datasource"].pk)
        return data
