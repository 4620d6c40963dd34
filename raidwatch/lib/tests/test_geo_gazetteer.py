"""Resolving typed places: GB postcode districts, US ZIP codes, US "City, ST"."""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

import pytest
import zipcodes

from raidwatch.lib import geo

ATTRIBUTION = (
    "Contains OS data © Crown copyright and database right 2025. "
    "Contains Royal Mail data © Royal Mail copyright and database right 2025. "
    "Contains National Statistics data © Crown copyright and database right 2025. "
    "Licensed under the Open Government Licence v3.0."
)


def packaged_districts() -> list[dict[str, str]]:
    text = (resources.files("raidwatch") / "data" / "gb-postcode-districts.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def district_row(district: str) -> dict[str, str]:
    return next(row for row in packaged_districts() if row["district"] == district)


# The package's Python wrapper has no annotations; these two calls are its only use here.
def zip_records(code: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = zipcodes.matching(code)  # type: ignore[no-untyped-call]
    return records


def standard_zips(city: str, state: str) -> list[str]:
    """The active standard ZIP codes USPS files under this city name, straight from the package."""
    records: list[dict[str, Any]] = zipcodes.filter_by(city=city, state=state)  # type: ignore[no-untyped-call]
    return sorted(
        entry["zip_code"] for entry in records if entry["zip_code_type"] == "STANDARD" and entry["active"]
    )


def unknown_place_message(text: str) -> str:
    with pytest.raises(geo.UnknownPlace) as raised:
        geo.resolve_place(text)
    assert str(raised.value) == raised.value.message
    return raised.value.message


def test_the_packaged_district_file_has_all_2865_districts_once() -> None:
    rows = packaged_districts()

    assert len(rows) == 2865
    assert list(rows[0]) == ["district", "lat", "lon", "postcodes"]
    assert len({row["district"] for row in rows}) == 2865


def test_every_packaged_district_resolves_to_its_own_centroid() -> None:
    for row in packaged_districts():
        place = geo.resolve_place(row["district"])
        assert place == geo.Place(
            lat=float(row["lat"]), lon=float(row["lon"]), label=row["district"], kind="postcode_district"
        )


def test_the_packaged_data_carries_its_attribution() -> None:
    readme = (resources.files("raidwatch") / "data" / "README.md").read_text(encoding="utf-8")

    assert ATTRIBUTION in " ".join(readme.split())


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("E1", "E1"),
        ("SW1A", "SW1A"),
        ("m1", "M1"),
        ("  sw1a  ", "SW1A"),
        ("SW1A 1AA", "SW1A"),
        ("sw1a1aa", "SW1A"),
        ("E1 6AN", "E1"),
        ("e16an", "E1"),
        ("E16", "E16"),
        ("E16 1AA", "E16"),
        ("E1 6", "E1"),
    ],
)
def test_a_postcode_or_district_resolves_to_the_district_centroid(text: str, district: str) -> None:
    row = district_row(district)

    place = geo.resolve_place(text)

    assert place.kind == "postcode_district"
    assert place.label == district
    assert (place.lat, place.lon) == (float(row["lat"]), float(row["lon"]))


def test_a_full_postcode_keeps_only_its_district_in_the_label() -> None:
    assert geo.resolve_place("SW1A 1AA").label == "SW1A"


def test_an_unknown_district_is_refused_by_name() -> None:
    message = unknown_place_message("ZZ9")

    assert "ZZ9" in message
    assert "postcode district" in message


def test_a_northern_ireland_postcode_is_refused_with_the_reason() -> None:
    message = unknown_place_message("BT1 1AA")

    assert "BT1" in message
    assert "Northern Ireland" in message


def test_a_zip_code_resolves_to_its_centroid() -> None:
    (entry,) = zip_records("10001")

    place = geo.resolve_place("10001")

    assert place == geo.Place(lat=float(entry["lat"]), lon=float(entry["long"]), label="10001", kind="zip")


def test_a_zip_plus_4_resolves_to_its_zip_code() -> None:
    (entry,) = zip_records("90210")

    place = geo.resolve_place(" 90210-1234 ")

    assert place == geo.Place(lat=float(entry["lat"]), lon=float(entry["long"]), label="90210", kind="zip")


def test_an_unknown_zip_code_is_refused_by_number() -> None:
    assert zip_records("00000") == []

    assert "00000" in unknown_place_message("00000")


def test_a_zip_code_without_a_position_is_refused_rather_than_put_at_0_0() -> None:
    # The package records military mail codes at latitude 0, longitude 0.
    (entry,) = zip_records("09001")
    assert (float(entry["lat"]), float(entry["long"])) == (0.0, 0.0)

    message = unknown_place_message("09001")

    assert "09001" in message
    assert "no fixed location" in message


@pytest.mark.parametrize("text", ["Beverly Hills, CA", "beverly hills ca", "BEVERLY HILLS,CA"])
def test_beverly_hills_resolves_only_if_one_zip_code_covers_it(text: str) -> None:
    codes = standard_zips("Beverly Hills", "CA")
    assert codes

    if len(codes) == 1:
        place = geo.resolve_place(text)
        assert place.kind == "place_name"
        assert place.label == f"Beverly Hills, CA {codes[0]}"
    else:
        message = unknown_place_message(text)
        assert "Several ZIP codes" in message
        assert all(code in message for code in codes[:5])


def test_a_big_city_is_refused_with_example_zip_codes() -> None:
    codes = standard_zips("Los Angeles", "CA")
    assert len(codes) > 5

    message = unknown_place_message("Los Angeles, CA")

    assert "Los Angeles, CA" in message
    assert f"for example {', '.join(codes[:5])}." in message
    assert codes[5] not in message


def test_a_town_with_one_zip_code_resolves_to_it() -> None:
    (code,) = standard_zips("Juneau", "AK")
    (entry,) = zip_records(code)

    place = geo.resolve_place("Juneau, AK")

    assert place == geo.Place(
        lat=float(entry["lat"]), lon=float(entry["long"]), label=f"Juneau, AK {code}", kind="place_name"
    )


def test_common_abbreviations_in_a_place_name_match_the_spelled_out_name() -> None:
    assert "Saint Louis, MO" in unknown_place_message("St. Louis, MO")
    assert "Fort Worth, TX" in unknown_place_message("Ft Worth TX")


@pytest.mark.parametrize("text", ["E1", "SW1A 1AA", "90210", "Juneau, AK", "Beverly Hills, CA 90210"])
def test_a_place_label_resolves_back_to_the_same_place(text: str) -> None:
    place = geo.resolve_place(text)

    assert geo.resolve_place(place.label) == place


def test_a_place_name_that_contradicts_its_zip_code_is_refused() -> None:
    message = unknown_place_message("Boston, MA 90210")

    assert "Beverly Hills, CA" in message
    assert "Boston, MA" in message


def test_an_unknown_city_is_refused_by_name() -> None:
    assert "Springfeld, IL" in unknown_place_message("Springfeld, IL")


def test_an_unknown_state_is_refused_by_code() -> None:
    assert "“ZQ”" in unknown_place_message("Springfield, ZQ")


def test_empty_input_asks_for_a_place() -> None:
    for text in ["", "   ", "\t\n"]:
        assert unknown_place_message(text).startswith("Enter a place:")


@pytest.mark.parametrize(
    "text", ["London", "somewhere near the station", "E1 6AN 6AN", "1234", "!!!", "\u202e E1"]
)
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    message = unknown_place_message(text)

    assert "E1" in message
    assert "10001" in message
    assert "Marfa, TX" in message


def test_over_long_input_is_refused_even_if_it_starts_with_a_place() -> None:
    message = unknown_place_message("E1" + " " * 99)

    assert "too long" in message


def test_unknown_place_and_invalid_point_are_value_errors() -> None:
    assert issubclass(geo.UnknownPlace, ValueError)
    assert issubclass(geo.InvalidPoint, ValueError)
