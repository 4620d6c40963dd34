"""Accepting a volunteer invitation, /<lang>/join/<token>: outside the
volunteer area, because the invitee has no account yet."""

from __future__ import annotations

from django.urls import URLPattern, path

from raidwatch.accounts import join

urlpatterns: list[URLPattern] = [
    path("<str:token>", join.join, name="volunteer_join"),
]
