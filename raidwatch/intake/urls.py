from __future__ import annotations

from django.urls import path

from raidwatch.intake import views

app_name = "intake"
urlpatterns = [
    path("report", views.report, name="report"),
    path("report/thanks", views.thanks, name="thanks"),
]
