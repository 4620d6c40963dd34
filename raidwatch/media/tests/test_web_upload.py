"""The web form's "Add a photo" after a report: no script needed, the token never in a URL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from raidwatch.intake.api import media_token_for
from raidwatch.media.actions import MAX_PHOTOS_PER_REPORT
from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report
from raidwatch.media.uploads import PHOTO_COOKIE

pytestmark = pytest.mark.django_db


def reporter_after_a_report(client: Client | None = None) -> tuple[Client, int, str]:
    """A browser that has just sent a report (what the report view does with grant_photo_upload)."""
    client = client or Client()
    report = new_report()
    token = media_token_for(report.pk)
    client.cookies[PHOTO_COOKIE] = token
    return client, report.pk, token


def upload(client: Client, data: bytes) -> Any:
    return client.post("/en/report/photo", {"file": SimpleUploadedFile("p.jpg", data, "image/jpeg")})


def test_the_thanks_page_offers_a_photo_form_without_the_token_in_it() -> None:
    client, _report_id, token = reporter_after_a_report()
    page = client.get("/en/report/thanks").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'action="/en/report/photo"' in page
    assert 'name="file"' in page
    assert "Add a photo" in page
    assert token not in page


def test_no_offer_without_a_report_from_this_browser() -> None:
    page = Client().get("/en/report/thanks").content.decode()
    assert 'name="file"' not in page


def test_a_photo_goes_in_by_a_plain_form_post() -> None:
    client, report_id, token = reporter_after_a_report()
    response = upload(client, images.jpeg_with_everything())
    assert response.status_code == 302
    assert response["Location"] == "/en/report/photo"
    assert token not in response["Location"]
    assert Photo.objects.get().report_id == report_id
    page = client.get(response["Location"]).content.decode()
    assert "Photo received" in page
    assert "Your report has 1 photo." in page


def test_a_refused_file_is_explained_on_the_page() -> None:
    client, _report_id, _token = reporter_after_a_report()
    response = upload(client, images.SVG)
    assert response.status_code == 415
    assert "Only photos in JPEG, PNG or WebP format are accepted." in response.content.decode()
    assert not Photo.objects.exists()


def test_a_file_over_10_mb_gets_a_page_not_json() -> None:
    client, _report_id, _token = reporter_after_a_report()
    response = upload(client, images.plain_jpeg() + b"\x00" * (11 * 1024 * 1024))
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "larger than 10 MB" in response.content.decode()
    assert not Photo.objects.exists()


def test_without_a_grant_nothing_is_stored() -> None:
    response = upload(Client(), images.plain_jpeg())
    assert response.status_code == 403
    assert "The time to add a photo" in response.content.decode()
    assert not Photo.objects.exists()


def test_the_form_checks_csrf() -> None:
    client, _report_id, _token = reporter_after_a_report(Client(enforce_csrf_checks=True))
    assert upload(client, images.plain_jpeg()).status_code == 403
    assert not Photo.objects.exists()
    page = client.get("/en/report/photo").content.decode()
    csrf = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(
        "/en/report/photo",
        {"file": SimpleUploadedFile("p.jpg", images.plain_jpeg(), "image/jpeg"), "csrfmiddlewaretoken": csrf},
    )
    assert response.status_code == 302
    assert Photo.objects.count() == 1


def test_the_form_goes_away_when_the_report_has_its_photos() -> None:
    client, _report_id, _token = reporter_after_a_report()
    for _ in range(MAX_PHOTOS_PER_REPORT):
        upload(client, images.plain_jpeg())
    assert 'name="file"' not in client.get("/en/report/photo").content.decode()
    assert 'name="file"' not in client.get("/en/report/thanks").content.decode()


def test_a_web_report_lets_its_own_browser_add_a_photo_and_keeps_no_session() -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    sent = client.post(
        "/en/report", {"kind": "raid", "place": "E1", "when": "0", "client_id": str(uuid.uuid4())}
    )
    assert sent.status_code == 302
    cookie = sent.cookies[PHOTO_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert int(cookie["max-age"]) == 3600
    assert not Session.objects.exists()  # nothing on the server ties this browser to its report
    assert 'name="file"' in client.get("/en/report/thanks").content.decode()
    assert upload(client, images.plain_jpeg()).status_code in (200, 201, 302)
    assert Photo.objects.count() == 1
    # Another browser cannot.
    assert 'name="file"' not in Client().get("/en/report/thanks").content.decode()


def test_a_photo_over_the_limit_is_refused_by_size_not_by_a_csrf_error() -> None:
    # The body is not read when it is too big, so its CSRF token is not either.
    client, _report_id, _token = reporter_after_a_report(Client(enforce_csrf_checks=True))
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "image/jpeg")
    response = client.post("/en/report/photo", {"file": big})
    assert response.status_code == 413
    assert "larger than 10 MB" in response.content.decode()
    assert Photo.objects.count() == 0
