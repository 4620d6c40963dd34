"""A photo is public only once published, and only on a confirmed incident's alert page."""

from __future__ import annotations

import pytest
from django.test import Client

from raidwatch.alerts.models import Alert, Scope
from raidwatch.incidents import actions as incident_actions
from raidwatch.media import actions
from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo

pytestmark = pytest.mark.django_db


def public_alert_id(incident_id: int) -> int:
    return Alert.objects.filter(incident_id=incident_id, scope=Scope.PUBLIC).order_by("-pk")[0].pk


def visible(photo: Photo, alert_id: int) -> tuple[bool, bool]:
    """(on the alert page, served at its public address)"""
    page = Client().get(f"/a/{alert_id}").content.decode()
    image = Client().get(f"/en/photos/{photo.pk}.jpg")
    return f"/photos/{photo.pk}.jpg" in page, image.status_code == 200


def test_never_public_before_a_verifier_publishes_it(verifier) -> None:
    report = new_report()
    post_photo(report.pk, images.plain_jpeg())
    photo = Photo.objects.get()
    # Not while the incident is unverified, and not while unpublished on a confirmed one.
    assert Client().get(f"/en/photos/{photo.pk}.jpg").status_code == 404
    incident_actions.confirm(report.incident_id, verifier, place="Market square")
    alert_id = public_alert_id(report.incident_id)
    assert visible(photo, alert_id) == (False, False)

    actions.publish_photo(photo.pk, verifier)
    assert visible(photo, alert_id) == (True, True)
    served = Client().get(f"/en/photos/{photo.pk}.jpg")
    assert served["Content-Type"] == "image/jpeg"
    assert "no-store" in served["Cache-Control"]


def test_a_published_photo_leaves_when_the_incident_stops_being_confirmed(verifier) -> None:
    report = new_report()
    post_photo(report.pk, images.plain_jpeg())
    photo = Photo.objects.get()
    incident_actions.confirm(report.incident_id, verifier, place="Market square")
    actions.publish_photo(photo.pk, verifier)
    alert_id = public_alert_id(report.incident_id)
    incident_actions.retract(report.incident_id, verifier, reason="wrong place")
    assert visible(photo, alert_id) == (False, False)


def test_a_published_photo_of_an_unconfirmed_incident_stays_private(verifier) -> None:
    report = new_report()
    post_photo(report.pk, images.plain_jpeg())
    photo = Photo.objects.get()
    actions.publish_photo(photo.pk, verifier)
    assert Client().get(f"/en/photos/{photo.pk}.jpg").status_code == 404


def test_a_rejected_photo_is_never_served(verifier) -> None:
    report = new_report()
    post_photo(report.pk, images.plain_jpeg())
    photo = Photo.objects.get()
    incident_actions.confirm(report.incident_id, verifier, place="Market square")
    actions.publish_photo(photo.pk, verifier)
    actions.reject_photo(photo.pk, verifier)
    assert visible(photo, public_alert_id(report.incident_id)) == (False, False)


def test_the_public_api_says_nothing_of_photos(verifier) -> None:
    report = new_report()
    post_photo(report.pk, images.plain_jpeg())
    incident_actions.confirm(report.incident_id, verifier, place="Market square")
    body = Client().get(f"/api/v1/incidents/{report.incident_id}").content.decode()
    assert "photo" not in body
