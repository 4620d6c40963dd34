"""The one outbound HTTP client: timeouts, and no private or loopback destinations.

Every request the project makes goes through ``session()``; libraries that make
their own requests are handed that session (pywebpush's ``requests_session``).
Destinations are resolved and refused when any address is private, loopback,
link-local or otherwise not global, so a configurable URL (a webhook, a push
endpoint a browser gave us) cannot be turned against the server's own network
(SSRF). Tests and local demos set RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS=1.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

DEFAULT_TIMEOUT = (5.0, 15.0)  # connect, read (seconds)
USER_AGENT = "raidwatch"


class DestinationRefused(requests.RequestException):
    """The URL points somewhere the server must not send requests."""


def check_destination(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise DestinationRefused(f"only http(s) URLs are allowed, not {parts.scheme!r}")
    host = parts.hostname
    if not host:
        raise DestinationRefused("the URL has no host")
    if settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS:
        return
    if host.lower() in settings.RAIDWATCH_TRUSTED_HOSTS:
        # The operator's own services (a signal-cli REST wrapper, a self-hosted
        # ntfy or Matrix server) often live on a private network; the operator
        # names them. Addresses that subscribers give never get this pass.
        return
    if parts.scheme != "https":
        raise DestinationRefused("outbound requests must use https")
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise DestinationRefused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise DestinationRefused(f"{host} resolves to a non-public address")


class GuardedSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT
        # No proxies from the environment, no redirects followed to unchecked places.
        self.trust_env = False
        self.max_redirects = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else url
        check_destination(target)
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        kwargs["allow_redirects"] = False
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, target, *args, **kwargs)


def session() -> GuardedSession:
    return GuardedSession()
