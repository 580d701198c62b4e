"""Routes of the jobs API (mounted under /api)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from jobs import views, views_drivers, views_schedule

router = SimpleRouter(trailing_slash=False)
router.register("jobs", views.JobViewSet, basename="job")

share_list = views.JobShareViewSet.as_view({"get": "list"})
share_detail = views.JobShareViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"})

urlpatterns = [
    *router.urls,
    path("jobs-list", views.JobsListView.as_view(), name="jobs-list"),
    path("jobs/<str:job_pk>/shares", share_list, name="job-share-list"),
    path("jobs/<str:job_pk>/shares/<str:principal_id>", share_detail, name="job-share-detail"),
    path("job-fire-times", views_schedule.JobFireTimesView.as_view(), name="job-fire-times"),
    path("principals", views.PrincipalListView.as_view(), name="principal-list"),
    path("job-drivers", views_drivers.JobDriverList.as_view(), name="job-driver-list"),
    path("job-drivers/<str:driver_id>", views_drivers.JobDriverDetail.as_view(), name="job-driver-detail"),
]
