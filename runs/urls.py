"""Routes of run-now, history and workers (mounted under /api, before the jobs routes)."""

from __future__ import annotations

from django.urls import path

from runs.api import history, workers

job_detail = history.RunnableJobViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy", "post": "run"}
)
history_list = history.JobHistoryViewSet.as_view({"get": "list", "delete": "clear"})
history_detail = history.JobHistoryViewSet.as_view({"get": "retrieve", "delete": "destroy"})
history_cancel = history.JobHistoryViewSet.as_view({"post": "cancel"})
worker_list = workers.WorkerViewSet.as_view({"get": "list"})
worker_detail = workers.WorkerViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("jobs/<str:pk>", job_detail, name="job-detail"),
    path("jobs/<str:job_pk>/history", history_list, name="job-history-list"),
    path("jobs/<str:job_pk>/history/<str:pk>", history_detail, name="job-history-detail"),
    path("jobs/<str:job_pk>/history/<str:pk>/_cancel", history_cancel, name="job-history-cancel"),
    path("job-workers", worker_list, name="job-worker-list"),
    path("job-workers/<str:pk>", worker_detail, name="job-worker-detail"),
]
