"""Know-your-rights pages under /<lang>/rights/."""

from __future__ import annotations

from django.urls import URLPattern, path

from raidwatch.rights import views

app_name = "rights"
urlpatterns: list[URLPattern] = [
    path("", views.rights_index, name="index"),
    # Before the topic pattern: "card" is never a topic key.
    path("card", views.rights_card, name="card"),
    path("card.pdf", views.rights_card_pdf, name="card_pdf"),
    path("<slug:key>", views.rights_topic, name="topic"),
]
