"""Routes of this resource; filled in with its views."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
