from __future__ import annotations

from django.urls import path

from raidwatch.media import views

app_name = "media"
urlpatterns = [
    # lib/middleware.py lets this path (and the API's) take a photo-sized body.
    path("report/photo", views.upload, name="upload"),
    path("photos/<int:photo_id>.jpg", views.public_image, name="public_image"),
    # Under /<lang>/volunteer/: VolunteerAreaMiddleware refuses anonymous sessions too.
    path("volunteer/photos/<int:photo_id>.jpg", views.desk_image, name="desk_image"),
    path("volunteer/photos/<int:photo_id>/grid.jpg", views.desk_grid_image, name="desk_grid_image"),
    path("volunteer/photos/<int:photo_id>/<str:verb>", views.desk_act, name="desk_act"),
]
