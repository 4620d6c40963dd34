"""Volunteers signed in as if with password and second factor, for tests of the
pages behind the sign-in (the sign-in itself has its own tests)."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client


def signed_in_client(volunteer: Any) -> Client:
    client = Client()
    client.force_login(volunteer)
    session = client.session
    # What allauth records when the second step (TOTP) succeeds.
    session["account_authentication_methods"] = [{"method": "mfa", "at": time.time(), "type": "totp"}]
    session["account_authentication_methods_user"] = str(volunteer.pk)
    session.save()
    return client
