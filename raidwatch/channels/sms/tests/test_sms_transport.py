"""The SMS transport: one-SMS arithmetic, numbers, and both providers against a local fake."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from raidwatch.channels.base import InvalidAddress, OutboundMessage, TransportError
from raidwatch.channels.registry import transport
from raidwatch.channels.sms.transport import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsTransport,
    compose_sms,
    fits_one_sms,
    is_gsm7,
    sms_length,
)

if TYPE_CHECKING:
    # Imported for types only: pytest_plugins below loads the module itself, so
    # its assertions are rewritten and its fixtures registered.
    from raidwatch.testing.fake_sms import FakeSmsServer

pytest_plugins = ["raidwatch.testing.fake_sms"]

NUMBER = "+447700900123"
URL = "https://rw.example/a/42"
TEXT = (
    "CONFIRMED: immigration officers at Market St (SE1), 14:20. "
    "Know your rights: stay silent, ask for a lawyer."
)


def alert(text: str = TEXT, url: str = URL) -> OutboundMessage:
    return OutboundMessage(
        text=text, title="Alert", url=url, unsubscribe_url="https://rw.example/u/t", topic="t"
    )


def send(address: str = NUMBER, message: OutboundMessage | None = None) -> None:
    SmsTransport().send({"address": address}, message or alert())


# --- What fits one SMS --------------------------------------------------------------


def test_the_gsm7_tables_are_complete() -> None:
    # 128 code points less ESC, which only introduces the 10 extension characters.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_160_gsm7_characters_fit_and_161_do_not() -> None:
    assert fits_one_sms("a" * 160)
    assert not fits_one_sms("a" * 161)


def test_extension_characters_count_twice() -> None:
    assert sms_length("€[]") == 6
    assert fits_one_sms("€" * 80)
    assert not fits_one_sms("€" * 81)
    assert not fits_one_sms("a" * 159 + "{")


def test_70_ucs2_characters_fit_and_71_do_not() -> None:
    assert not is_gsm7("مرحبا")
    assert fits_one_sms("م" * 70)
    assert not fits_one_sms("م" * 71)
    assert fits_one_sms("警" * 70)
    assert not fits_one_sms("警" * 71)


def test_a_non_breaking_space_forces_ucs2() -> None:
    text = "Raid at Market St,\u00a014:20"
    assert not is_gsm7(text)
    assert fits_one_sms("a" * 69 + "\u00a0")
    assert not fits_one_sms("a" * 70 + "\u00a0")


def test_an_emoji_takes_two_ucs2_units() -> None:
    assert sms_length("🚨") == 2
    assert fits_one_sms("🚨" * 35)
    assert not fits_one_sms("🚨" * 36)


def test_accented_letters_outside_the_alphabet_force_ucs2() -> None:
    # é is in GSM-7, but ç and the Romanian ș are not.
    assert is_gsm7("é à ü ñ Ç")
    assert not is_gsm7("ç")
    assert not is_gsm7("ș")


@given(st.text(alphabet=sorted(GSM7_BASIC), max_size=200))
def test_basic_gsm7_text_fits_exactly_up_to_160(text: str) -> None:
    assert is_gsm7(text)
    assert fits_one_sms(text) == (len(text) <= 160)


@given(
    st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF), min_size=1, max_size=100),
    st.text(alphabet=sorted(GSM7_BASIC), max_size=100),
)
def test_any_arabic_letter_makes_the_limit_70(arabic: str, latin: str) -> None:
    text = latin + arabic
    assert not is_gsm7(text)
    assert fits_one_sms(text) == (len(text) <= 70)


def test_the_link_is_added_when_it_still_fits() -> None:
    assert compose_sms(alert()) == f"{TEXT} {URL}"


def test_the_link_gives_way_when_it_would_need_a_second_sms() -> None:
    long_text = "a" * (160 - len(URL))  # with the space, one character too many
    assert compose_sms(alert(text=long_text)) == long_text
    assert compose_sms(alert(text=long_text[:-1])) == f"{long_text[:-1]} {URL}"


def test_ucs2_text_leaves_less_room_for_the_link() -> None:
    arabic = "تأكيد: عناصر الهجرة عند شارع السوق 14:20"  # 40 characters; + link is 64
    assert compose_sms(alert(text=arabic)) == f"{arabic} {URL}"
    longer = arabic + " اعرف حقوقك"
    assert compose_sms(alert(text=longer)) == longer


# --- Numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+447700900123", "+447700900123"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+44 (0)20 7946 0000", "+442079460000"),
        ("+44\u00a07700\u00a0900123", "+447700900123"),
        ("＋４４７７００９００１２３", "+447700900123"),  # full-width, from a CJK keyboard
        ("+٤٤٧٧٠٠٩٠٠١٢٣", "+447700900123"),  # Arabic-Indic digits
        ("+۹۸۹۱۲۳۴۵۶۷۸۹", "+989123456789"),  # Persian digits
        ("+1.415.555.0100", "+14155550100"),
    ],
)
def test_normalise_address_gives_e164(typed: str, canonical: str) -> None:
    assert SmsTransport().normalise_address({"address": typed}) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "07700 900123",  # no country code
        "0044 7700 900123",
        "+0 7700 900123",  # country codes do not start with 0
        "+1234567",  # 7 digits
        "+1234567890123456",  # 16 digits
        "+44 7700 9OO123",  # letter O
        "+44 7700 900123 ext 5",
        "++447700900123",
    ],
)
def test_normalise_address_refuses(typed: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        SmsTransport().normalise_address({"address": typed})

    assert caught.value.message


def test_normalise_address_refuses_a_contact_without_a_number() -> None:
    with pytest.raises(InvalidAddress):
        SmsTransport().normalise_address({"address": 447700900123})


# --- Rate ---------------------------------------------------------------------------


def test_rate_defaults_to_one_per_second_and_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAIDWATCH_SMS_RATE", raising=False)
    sms = transport("sms")
    assert sms.rate_per_second == 1.0

    monkeypatch.setenv("RAIDWATCH_SMS_RATE", "12.5")
    assert sms.rate_per_second == 12.5
    assert SmsTransport.rate_per_second == 12.5


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf"])
def test_a_bad_rate_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RAIDWATCH_SMS_RATE", value)

    with pytest.raises(ImproperlyConfigured, match="RAIDWATCH_SMS_RATE"):
        _ = SmsTransport().rate_per_second


# --- Twilio -------------------------------------------------------------------------


def test_twilio_gets_one_message_with_the_text_and_link(fake_sms: FakeSmsServer) -> None:
    send("+44 7700 900123")

    [sms] = fake_sms.messages
    assert (sms.provider, sms.to, sms.body, sms.sender) == (
        "twilio",
        NUMBER,
        f"{TEXT} {URL}",
        fake_sms.twilio_from,
    )


def test_twilio_uses_the_messaging_service_when_configured(
    fake_sms: FakeSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID", "MG" + "1" * 32)

    send()

    assert [sms.sender for sms in fake_sms.messages] == ["MG" + "1" * 32]


def test_twilio_text_in_another_script_arrives_intact(fake_sms: FakeSmsServer) -> None:
    text = "已确认：14:20 市场街有移民执法人员。"
    send(message=alert(text=text))

    assert [sms.body for sms in fake_sms.messages] == [f"{text} {URL}"]


def test_a_wrong_twilio_token_is_retried_and_names_the_setting(
    fake_sms: FakeSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_TWILIO_AUTH_TOKEN", "not-the-token")

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent
    assert "RAIDWATCH_TWILIO_AUTH_TOKEN" in caught.value.message
    assert "not-the-token" not in caught.value.message
    assert fake_sms.messages == []
    assert [request.status for request in fake_sms.requests] == [401]


def test_twilio_429_carries_retry_after(fake_sms: FakeSmsServer) -> None:
    fake_sms.throttle(1, retry_after=7)

    with pytest.raises(TransportError) as caught:
        send()
    assert not caught.value.permanent
    assert caught.value.retry_after == 7.0

    send()
    assert len(fake_sms.messages) == 1


def test_twilio_429_without_retry_after_still_asks_for_a_pause(fake_sms: FakeSmsServer) -> None:
    fake_sms.throttle(1, retry_after=None)

    with pytest.raises(TransportError) as caught:
        send()

    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize("code", [21211, 21610, 21614])
def test_twilio_codes_for_a_dead_number_are_permanent(fake_sms: FakeSmsServer, code: int) -> None:
    fake_sms.fail_number(NUMBER, code=code)

    with pytest.raises(TransportError) as caught:
        send()

    assert caught.value.permanent
    assert str(code) in caught.value.message
    assert "7700900123" not in caught.value.message  # Twilio's text quotes the number; ours must not


def test_other_twilio_codes_are_about_our_account_and_retried(fake_sms: FakeSmsServer) -> None:
    fake_sms.fail_number(NUMBER, code=21606)  # this From number cannot send

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent


def test_twilio_server_errors_are_retried(fake_sms: FakeSmsServer) -> None:
    fake_sms.fail_next(1, status=503)

    with pytest.raises(TransportError) as caught:
        send()
    assert not caught.value.permanent

    send()
    assert len(fake_sms.messages) == 1


def test_missing_twilio_sender_is_a_retryable_configuration_error(
    fake_sms: FakeSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAIDWATCH_TWILIO_FROM")

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent
    assert "RAIDWATCH_TWILIO_FROM" in caught.value.message
    assert fake_sms.requests == []


def test_loopback_is_refused_unless_allowed(fake_sms: FakeSmsServer, settings: object) -> None:
    # Proof that the request went through lib/http's guard, not around it.
    settings.RAIDWATCH_ALLOW_PRIVATE_ENDPOINTS = False  # type: ignore[attr-defined]

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent
    assert fake_sms.requests == []


def test_a_stored_number_that_no_longer_validates_is_permanent(fake_sms: FakeSmsServer) -> None:
    with pytest.raises(TransportError) as caught:
        send("07700 900123")

    assert caught.value.permanent
    assert fake_sms.requests == []


def test_sending_faster_than_the_provider_allows_comes_back_as_retry_after(fake_sms: FakeSmsServer) -> None:
    fake_sms.limit_rate(0.001)  # one per 1000 s: the second request is always too soon

    send()
    with pytest.raises(TransportError) as caught:
        send()

    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 900
    assert [request.status for request in fake_sms.requests] == [201, 429]


# --- SMS Gateway for Android ---------------------------------------------------------


@pytest.fixture
def android(fake_sms: FakeSmsServer, monkeypatch: pytest.MonkeyPatch) -> FakeSmsServer:
    monkeypatch.setenv("RAIDWATCH_SMS_PROVIDER", "android")
    return fake_sms


def test_android_gateway_gets_the_message(android: FakeSmsServer) -> None:
    send()

    [sms] = android.messages
    assert (sms.provider, sms.to, sms.body, sms.ttl) == ("android", NUMBER, f"{TEXT} {URL}", 6 * 3600)


def test_android_local_server_path_is_configurable(
    android: FakeSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A phone's own server: http://<phone>:8080/message
    monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_API_BASE", android.base_url)
    monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_PATH", "/message")

    send()

    assert [sms.to for sms in android.messages] == [NUMBER]


def test_a_wrong_android_password_is_retried(android: FakeSmsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAIDWATCH_ANDROID_SMS_PASSWORD", "wrong")

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent
    assert "RAIDWATCH_ANDROID_SMS_PASSWORD" in caught.value.message


def test_android_429_carries_retry_after(android: FakeSmsServer) -> None:
    android.throttle(1, retry_after=3)

    with pytest.raises(TransportError) as caught:
        send()

    assert caught.value.retry_after == 3.0


def test_android_refusals_never_disable_the_subscriber(android: FakeSmsServer) -> None:
    android.fail_number(NUMBER, status=400)

    with pytest.raises(TransportError) as caught:
        send()

    assert not caught.value.permanent
    assert "7700900123" not in caught.value.message


def test_an_unknown_provider_is_a_configuration_error(
    fake_sms: FakeSmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAIDWATCH_SMS_PROVIDER", "carrier-pigeon")

    with pytest.raises(ImproperlyConfigured, match="RAIDWATCH_SMS_PROVIDER"):
        send()
