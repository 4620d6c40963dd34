"""POST /api/v1/reports/{id}/media: the report's media token, and a few photos per report."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from raidwatch.intake.api import media_token_for
from raidwatch.media.actions import MAX_PHOTOS_PER_REPORT
from raidwatch.media.models import Photo
from raidwatch.media.tests import images
from raidwatch.media.tests.helpers import new_report, post_photo

pytestmark = pytest.mark.django_db


def test_the_report_api_token_lets_a_photo_in() -> None:
    from django.test import Client

    created = (
        Client()
        .post("/api/v1/reports", {"kind": "raid", "place": "E1"}, content_type="application/json")
        .json()
    )
    response = post_photo(created["id"], images.plain_jpeg(), token=created["media_token"])
    assert response.status_code == 201, response.content
    assert Photo.objects.get().report_id == created["id"]


def test_wrong_expired_and_other_reports_tokens_are_refused_alike() -> None:
    report, other = new_report(), new_report(lat=51.60, lon=-0.20)
    with time_machine.travel(timezone.now() - timedelta(hours=25), tick=False):
        expired = media_token_for(report.pk)
    answers = [
        post_photo(report.pk, images.plain_jpeg(), token=token)
        for token in ("", "not-a-token", expired, media_token_for(other.pk), media_token_for(report.pk) + "x")
    ]
    # A token for a report that does not exist (any more) answers the same.
    answers.append(post_photo(999_999, images.plain_jpeg(), token=media_token_for(999_999)))
    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.content for answer in answers}) == 1
    assert not Photo.objects.exists()


def test_the_token_is_checked_before_the_file_is_looked_at() -> None:
    response = post_photo(new_report().pk, images.SVG, token="wrong")
    assert response.status_code == 401


def test_one_report_takes_a_few_photos_and_no_more() -> None:
    report = new_report()
    for _ in range(MAX_PHOTOS_PER_REPORT):
        assert post_photo(report.pk, images.plain_jpeg()).status_code == 201
    response = post_photo(report.pk, images.plain_jpeg())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_photos"
    assert Photo.objects.count() == MAX_PHOTOS_PER_REPORT


def test_the_contract_lists_the_route() -> None:
    from django.test import Client

    spec = Client().get("/api/v1/openapi.json").json()
    operation = spec["paths"]["/api/v1/reports/{report_id}/media"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "401", "413", "415", "422"} <= set(operation["responses"])
