# ruff: noqa: E501 - the allowlist is a table of one-line reasons; wrapping them would hide that
"""R5/R6, the seizure drill: every column that can hold text, bytes, JSON or a
fractional number is on a list here with the reason it is safe in a seized
database, or is listed as sealed.

The columns come from the database itself (introspection), not from the models,
so a table a library or a hand-written migration adds is caught too. A new
column fails this test until someone writes down why it is safe.
"""

from __future__ import annotations

import struct

import pytest
from django.db import connection

from raidwatch.alerts.tests.helpers import subscriber
from raidwatch.incidents.tests.factories import report

pytestmark = [pytest.mark.django_db, pytest.mark.dbsensitive]

# Column types that cannot carry words, addresses or coordinates.
SAFE_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "BooleanField",
        "DateField",
        "DateTimeField",
        "TimeField",
        "DurationField",
    }
)

# Ciphertext only: opening it needs a key kept outside the database.
SEALED: dict[tuple[str, str], str] = {
    (
        "intake_report",
        "location_sealed",
    ): "precise point, AES-GCM under an hourly key file destroyed at expiry (R3)",
    (
        "subscriptions_subscription",
        "contact_sealed",
    ): "address or push subscription, sealed to the worker's X25519 key (R5)",
    (
        "media_photo",
        "image_sealed",
    ): "a re-encoded photo without metadata, faces blurred, AES-GCM under its own key file destroyed on reject or expiry (R7)",
    (
        "mfa_authenticator",
        "data",
    ): "TOTP and recovery-code secrets sealed by MFAAdapter under a key derived from SECRET_KEY; WebAuthn public keys",
}

PLAINTEXT: dict[tuple[str, str], str] = {
    # allauth's own tables
    (
        "account_emailaddress",
        "email",
    ): "allauth's table, always empty: volunteers have no email address (ACCOUNT_USER_MODEL_EMAIL_FIELD=None)",
    (
        "account_emailconfirmation",
        "key",
    ): "allauth's table, always empty: no email addresses, so nothing to confirm",
    # volunteers and the audit log
    ("accounts_auditentry", "actor"): "a volunteer's pseudonymous username or 'system'",
    ("accounts_auditentry", "action"): "a fixed action name such as incident.confirm",
    ("accounts_auditentry", "target_type"): "a fixed object type name",
    ("accounts_auditentry", "target_id"): "an object's id",
    (
        "accounts_auditentry",
        "details",
    ): "what the action changed (place text, reason, role), no IPs; movement details redacted after retention (R11)",
    ("accounts_auditentry", "prev_hash"): "hash chain link",
    ("accounts_auditentry", "entry_hash"): "hash chain link",
    (
        "accounts_auditentry",
        "details_digest",
    ): "SHA-256 of the details, so redaction keeps the chain verifiable",
    ("accounts_volunteer", "password"): "a salted password hash",
    (
        "accounts_volunteer",
        "username",
    ): "a pseudonym the volunteer chose; the join page warns against real names",
    ("accounts_volunteer", "role"): "one of the fixed roles",
    ("accounts_volunteerinvitation", "token_hash"): "a hash of the one-time invitation token",
    ("accounts_volunteerinvitation", "role"): "one of the fixed roles",
    ("accounts_volunteerinvitation", "created_by"): "the inviting volunteer's username or 'operator'",
    # alerts
    ("alerts_alert", "identifier"): "a random CAP identifier",
    ("alerts_alert", "event"): "a fixed event name",
    ("alerts_alert", "msg_type"): "CAP msgType",
    ("alerts_alert", "status"): "CAP status",
    ("alerts_alert", "scope"): "public or restricted",
    ("alerts_alert", "certainty"): "CAP certainty",
    ("alerts_alert", "urgency"): "CAP urgency",
    ("alerts_alert", "severity"): "CAP severity",
    ("alerts_alert", "cells"): "coarse H3 cells, resolution 8 or coarser (R4)",
    ("alerts_alert", "place"): "public place text chosen by a verifier",
    ("alerts_alert", "kind"): "one of the report kinds",
    ("alerts_alert", "note"): "a verifier's public reason (false alarm, retraction)",
    ("alerts_delivery", "channel"): "a channel name",
    ("alerts_delivery", "contact_lookup"): "HMAC of the contact under a key file outside the database (R5)",
    ("alerts_delivery", "status"): "a delivery state",
    ("alerts_delivery", "claimed_by"): "the claiming worker's host name and thread id",
    (
        "alerts_delivery",
        "last_error",
    ): "a transport error naming the channel and a status code, never the address; purged with the row",
    ("alerts_delivery", "subscription_id"): "a random UUID (a char column on SQLite)",
    ("alerts_publicpost", "channel"): "a channel name",
    ("alerts_publicpost", "target"): "the operator's public channel or topic for an area",
    ("alerts_publicpost", "status"): "a delivery state",
    ("alerts_publicpost", "last_error"): "a transport error naming the channel and a status code",
    # Django's own tables
    ("auth_group", "name"): "Django's group names (unused)",
    ("auth_permission", "codename"): "Django's permission names",
    ("auth_permission", "name"): "Django's permission names",
    ("django_content_type", "app_label"): "model names",
    ("django_content_type", "model"): "model names",
    ("django_migrations", "app"): "migration names",
    ("django_migrations", "name"): "migration names",
    ("django_session", "session_key"): "random session key",
    (
        "django_session",
        "session_data",
    ): "signed session: user id and sign-in methods, no IP or user agent (test_no_client_address_stored)",
    # the task queue
    ("django_tasks_database_dbtaskresult", "id"): "a random task id",
    (
        "django_tasks_database_dbtaskresult",
        "args_kwargs",
    ): "task arguments: ids, a language, a six-digit confirmation code; pruned a day after the task (raidwatch purge)",
    ("django_tasks_database_dbtaskresult", "task_path"): "a function's dotted path",
    ("django_tasks_database_dbtaskresult", "queue_name"): "a queue name",
    ("django_tasks_database_dbtaskresult", "backend_name"): "a backend name",
    ("django_tasks_database_dbtaskresult", "return_value"): "counts returned by jobs",
    ("django_tasks_database_dbtaskresult", "exception_class_path"): "an exception's class path",
    (
        "django_tasks_database_dbtaskresult",
        "traceback",
    ): "a traceback of a failed job (code lines, no request data)",
    ("django_tasks_database_dbtaskresult", "worker_ids"): "worker host names and thread ids",
    ("django_tasks_database_dbtaskresult", "status"): "a task state",
    # coordination
    ("coordination_templateoverride", "event"): "a fixed event name",
    ("coordination_templateoverride", "language"): "a language code",
    (
        "coordination_templateoverride",
        "text",
    ): "a coordinator's alert wording, checked for control characters",
    ("coordination_tunableoverride", "name"): "a tunable's setting name",
    # incidents
    ("incidents_event", "type"): "a fixed event type",
    ("incidents_event", "payload"): "the incident's coarse public shape (cell, rounded times)",
    ("incidents_incident", "status"): "an incident state",
    ("incidents_incident", "kind"): "one of the report kinds",
    ("incidents_incident", "cell"): "a resolution-8 H3 cell",
    ("incidents_incident", "place"): "public place text chosen by a verifier",
    ("incidents_incident", "reason"): "a verifier's short reason for a false alarm or retraction",
    ("incidents_incident", "confidence"): "a score from the count of corroborations",
    ("incidents_observation", "markings"): "agency markings seen (vans, uniforms), cleaned; never a person",
    ("incidents_response", "state"): "on my way / arrived / left",
    ("incidents_twopersonwaiver", "reason"): "a coordinator's reason for waiving the two-person rule",
    # intake
    ("intake_report", "kind"): "one of the report kinds",
    ("intake_report", "cell"): "a resolution-8 H3 cell",
    ("intake_report", "place_label"): "a postcode district or ZIP the reporter typed",
    (
        "intake_report",
        "description",
    ): "the reporter's words, cleaned of control and bidi characters; shown to volunteers only",
    ("intake_report", "language"): "a language code",
    ("intake_report", "source"): "web, api or sms",
    ("intake_report", "client_id"): "a random UUID the client made up, for resends",
    (
        "intake_report",
        "reporter_key",
    ): "HMAC under a daily key file destroyed the next day, never of a whole address (R2)",
    ("jobs_periodicjob", "name"): "a job name",
    ("media_photo", "state"): "a photo review state",
    ("media_photo", "key_id"): "a random UUID naming the photo's key file (a char column on SQLite)",
    ("mfa_authenticator", "type"): "totp, webauthn or recovery_codes",
    # subscriptions
    ("subscriptions_invite", "code_hash"): "a hash of the invite code",
    ("subscriptions_invite", "level"): "a subscription level",
    ("subscriptions_namedarea", "name"): "a coordinator's area name",
    ("subscriptions_namedarea", "cells"): "H3 cells of the area, none finer than resolution 8, no centre",
    ("subscriptions_subscription", "id"): "a random UUID",
    ("subscriptions_subscription", "channel"): "a channel name",
    ("subscriptions_subscription", "language"): "a language code",
    ("subscriptions_subscription", "level"): "a subscription level",
    ("subscriptions_subscription", "status"): "a subscription state",
    ("subscriptions_subscription", "area_kind"): "radius, postcode, zip or named",
    (
        "subscriptions_subscription",
        "area_label",
    ): "a coarse label: a district, a ZIP, a radius in km or an area's name",
    (
        "subscriptions_subscription",
        "contact_lookup",
    ): "HMAC of the contact under a key file outside the database (R5)",
    ("subscriptions_subscription", "confirm_code_hash"): "SHA-256 of a six-digit code that expires in 24 h",
    ("subscriptions_subscriptioncell", "cell"): "a compacted H3 cell, none finer than resolution 8",
    ("subscriptions_subscriptioncell", "subscription_id"): "a random UUID (a char column on SQLite)",
}


def columns_needing_a_reason() -> dict[tuple[str, str], str]:
    """(table, column) → the column's type, for every column a type does not make safe."""
    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                try:
                    kind = connection.introspection.get_field_type(column.type_code, column)
                except KeyError:
                    kind = f"unknown type {column.type_code!r}"
                if kind not in SAFE_TYPES:
                    found[(table, column.name)] = kind
    return found


def unexplained(found: dict[tuple[str, str], str]) -> list[str]:
    return sorted(
        f"{table}.{name} ({kind})"
        for (table, name), kind in found.items()
        if (table, name) not in PLAINTEXT | SEALED
    )


def test_every_column_that_can_hold_text_is_sealed_or_justified() -> None:
    found = columns_needing_a_reason()
    assert found, "introspection should list columns"
    assert unexplained(found) == [], (
        "a new plaintext column: seal it, or add it to PLAINTEXT with the reason it is safe"
    )


def test_the_lists_name_no_column_that_is_gone_and_give_one_line_reasons() -> None:
    found = columns_needing_a_reason()
    stale = sorted((set(PLAINTEXT) | set(SEALED)) - set(found))
    assert stale == [], "listed, but no longer in the database: remove them"
    assert not set(PLAINTEXT) & set(SEALED)
    for reason in [*PLAINTEXT.values(), *SEALED.values()]:
        assert reason.strip()
        assert "\n" not in reason


def test_sealed_columns_hold_no_plaintext() -> None:
    subscription = subscriber("sealed-canary@example.org")
    sealed_contact = bytes(subscription.contact_sealed)
    assert b"sealed-canary" not in sealed_contact
    blob = report(lat=51.512345, lon=-0.071234).report.location_sealed
    assert blob is not None
    assert b"51.512345" not in bytes(blob)
    assert struct.pack(">d", 51.512345) not in bytes(blob)
    assert struct.pack("<d", 51.512345) not in bytes(blob)


# The check must be able to fail: a column nobody justified is named.


def test_a_new_plaintext_column_is_caught() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE canary_leaky (id integer PRIMARY KEY, reporter_ip varchar(45), lat real)"
        )
    found = columns_needing_a_reason()
    assert "canary_leaky.reporter_ip (CharField)" in unexplained(found)
    assert "canary_leaky.lat (FloatField)" in unexplained(found)
    assert "canary_leaky.id (IntegerField)" not in unexplained(found)
