"""Coordinator tools under /<lang>/volunteer/network/."""

from __future__ import annotations

from django.urls import URLPattern, path

from raidwatch.coordination import views

urlpatterns: list[URLPattern] = [
    path("", views.home, name="network_home"),
    path("areas/", views.areas, name="network_areas"),
    path("areas/<int:area_id>/delete", views.area_delete, name="network_area_delete"),
    path("templates/", views.templates, name="network_templates"),
    path("templates/<str:event>/<str:language>", views.template_edit, name="network_template_edit"),
    path("channels/", views.channels, name="network_channels"),
    path("retention/", views.retention, name="network_retention"),
    path("retention/save", views.retention_save, name="network_retention_save"),
    path("drills/", views.drills, name="network_drills"),
    path("drills/<int:incident_id>/end", views.drill_end, name="network_drill_end"),
    path("exports/", views.exports, name="network_exports"),
    path("exports/incidents.csv", views.export_incidents, name="network_export_incidents"),
    path("exports/audit.jsonl", views.export_audit, name="network_export_audit"),
    path("invites/", views.invites, name="network_invites"),
    path("two-person/", views.two_person, name="network_two_person"),
]
