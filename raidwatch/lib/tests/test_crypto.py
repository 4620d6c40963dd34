"""Sealed precise locations that expire (R3), and pseudonymous reporter keys (R2)."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from raidwatch.lib import crypto, keys

LAT, LON = 51.5155, -0.0723
# 10:37 UTC: inside an hour, so "the current hour" and "the next hour" differ.
T = datetime(2026, 3, 14, 10, 37, 12, tzinfo=UTC)
HOUR_START = T.replace(minute=0, second=0)


def key_files(settings: Any, kind: str) -> list[Path]:
    return sorted((Path(settings.KEY_DIR) / kind).glob("*.key"))


# Sealing precise locations


def test_a_sealed_point_opens_to_the_same_point() -> None:
    assert crypto.open_location(crypto.seal_location(LAT, LON)) == (LAT, LON)


def test_a_sealed_point_holds_the_coordinates_neither_as_text_nor_as_packed_numbers() -> None:
    blob = crypto.seal_location(LAT, LON, now=T)
    plain_forms = [
        f"{LAT}".encode(),
        f"{LON}".encode(),
        b"5151",
        b"0723",
        struct.pack(">dd", LAT, LON),
        struct.pack("<dd", LAT, LON),
        *(struct.pack(f"{order}{size}", value) for order in "<>" for size in "df" for value in (LAT, LON)),
    ]
    for form in plain_forms:
        assert form not in blob, form


def test_sealing_the_same_point_twice_gives_different_blobs() -> None:
    # Equal ciphertexts would let anyone holding the database link two reports of one place.
    assert crypto.seal_location(LAT, LON, now=T) != crypto.seal_location(LAT, LON, now=T)


def test_a_tampered_blob_is_refused_rather_than_opened_to_a_wrong_point() -> None:
    blob = bytearray(crypto.seal_location(LAT, LON, now=T))
    blob[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        crypto.open_location(bytes(blob))


def test_location_keys_live_in_owner_only_files_under_the_key_dir(settings: Any) -> None:
    crypto.seal_location(LAT, LON, now=T)
    (path,) = key_files(settings, "location")
    assert path.is_relative_to(settings.KEY_DIR)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The key is random bytes, not derived from anything the database holds.
    assert len(bytes.fromhex(path.read_text(encoding="ascii"))) == 32


def test_points_sealed_in_one_hour_share_one_key_file_and_the_next_hour_gets_another(settings: Any) -> None:
    crypto.seal_location(LAT, LON, now=HOUR_START)
    crypto.seal_location(LAT, LON, now=HOUR_START + timedelta(minutes=59, seconds=59))
    assert len(key_files(settings, "location")) == 1
    crypto.seal_location(LAT, LON, now=HOUR_START + timedelta(hours=1))
    assert len(key_files(settings, "location")) == 2


def test_a_point_is_unrecoverable_once_its_key_is_destroyed_after_the_retention_period(settings: Any) -> None:
    blob = crypto.seal_location(LAT, LON, now=T)
    (path,) = key_files(settings, "location")
    later = T + timedelta(hours=settings.RAIDWATCH_LOCATION_RETENTION_HOURS + 1)

    destroyed = crypto.destroy_expired_keys(now=later)

    assert destroyed >= 1
    assert not path.exists()
    assert crypto.open_location(blob) is None


def test_a_key_for_the_current_hour_is_not_destroyed(settings: Any) -> None:
    blob = crypto.seal_location(LAT, LON, now=T)
    crypto.destroy_expired_keys(now=T)
    crypto.destroy_expired_keys(now=T + timedelta(minutes=22))
    assert crypto.open_location(blob) == (LAT, LON)
    assert len(key_files(settings, "location")) == 1


def test_a_point_stays_recoverable_until_the_moment_it_is_promised_to_expire(settings: Any) -> None:
    blob = crypto.seal_location(LAT, LON, now=T)
    expires_at = crypto.location_expires_at(now=T)
    assert expires_at - T <= timedelta(hours=settings.RAIDWATCH_LOCATION_RETENTION_HOURS)

    crypto.destroy_expired_keys(now=expires_at - timedelta(seconds=1))
    assert crypto.open_location(blob) == (LAT, LON)

    crypto.destroy_expired_keys(now=expires_at)
    assert crypto.open_location(blob) is None


def test_a_shorter_retention_destroys_keys_sooner(settings: Any) -> None:
    settings.RAIDWATCH_LOCATION_RETENTION_HOURS = 2
    blob = crypto.seal_location(LAT, LON, now=T)
    crypto.destroy_expired_keys(now=T + timedelta(hours=3))
    assert crypto.open_location(blob) is None


def recoverable(blob: bytes) -> bool:
    try:
        return crypto.open_location(blob) == (LAT, LON)
    except InvalidTag:
        return False


def test_a_destroyed_key_stays_gone_for_a_process_that_had_it_cached() -> None:
    blob = crypto.seal_location(LAT, LON, now=T)  # caches this hour's key in the process
    crypto.destroy_expired_keys(now=T + timedelta(days=2))
    assert not recoverable(blob)
    # Sealing again for that hour must not bring the old key back.
    crypto.seal_location(LAT, LON, now=T)
    assert not recoverable(blob)


def test_a_key_file_another_process_is_still_writing_is_never_used_as_an_empty_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes creating the same hour's key at once must end up with one full key.

    The rival runs at the moment this process opens a file for writing: the
    point at which a key file may exist on disk without its contents.
    """
    path = tmp_path / "123.key"
    real_fdopen = os.fdopen
    rival: list[bytes] = []

    def fdopen_with_a_rival(*args: Any, **kwargs: Any) -> Any:
        if not rival:
            rival.append(b"")  # guard: the rival itself runs without interruption
            rival[0] = keys.read_or_create_key(path)
        return real_fdopen(*args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen_with_a_rival)
    mine = keys.read_or_create_key(path)

    assert len(mine) == 32
    assert rival == [mine]
    assert keys.read_or_create_key(path) == mine


def test_an_empty_key_file_is_refused_rather_than_used_as_a_key(tmp_path: Path) -> None:
    path = tmp_path / "123.key"
    path.write_text("", encoding="ascii")
    with pytest.raises(ValueError, match="empty"):
        keys.read_or_create_key(path)


# Reporter keys


def test_the_same_token_on_the_same_day_gives_the_same_key() -> None:
    assert crypto.reporter_key("token-a", None, now=T) == crypto.reporter_key(
        "token-a", None, now=T + timedelta(hours=5)
    )


def test_the_same_token_on_another_day_gives_a_different_key() -> None:
    assert crypto.reporter_key("token-a", None, now=T) != crypto.reporter_key(
        "token-a", None, now=T + timedelta(days=1)
    )


def test_different_tokens_give_different_keys() -> None:
    assert crypto.reporter_key("token-a", None, now=T) != crypto.reporter_key("token-b", None, now=T)


@pytest.mark.parametrize(
    ("address", "prefix"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1234:5678::77", "2001:db8:1234::/48")],
)
def test_a_reporter_key_is_not_a_plain_hash_of_the_address_or_its_network(address: str, prefix: str) -> None:
    key = crypto.reporter_key(None, address, now=T)
    assert crypto.network_prefix(address) == prefix
    for material in (address, prefix, f"net:{prefix}", prefix.split("/")[0]):
        digest = hashlib.sha256(material.encode()).hexdigest()
        assert key not in digest
        assert key != hashlib.md5(material.encode()).hexdigest()  # noqa: S324 - checking it is not this


def test_two_addresses_in_one_ipv4_slash_24_share_a_key() -> None:
    assert crypto.reporter_key(None, "203.0.113.4", now=T) == crypto.reporter_key(
        None, "203.0.113.250", now=T
    )


def test_addresses_in_neighbouring_ipv4_networks_get_different_keys() -> None:
    assert crypto.reporter_key(None, "203.0.113.4", now=T) != crypto.reporter_key(None, "203.0.114.4", now=T)


def test_two_addresses_in_one_ipv6_slash_48_share_a_key() -> None:
    assert crypto.reporter_key(None, "2001:db8:1234:1::1", now=T) == crypto.reporter_key(
        None, "2001:db8:1234:ffff:abcd::9", now=T
    )


def test_addresses_in_neighbouring_ipv6_networks_get_different_keys() -> None:
    assert crypto.reporter_key(None, "2001:db8:1234::1", now=T) != crypto.reporter_key(
        None, "2001:db8:1235::1", now=T
    )


def test_an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_network() -> None:
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; they must not
    # all fall into one /48 and count as a single source.
    assert crypto.network_prefix("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert crypto.reporter_key(None, "::ffff:203.0.113.77", now=T) == crypto.reporter_key(
        None, "203.0.113.5", now=T
    )
    assert crypto.reporter_key(None, "::ffff:203.0.113.77", now=T) != crypto.reporter_key(
        None, "::ffff:198.51.100.23", now=T
    )


def test_a_client_token_overrides_the_address() -> None:
    from_one_network = crypto.reporter_key("token-a", "203.0.113.77", now=T)
    assert from_one_network == crypto.reporter_key("token-a", "198.51.100.23", now=T)
    assert from_one_network != crypto.reporter_key(None, "203.0.113.77", now=T)


def test_a_token_that_looks_like_a_network_does_not_collide_with_that_network() -> None:
    assert crypto.reporter_key("203.0.113.0/24", None, now=T) != crypto.reporter_key(
        None, "203.0.113.9", now=T
    )


def test_reporter_keys_live_in_owner_only_files_under_the_key_dir(settings: Any, tmp_path: Path) -> None:
    crypto.reporter_key("token-a", None, now=T)
    (path,) = key_files(settings, "reporter")
    assert path.is_relative_to(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_yesterdays_reporter_key_is_destroyed_and_cannot_be_recomputed(settings: Any) -> None:
    before = crypto.reporter_key("token-a", "203.0.113.77", now=T)
    (path,) = key_files(settings, "reporter")

    crypto.destroy_expired_keys(now=T + timedelta(days=1))

    assert not path.exists()
    # Not even the server can link a source to its keys from a destroyed day.
    assert crypto.reporter_key("token-a", "203.0.113.77", now=T) != before


def test_todays_reporter_key_survives_key_destruction(settings: Any) -> None:
    before = crypto.reporter_key("token-a", None, now=T)
    crypto.destroy_expired_keys(now=T + timedelta(hours=3))
    assert crypto.reporter_key("token-a", None, now=T + timedelta(hours=3)) == before


def test_a_web_host_seals_contacts_with_the_public_key_alone(settings: Any, tmp_path: Path) -> None:
    # A worker's key directory: both halves.
    worker = tmp_path / "worker-keys"
    settings.KEY_DIR = worker
    crypto.contact_public_key()
    assert {p.name for p in worker.iterdir()} >= {"contact.key", "contact.pub"}
    # A web host's: only the public half, copied from the worker.
    web = tmp_path / "web-keys"
    web.mkdir()
    (web / "contact.pub").write_bytes((worker / "contact.pub").read_bytes())
    settings.KEY_DIR = web
    sealed = crypto.seal_contact({"address": "me@example.org"})
    assert not (web / "contact.key").exists()  # sealing never made or needed a private key
    settings.KEY_DIR = worker
    assert crypto.open_contact(sealed) == {"address": "me@example.org"}
