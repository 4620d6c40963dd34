from __future__ import annotations

from django.urls import path

from raidwatch.incidents import desk

urlpatterns = [
    path("", desk.queue, name="desk_queue"),
    path("dismiss", desk.bulk_dismiss, name="desk_bulk_dismiss"),
    path("<int:incident_id>", desk.incident_page, name="desk_incident"),
    path("<int:incident_id>/observe", desk.observe, name="desk_observe"),
    path("<int:incident_id>/reports/<int:report_id>/move-out", desk.move_report, name="desk_move_report"),
    path("<int:incident_id>/<str:verb>", desk.act, name="desk_act"),
]
