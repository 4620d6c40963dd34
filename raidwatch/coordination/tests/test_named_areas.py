"""Named areas: made from districts, ZIPs or a radius; cells only, never a centre."""

from __future__ import annotations

import json

import h3
import pytest

from raidwatch.accounts.models import AuditEntry
from raidwatch.coordination.actions import split_places
from raidwatch.subscriptions.areas import resolve_area
from raidwatch.subscriptions.models import NamedArea

pytestmark = pytest.mark.django_db

URL = "/en/volunteer/network/areas/"


def _fine(cells: list[str] | frozenset[str]) -> set[str]:
    return set(h3.uncompact_cells(list(cells), 8))


def test_a_union_of_districts_covers_each_of_them(coordinator_client) -> None:
    response = coordinator_client.post(URL, {"name": "East End", "source": "postcode", "places": "E1, e2 E3"})
    assert response.status_code == 302
    area = NamedArea.objects.get(name="East End")
    covered = _fine(area.cells)
    for district in ("E1", "E2", "E3"):
        assert _fine(resolve_area({"postcode": district}).cells) <= covered
    # Compacted: no cell is listed together with its own parent.
    cells = set(area.cells)
    assert not any(h3.cell_to_parent(c, r) in cells for c in cells for r in range(h3.get_resolution(c)))
    assert len(cells) < len(covered)
    entry = AuditEntry.objects.get(action="network.area_create")
    assert (entry.actor, entry.details["places"]) == ("coordinator", ["E1", "E2", "E3"])
    page = coordinator_client.get(URL).content.decode()
    assert "East End" in page
    assert "km²" in page


def test_zips_make_an_area_too(coordinator_client) -> None:
    coordinator_client.post(URL, {"name": "Chelsea NY", "source": "zip", "places": "10001,10011"})
    assert NamedArea.objects.get(name="Chelsea NY").cells


def test_a_radius_area_keeps_no_trace_of_its_point(coordinator_client) -> None:
    response = coordinator_client.post(
        URL, {"name": "Depot", "source": "radius", "lat": "51.51234", "lon": "-0.07123", "radius_km": "1.5"}
    )
    assert response.status_code == 302
    area = NamedArea.objects.get(name="Depot")
    stored = json.dumps(
        [list(NamedArea.objects.values()), list(AuditEntry.objects.values("details"))], default=str
    )
    for fragment in ("51.512", "-0.071", "51.5", "0.07"):
        assert fragment not in stored
    assert h3.latlng_to_cell(51.51234, -0.07123, 8) in _fine(area.cells)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "X", "source": "postcode", "places": "E1, QQ99"}, "QQ99"),
        ({"name": "X", "source": "postcode", "places": ""}, "at least one"),
        ({"name": "X", "source": "radius", "lat": "51.5", "lon": "-0.07", "radius_km": "500"}, "radius"),
        ({"name": "X", "source": "radius", "lat": "95", "lon": "-0.07", "radius_km": "2"}, "90"),
        ({"name": "", "source": "postcode", "places": "E1"}, "required"),
        ({"name": "X\u202eY", "source": "postcode", "places": "E1"}, "invisible"),
        ({"name": "X", "source": "moon", "places": "E1"}, "valid choice"),
        ({"name": "X", "source": "postcode", "places": ",".join(f"E{n}" for n in range(1, 40))}, "At most"),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(coordinator_client, data, message) -> None:
    response = coordinator_client.post(URL, data)
    assert response.status_code == 400
    assert message.lower() in response.content.decode().lower()
    assert not NamedArea.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_second_area_with_the_same_name_is_refused(coordinator_client) -> None:
    coordinator_client.post(URL, {"name": "East End", "source": "postcode", "places": "E1"})
    response = coordinator_client.post(URL, {"name": "East End", "source": "postcode", "places": "E2"})
    assert response.status_code == 400
    assert b"exists already" in response.content
    assert NamedArea.objects.count() == 1


def test_deleting_an_area_is_audited_and_an_unknown_one_is_404(coordinator_client) -> None:
    coordinator_client.post(URL, {"name": "East End", "source": "postcode", "places": "E1"})
    area = NamedArea.objects.get()
    assert coordinator_client.post(f"{URL}{area.pk}/delete").status_code == 302
    assert not NamedArea.objects.exists()
    assert AuditEntry.objects.filter(action="network.area_delete", target_id=str(area.pk)).exists()
    assert coordinator_client.post(f"{URL}{area.pk}/delete").status_code == 404


def test_districts_split_on_latin_and_arabic_commas_and_semicolons() -> None:
    assert split_places("E1، e2؛E3;E14\nE1, E2 E15") == ["E1", "E2", "E3", "E14", "E15"]
