"""Know-your-rights pages under /<lang>/rights/."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
