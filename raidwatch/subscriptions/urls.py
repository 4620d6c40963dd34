from __future__ import annotations

from django.urls import path

from raidwatch.subscriptions import views

app_name = "subscriptions"
urlpatterns = [
    path("subscribe", views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>", views.confirm, name="confirm"),
    path("subscriptions/manage/<str:token>", views.manage, name="manage"),
    path("subscriptions/left", views.left, name="left"),
]
