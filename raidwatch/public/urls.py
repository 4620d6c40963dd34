from __future__ import annotations

from django.urls import path

from raidwatch.public import views

app_name = "public"
urlpatterns = [
    path("", views.home, name="home"),
    path("about", views.about, name="about"),
]
