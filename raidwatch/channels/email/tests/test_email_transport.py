"""The email transport against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.email.transport import EmailTransport
from raidwatch.channels.registry import transport

if TYPE_CHECKING:
    # Imported for types only: pytest_plugins below loads the module itself, so
    # its assertions are rewritten and its fixtures registered.
    from raidwatch.testing.fake_smtp import FakeSmtpServer

pytest_plugins = ["raidwatch.testing.fake_smtp"]

SUBSCRIBER: dict[str, object] = {"address": "jo@example.org"}
UNSUBSCRIBE = "https://alerts.example.org/u/tok3n"


BASE = OutboundMessage(
    text="CONFIRMED: immigration officers at Market St (area SE1), 14:20. Know your rights: see link.",
    title="Confirmed: enforcement near Market St",
    url="https://alerts.example.org/a/42",
    unsubscribe_url=UNSUBSCRIBE,
    topic="a1b2c3",
)


def alert(
    *, title: str = BASE.title, text: str = BASE.text, language: str = BASE.language
) -> OutboundMessage:
    return replace(BASE, title=title, text=text, language=language)


def send(contact: dict[str, object], message: OutboundMessage | None = None) -> None:
    EmailTransport().send(contact, message or alert())


def test_alert_reaches_the_server_with_exactly_one_recipient(fake_smtp: FakeSmtpServer) -> None:
    send(SUBSCRIBER)

    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ("jo@example.org",)
    assert mail.mail_from == "alerts@raidwatch.test"
    assert mail.message["To"] == "jo@example.org"
    assert mail.message["Cc"] is None
    assert mail.message["Bcc"] is None
    assert mail.message["Subject"] == "Confirmed: enforcement near Market St"
    assert mail.authenticated_as is None


def test_each_subscriber_gets_a_mail_of_their_own(fake_smtp: FakeSmtpServer) -> None:
    send({"address": "one@example.org"})
    send({"address": "two@example.net"})

    assert [mail.rcpt_tos for mail in fake_smtp.received] == [("one@example.org",), ("two@example.net",)]
    assert [mail.message["To"] for mail in fake_smtp.received] == ["one@example.org", "two@example.net"]


def test_mail_offers_one_click_unsubscribe(fake_smtp: FakeSmtpServer) -> None:
    send(SUBSCRIBER)

    [mail] = fake_smtp.received
    assert mail.message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert UNSUBSCRIBE in mail.message.get_content()


def test_mail_does_not_name_the_server_host_or_its_time_zone(fake_smtp: FakeSmtpServer) -> None:
    send(SUBSCRIBER)

    [mail] = fake_smtp.received
    assert mail.message["Message-ID"].endswith("@raidwatch.test>")
    assert mail.message["Date"].endswith("+0000")
    assert mail.message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        ("ar", "تأكيد: عناصر الهجرة قرب السوق", "مؤكد: عناصر من الهجرة عند شارع السوق، 14:20. اعرف حقوقك."),
        ("zh-hans", "已确认：市场街附近有移民执法", "已确认：14:20 市场街有移民执法人员。了解你的权利。"),
    ],
)
def test_body_and_subject_arrive_as_utf8_plain_text(
    fake_smtp: FakeSmtpServer, language: str, title: str, text: str
) -> None:
    send(SUBSCRIBER, alert(title=title, text=text, language=language))

    [mail] = fake_smtp.received
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.message["Subject"] == title
    assert mail.message["Content-Language"] == language
    body = mail.message.get_content()
    assert text in body
    assert "https://alerts.example.org/a/42" in body
    assert mail.raw.isascii()  # 7-bit safe on the wire, whatever the script


def test_a_newline_in_the_title_cannot_add_a_header(fake_smtp: FakeSmtpServer) -> None:
    send(SUBSCRIBER, alert(title="Raid\r\nBcc: everyone@example.com"))

    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ("jo@example.org",)
    assert mail.message["Bcc"] is None
    assert mail.message["Subject"] == "Raid Bcc: everyone@example.com"


@pytest.mark.parametrize("code", [550, 551, 553])
def test_a_mailbox_that_does_not_exist_is_a_permanent_error(fake_smtp: FakeSmtpServer, code: int) -> None:
    fake_smtp.refuse("jo@example.org", f"{code} 5.1.1 <jo@example.org>: no such user")

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert caught.value.permanent
    assert "jo@example.org" not in caught.value.message  # the outbox may log it
    assert fake_smtp.received == []


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.7.1 Relaying denied",  # our relay's configuration, not the subscriber
        "550 relay not permitted",
        "554 5.7.1 Message rejected as spam",
        "552 5.2.2 Mailbox full",
        "450 4.2.1 Mailbox busy, try later",
    ],
)
def test_refusals_that_are_not_about_the_mailbox_are_retried(fake_smtp: FakeSmtpServer, reply: str) -> None:
    fake_smtp.refuse("jo@example.org", reply)

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert not caught.value.permanent


def test_a_temporary_failure_after_data_is_retried(fake_smtp: FakeSmtpServer) -> None:
    fake_smtp.fail_next_data("451 4.3.0 Try again later")

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)
    assert not caught.value.permanent
    assert "451" in caught.value.message

    send(SUBSCRIBER)
    assert len(fake_smtp.received) == 1


def test_a_server_that_is_down_is_a_temporary_error(fake_smtp: FakeSmtpServer) -> None:
    fake_smtp.stop()

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert not caught.value.permanent


def test_logs_in_when_credentials_are_configured(fake_smtp_with_login: FakeSmtpServer) -> None:
    send(SUBSCRIBER)

    [mail] = fake_smtp_with_login.received
    assert mail.authenticated_as == fake_smtp_with_login.user


def test_without_a_login_the_relay_takes_nothing(
    fake_smtp_with_login: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAIDWATCH_EMAIL_USER")

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert not caught.value.permanent
    assert fake_smtp_with_login.received == []


def test_a_wrong_password_is_retried_not_blamed_on_the_subscriber(
    fake_smtp_with_login: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_EMAIL_PASSWORD", "wrong")

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert not caught.value.permanent
    assert "535" in caught.value.message
    assert fake_smtp_with_login.received == []


def test_starttls_required_but_not_offered_sends_nothing(
    fake_smtp: FakeSmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_EMAIL_STARTTLS", "1")

    with pytest.raises(TransportError) as caught:
        send(SUBSCRIBER)

    assert not caught.value.permanent
    assert fake_smtp.received == []


def test_a_stored_address_that_no_longer_validates_is_permanent(fake_smtp: FakeSmtpServer) -> None:
    with pytest.raises(TransportError) as caught:
        send({"address": "jo@localhost"})

    assert caught.value.permanent
    assert fake_smtp.received == []


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("jo@example.org", "jo@example.org"),
        ("  Jo.Bloggs@Example.ORG ", "Jo.Bloggs@example.org"),
        ("jo+alerts@mail.example.co.uk", "jo+alerts@mail.example.co.uk"),
        ("jo@Müller.example", "jo@xn--mller-kva.example"),
    ],
)
def test_normalise_address_accepts_and_canonicalises(typed: str, canonical: str) -> None:
    assert EmailTransport().normalise_address({"address": typed}) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "jo",
        "jo@",
        "@example.org",
        "jo@localhost",
        "jo@[192.0.2.1]",
        "jo@example.org\r\nBcc: x@example.com",
        "jo@@example.org",
        "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.org",  # over 254 characters
    ],
)
def test_normalise_address_refuses(typed: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        EmailTransport().normalise_address({"address": typed})

    assert caught.value.message


def test_normalise_address_refuses_a_contact_without_an_address() -> None:
    with pytest.raises(InvalidAddress):
        EmailTransport().normalise_address({"endpoint": "jo@example.org"})


def test_the_registry_gives_the_email_transport() -> None:
    email = transport("email")

    assert isinstance(email, EmailTransport)
    assert email.name == "email"
    assert email.needs_confirmation
