from __future__ import annotations

import uuid

import pytest
from django.test import Client

from raidwatch.intake.models import Report

pytestmark = pytest.mark.django_db


def test_the_form_page_renders_with_a_fresh_client_id(client: Client) -> None:
    page = client.get("/en/report")
    assert page.status_code == 200
    assert b'name="client_id"' in page.content
    assert b"Use my location" in page.content


def test_a_good_report_redirects_to_thanks(client: Client) -> None:
    response = client.post(
        "/en/report", {"kind": "raid", "place": "E1", "when": "10", "client_id": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/en/report/thanks")
    report = Report.objects.get()
    assert (report.kind, report.place_label, report.source) == ("raid", "E1", "web")


def test_a_double_tap_stores_one_report(client: Client) -> None:
    data = {"kind": "raid", "place": "E1", "when": "0", "client_id": str(uuid.uuid4())}
    client.post("/en/report", data)
    client.post("/en/report", data)
    assert Report.objects.count() == 1


def test_a_different_report_with_an_old_id_is_stored_not_dropped(client: Client) -> None:
    # A form brought back with the Back button keeps the hidden id it was served with.
    client_id = str(uuid.uuid4())
    client.post("/en/report", {"kind": "raid", "place": "E1", "when": "0", "client_id": client_id})
    client.post(
        "/en/report",
        {
            "kind": "checkpoint",
            "place": "10001",
            "when": "0",
            "client_id": client_id,
            "description": "at the bridge",
        },
    )
    assert sorted(Report.objects.values_list("kind", flat=True)) == ["checkpoint", "raid"]
    assert Report.objects.filter(client_id=client_id).count() == 1


def test_a_point_from_use_my_location_is_sealed(client: Client) -> None:
    client.post(
        "/en/report",
        {"kind": "arrest", "lat": "51.51550", "lon": "-0.07230", "when": "0", "client_id": str(uuid.uuid4())},
    )
    report = Report.objects.get()
    assert report.location_sealed is not None
    assert report.place_label == ""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"place": "E1"}, "kind", b"This field is required"),
        ({"kind": "raid", "place": "ZZ9"}, "place", b"ZZ9"),
        ({"kind": "raid"}, "place", b"postcode district"),
        ({"kind": "raid", "lat": "95", "lon": "0"}, "place", b"Latitude"),
        ({"kind": "raid", "place": "E1", "description": "\u202e\u202c"}, "description", b"nothing readable"),
        ({"kind": "raid", "place": "E1", "when": "9999"}, "when", b"Select a valid choice"),
    ],
)
def test_bad_input_is_shown_beside_the_field_and_stores_nothing(
    client: Client, data: dict[str, str], field: str, message: bytes
) -> None:
    response = client.post("/en/report", {"when": "0", "client_id": str(uuid.uuid4()), **data})
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors
    assert message in response.content
    assert Report.objects.count() == 0


def test_the_typed_place_is_kept_after_an_error(client: Client) -> None:
    response = client.post("/en/report", {"place": "ZZ9", "when": "0", "client_id": str(uuid.uuid4())})
    assert b'value="ZZ9"' in response.content


def test_a_refused_report_is_announced_with_a_link_to_each_field_to_fix(client: Client) -> None:
    body = client.post("/en/report", {"client_id": str(uuid.uuid4())}).content.decode()
    summary = body.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "The report was not sent" in summary
    assert 'href="#id_kind_0"' in summary or 'href="#id_kind"' in summary
    assert 'href="#id_place"' in summary
    # Each field's own help and error are where its aria-describedby points.
    assert 'id="id_description_helptext"' in body
    assert Report.objects.count() == 0
