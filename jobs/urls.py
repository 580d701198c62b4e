"""Routes of the jobs API (mounted under /api)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from jobs.api import actions, attachments, datasets, drafts, drivers, fire_times, jobs, jobs_list, shares

router = SimpleRouter(trailing_slash=False)
router.register("jobs", jobs.JobViewSet, basename="job")

share_list = shares.JobShareViewSet.as_view({"get": "list"})
share_detail = shares.JobShareViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})

action_list = actions.JobActionViewSet.as_view({"get": "list", "post": "create"})
action_detail = actions.JobActionViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
action_preview = actions.JobActionViewSet.as_view({"post": "preview"})
attachment_list = attachments.JobAttachmentViewSet.as_view({"get": "list", "post": "create"})
attachment_detail = attachments.JobAttachmentViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
attachment_file = attachments.AttachmentFileView.as_view({"get": "retrieve", "put": "upload"})
dataset_list = datasets.JobDatasetViewSet.as_view({"get": "list", "post": "create"})
dataset_detail = datasets.JobDatasetViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
dataset_permissions = datasets.JobDatasetViewSet.as_view({"get": "dataset_permissions"})
draft_edit = drafts.JobDraftViewSet.as_view({"post": "edit"})
draft_get = drafts.JobDraftViewSet.as_view({"get": "draft"})
draft_commit = drafts.JobDraftViewSet.as_view({"post": "commit"})
ACTION = "jobs/<str:job_pk>/actions/<str:pk>"
ATTACHMENTS = "jobs/<str:job_pk>/actions/<str:action_pk>/attachments"

urlpatterns = [
    *router.urls,
    path("jobs-list", jobs_list.JobsListView.as_view(), name="jobs-list"),
    path("jobs/<str:job_pk>/shares", share_list, name="job-share-list"),
    path("jobs/<str:job_pk>/shares/<str:principal_id>", share_detail, name="job-share-detail"),
    path("job-fire-times", fire_times.JobFireTimesView.as_view(), name="job-fire-times"),
    path("jobs/<str:job_pk>/actions", action_list, name="job-action-list"),
    path(ACTION, action_detail, name="job-action-detail"),
    path(f"{ACTION}/_preview", action_preview, name="job-action-preview"),
    path(ATTACHMENTS, attachment_list, name="job-attachment-list"),
    path(f"{ATTACHMENTS}/<str:pk>", attachment_detail, name="job-attachment-detail"),
    path(f"{ATTACHMENTS}/<str:pk>/action-attachment-file-contents", attachment_file, name="job-attachment-file"),
    path("jobs/<str:job_pk>/datasets", dataset_list, name="job-dataset-list"),
    path("jobs/<str:job_pk>/datasets/_permissions", dataset_permissions, name="job-dataset-permissions"),
    path("jobs/<str:job_pk>/datasets/<str:alias>", dataset_detail, name="job-dataset-detail"),
    path("jobs/<str:pk>/_edit", draft_edit, name="job-draft-edit"),
    path("jobs/<str:pk>/draft", draft_get, name="job-draft"),
    path("jobs/<str:pk>/_commit", draft_commit, name="job-draft-commit"),
    path("job-action-drivers", drivers.ActionDriverList.as_view(), name="job-action-driver-list"),
    path(
        "job-action-drivers/<str:driver_id>",
        drivers.ActionDriverDetail.as_view(),
        name="job-action-driver-detail",
    ),
    path("job-attachment-drivers", drivers.AttachmentDriverList.as_view(), name="job-attachment-driver-list"),
    path(
        "job-attachment-drivers/<str:driver_id>",
        drivers.AttachmentDriverDetail.as_view(),
        name="job-attachment-driver-detail",
    ),
    path("job-templates", drivers.JobTemplateList.as_view(), name="job-template-list"),
    path("job-templates/<str:template_id>", drivers.JobTemplateDetail.as_view(), name="job-template-detail"),
    path("principals", shares.PrincipalListView.as_view(), name="principal-list"),
    path("job-drivers", drivers.JobDriverList.as_view(), name="job-driver-list"),
    path("job-drivers/<str:driver_id>", drivers.JobDriverDetail.as_view(), name="job-driver-detail"),
]
