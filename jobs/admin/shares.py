"""Guardian's object-permission pages on jobs, with the API's rules for shares.

Reading who holds what needs job:view; changing a principal's access needs job:share and goes through
``share_set`` as an access level (so the owner keeps admin access); principals are the job's tenant's only.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from guardian.admin import GroupManage, UserManage

from informer.admin.forms import DOMAIN_ERROR, with_request
from informer.api.exceptions import DomainError
from informer.models import Team, User
from jobs.admin.access import job_codenames
from jobs.admin.forms import ShareLevelForm
from jobs.models import Job


class TenantUserSelect(UserManage):
    """Guardian's "manage user" box, finding the user among the job's tenant only."""

    tenant_id: int | None = None

    def clean_user(self) -> User:
        # Without a tenant (the page found no job) there is no one to find.
        user = None
        if self.tenant_id is not None:
            user = User.objects.filter(username=self.cleaned_data["user"], tenant_id=self.tenant_id).first()
        if user is None:
            raise forms.ValidationError(self.fields["user"].error_messages["does_not_exist"])
        return user


class TenantTeamSelect(GroupManage):
    """Guardian's "manage group" box, finding the team among the job's tenant only."""

    tenant_id: int | None = None

    def clean_group(self) -> Team:
        team = None
        if self.tenant_id is not None:
            team = Team.objects.filter(local_name__iexact=self.cleaned_data["group"], tenant_id=self.tenant_id).first()
        if team is None:
            raise forms.ValidationError(self.fields["group"].error_messages["does_not_exist"])
        return team


class JobSharesMixin:
    """For a ``GuardedModelAdmin`` of jobs: its share pages checked and written as the API's shares are."""

    def _shared_job(self, request: HttpRequest, object_pk: str, permission: str) -> Job:
        """The job of a share page, if the staff user may see it and holds ``permission`` on it."""
        job = self.get_object(request, object_pk)  # type: ignore[attr-defined]
        if job is None or not self.has_view_permission(request, job):  # type: ignore[attr-defined]
            raise Http404
        if permission not in job_codenames(request, job) or job.is_draft:
            raise PermissionDenied
        request._share_tenant_id = job.tenant_id  # type: ignore[attr-defined]
        return job

    def _with_domain_errors(self, request: HttpRequest, view: Any, *args: Any) -> HttpResponse:
        """Run a share page; a rule ``share_set`` enforces comes back as the form's error (nothing saved)."""
        try:
            return view(request, *args)
        except DomainError as error:
            setattr(request, DOMAIN_ERROR, error)
            return view(request, *args)

    def obj_perms_manage_view(self, request: HttpRequest, object_pk: str) -> HttpResponse:
        # Reading who holds what needs job:view, as GET /api/jobs/{id}/shares does.
        self._shared_job(request, object_pk, "view_job")
        return super().obj_perms_manage_view(request, object_pk)  # type: ignore[misc]

    def obj_perms_manage_user_view(self, request: HttpRequest, object_pk: str, user_id: str) -> HttpResponse:
        job = self._shared_job(request, object_pk, "share_job")
        if not str(user_id).isdigit() or not User.objects.filter(pk=user_id, tenant_id=job.tenant_id).exists():
            raise Http404
        return self._with_domain_errors(request, super().obj_perms_manage_user_view, object_pk, user_id)  # type: ignore[misc]

    def obj_perms_manage_group_view(self, request: HttpRequest, object_pk: str, group_id: str) -> HttpResponse:
        job = self._shared_job(request, object_pk, "share_job")
        if not str(group_id).isdigit() or not Team.objects.filter(pk=group_id, tenant_id=job.tenant_id).exists():
            raise Http404
        return self._with_domain_errors(request, super().obj_perms_manage_group_view, object_pk, group_id)  # type: ignore[misc]

    def get_obj_perms_user_select_form(self, request: HttpRequest) -> type:
        return with_request(TenantUserSelect, request, tenant_id=getattr(request, "_share_tenant_id", None))

    def get_obj_perms_group_select_form(self, request: HttpRequest) -> type:
        return with_request(TenantTeamSelect, request, tenant_id=getattr(request, "_share_tenant_id", None))

    def get_obj_perms_manage_user_form(self, request: HttpRequest) -> type:
        return with_request(ShareLevelForm, request)

    def get_obj_perms_manage_group_form(self, request: HttpRequest) -> type:
        return with_request(ShareLevelForm, request)
