"""Fixtures for the coordinator tools' tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from raidwatch.coordination import tuning
from raidwatch.testing.volunteers import signed_in_client


@pytest.fixture(autouse=True)
def _fresh_tunables() -> Iterator[None]:
    """Overrides are cached per process; a test's rolled-back override must not
    linger into the next test."""
    tuning.invalidate()
    yield
    tuning.invalidate()


@pytest.fixture
def admin(db: None) -> Any:
    from raidwatch.accounts.models import Volunteer

    return Volunteer.objects.create_user("admin", password="admin-correct-horse", role="admin")


def fresh_client(volunteer: Any) -> Client:
    """Signed in, and just re-authenticated: what exports and retention changes need."""
    client = signed_in_client(volunteer)
    session = client.session
    session["account_authentication_methods"] = [
        *session["account_authentication_methods"],
        {"method": "password", "at": time.time(), "reauthenticated": True},
    ]
    session.save()
    return client


@pytest.fixture
def coordinator_client(coordinator: Any) -> Client:
    """Signed in with a second factor and just re-authenticated."""
    return fresh_client(coordinator)


def stale_client(volunteer: Any) -> Client:
    """Signed in with a second factor, but not re-authenticated lately."""
    return signed_in_client(volunteer)
