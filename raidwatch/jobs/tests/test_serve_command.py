"""How `raidwatch serve` starts uvicorn: no access log, and forwarding headers
believed only from the operator's own proxies (R1, R2)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
import uvicorn
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def started_with(monkeypatch: pytest.MonkeyPatch, settings: Any, proxies: tuple[str, ...]) -> dict[str, Any]:
    settings.RAIDWATCH_TRUSTED_PROXIES = proxies
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    # Leave this test process's garbage collector as it was.
    monkeypatch.setattr("raidwatch.jobs.management.commands.serve.gc.freeze", lambda: None)
    monkeypatch.setattr("raidwatch.jobs.management.commands.serve.gc.set_threshold", lambda *args: None)
    call_command("serve", "--no-worker", "--port", "8123", stdout=StringIO())
    return seen


def test_no_forwarding_header_is_believed_unless_a_proxy_is_named(monkeypatch, settings) -> None:
    options = started_with(monkeypatch, settings, ())
    assert options["access_log"] is False
    assert options["proxy_headers"] is False
    assert options["log_config"] is None  # uvicorn's loggers reach the address-blanking filter


def test_a_named_proxy_is_the_only_one_believed(monkeypatch, settings) -> None:
    options = started_with(monkeypatch, settings, ("127.0.0.1",))
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "127.0.0.1"
