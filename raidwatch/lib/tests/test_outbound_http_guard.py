from __future__ import annotations

import pytest

from raidwatch.lib import http


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/push",
        "https://localhost/push",
        "https://10.1.2.3/push",
        "https://192.168.0.10/x",
        "https://[::1]/push",
        "https://169.254.169.254/latest/meta-data",
        "http://example.org/plain-http",
        "ftp://example.org/file",
        "https:///no-host",
    ],
)
def test_private_loopback_and_odd_destinations_are_refused(settings, url: str) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False
    with pytest.raises(http.DestinationRefused):
        http.check_destination(url)


def test_the_operators_own_hosts_may_be_private(settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False
    settings.RAIDWATCH_TRUSTED_HOSTS = frozenset({"localhost"})
    http.check_destination("http://localhost:8080/v2/send")
    with pytest.raises(http.DestinationRefused):
        http.check_destination("https://127.0.0.1/push")


def test_the_guarded_session_refuses_before_connecting(settings) -> None:
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False
    with pytest.raises(http.DestinationRefused):
        http.session().post("https://127.0.0.1:9/never", data=b"x")
