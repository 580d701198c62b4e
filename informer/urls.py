"""Root URLs: the admin, the API under /api, its schema and docs."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from informer import views

router = SimpleRouter(trailing_slash=False)
router.register("tokens", views.ApiTokenViewSet, basename="token")

api_patterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("me", views.MeView.as_view(), name="me"),
    *router.urls,
    # runs extends the job resource (POST /api/jobs/{id} = run now), so its routes come first.
    path("", include("runs.urls")),
    path("", include("jobs.urls")),
    path("", include("datasets.urls")),
    path("", include("library.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/api/jobs", permanent=False)),
    path("admin/", admin.site.urls),
    path("api-auth/", include("rest_framework.urls")),
    path("api/", include(api_patterns)),
]
