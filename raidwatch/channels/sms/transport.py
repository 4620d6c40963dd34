"""SMS, through a Twilio-compatible REST API or the SMS Gateway for Android.

Configuration (read at send time, so a worker picks up a changed secret file on
the next message):

- ``RAIDWATCH_SMS_PROVIDER``: ``twilio`` (default) or ``android``.
- ``RAIDWATCH_SMS_RATE``: messages per second the provider allows (default 1.0,
  a single long-code number's rate); the outbox paces sending by it.
- Twilio: ``RAIDWATCH_TWILIO_ACCOUNT_SID``, ``RAIDWATCH_TWILIO_AUTH_TOKEN``,
  ``RAIDWATCH_TWILIO_FROM`` or ``RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID`` (the
  service wins when both are set), ``RAIDWATCH_TWILIO_API_BASE`` (default
  https://api.twilio.com; tests point it at a local fake).
- Android: ``RAIDWATCH_ANDROID_SMS_API_BASE`` (default the project's cloud
  server, https://api.sms-gate.app/3rdparty/v1), ``RAIDWATCH_ANDROID_SMS_PATH``
  (default ``/messages``; a phone's own local server answers on
  ``http://<phone>:8080`` with ``/message``), ``RAIDWATCH_ANDROID_SMS_USER``,
  ``RAIDWATCH_ANDROID_SMS_PASSWORD``.

Every alert text is written to fit one SMS in every language (PRODUCT.md), so
the body is that text; the link is added only when it still fits one SMS.
"""

from __future__ import annotations

import math
import re
import unicodedata
from urllib.parse import quote

import requests
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_choice, env_str

NAME = "sms"
PROVIDERS = ("twilio", "android")
DEFAULT_RATE = 1.0

# --- Encoding: what fits in one SMS ----------------------------------------------

# GSM 03.38 default alphabet, in code order. ESC (0x1B) is left out: it only
# introduces an extension character and never stands for itself.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (ESC + the character).
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")
GSM7_SINGLE_LIMIT = 160
UCS2_SINGLE_LIMIT = 70


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 alphabet (basic or extension).

    One character outside it (a letter in another script, an emoji, a non-breaking
    space, a typographic quote) makes the phone send the whole message as UCS-2.
    """
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_length(text: str) -> int:
    """The length that counts against the single-SMS limit of ``text``'s encoding:
    septets for GSM-7 (extension characters count two), UTF-16 code units for
    UCS-2 (a character beyond the Basic Multilingual Plane, e.g. most emoji, takes two)."""
    if is_gsm7(text):
        return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


def fits_one_sms(text: str) -> bool:
    """True when ``text`` goes out as one SMS: ≤ 160 GSM-7 septets, else ≤ 70 UCS-2 units."""
    limit = GSM7_SINGLE_LIMIT if is_gsm7(text) else UCS2_SINGLE_LIMIT
    return sms_length(text) <= limit


def compose_sms(message: OutboundMessage) -> str:
    """The body to send: the alert text, plus its link when both still fit one SMS.

    Splitting costs a segment per recipient and some phones show the parts out of
    order, so the link is the part that gives way.
    """
    with_link = f"{message.text} {message.url}" if message.url else message.text
    return with_link if fits_one_sms(with_link) else message.text


# --- Addresses ---------------------------------------------------------------------

# Characters people put inside a number to make it readable.
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.()]")
# A country code never starts with 0; E.164 allows at most 15 digits.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def normalise_phone_number(raw: str) -> str:
    """The E.164 form of ``raw`` (``+`` and 8 to 15 digits), or InvalidAddress."""
    # NFKC turns full-width digits and plus signs (common on CJK keyboards) into ASCII.
    text = unicodedata.normalize("NFKC", raw).strip()
    # "+44 (0)20 …" is how UK numbers are often printed; the 0 is the domestic
    # trunk prefix and is not dialled after the country code.
    text = text.replace("(0)", "")
    text = _SEPARATORS.sub("", text)
    # Arabic-Indic and Persian digits are what many subscribers' keyboards type.
    text = "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)
    if not E164.fullmatch(text):
        raise InvalidAddress(
            _("Enter a mobile number with its country code, starting with +, for example +44 7700 900123.")
        )
    return text


# --- The transport -----------------------------------------------------------------


def configured_rate() -> float:
    """RAIDWATCH_SMS_RATE as a positive number of messages per second."""
    value = env_str("RAIDWATCH_SMS_RATE")
    if value is None:
        return DEFAULT_RATE
    try:
        rate = float(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"RAIDWATCH_SMS_RATE must be a number, not {value!r}.") from None
    if not (math.isfinite(rate) and rate > 0):
        raise ImproperlyConfigured(f"RAIDWATCH_SMS_RATE must be a positive number, not {value!r}.")
    return rate


class _ConfiguredRate:
    """``rate_per_second`` read from the environment on every access.

    The base interface makes the rate a class attribute, but the registry keeps
    one transport per process, so a value fixed at construction would ignore a
    changed setting (and a test's monkeypatched environment). Reading it is cheap.
    """

    def __get__(self, instance: object, owner: type | None = None) -> float | None:
        return configured_rate()


class SmsTransport(Transport):
    name = NAME
    # A number typed by mistake belongs to someone else; they must not get alerts
    # (nor learn that this network exists) until the owner confirms.
    needs_confirmation = True
    rate_per_second = _ConfiguredRate()

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if not isinstance(address, str):
            raise InvalidAddress(_("Enter a mobile number."))
        return normalise_phone_number(address)

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        to = http_errors.stored_address(self, contact)
        body = compose_sms(message)
        provider = env_choice("RAIDWATCH_SMS_PROVIDER", "twilio", PROVIDERS)
        if provider == "android":
            send_via_android(to, body, ttl_seconds=message.ttl_seconds)
        else:
            send_via_twilio(to, body)


# --- Twilio ------------------------------------------------------------------------

TWILIO = "sms/twilio"
DEFAULT_TWILIO_BASE = "https://api.twilio.com"
# Twilio error codes that are about the recipient alone, so retrying cannot help:
# 21211 invalid "To" number, 21610 the recipient replied STOP (Twilio then blocks
# every message to them from this sender), 21614 "To" is not a mobile number.
TWILIO_PERMANENT_CODES = frozenset({21211, 21610, 21614})
# Twilio's 429 does not always carry Retry-After; a second is its per-number pace.
TWILIO_DEFAULT_RETRY_AFTER = 1.0


def send_via_twilio(to: str, body: str) -> None:
    """POST one message to the Messages resource of the 2010-04-01 API."""
    sid = env_str("RAIDWATCH_TWILIO_ACCOUNT_SID")
    token = env_str("RAIDWATCH_TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise TransportError(
            f"{TWILIO}: RAIDWATCH_TWILIO_ACCOUNT_SID and RAIDWATCH_TWILIO_AUTH_TOKEN are not set"
        )
    form = {"To": to, "Body": body}
    service = env_str("RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID")
    sender = env_str("RAIDWATCH_TWILIO_FROM")
    if service:
        form["MessagingServiceSid"] = service
    elif sender:
        form["From"] = sender
    else:
        raise TransportError(f"{TWILIO}: set RAIDWATCH_TWILIO_FROM or RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID")
    base = (env_str("RAIDWATCH_TWILIO_API_BASE") or DEFAULT_TWILIO_BASE).rstrip("/")
    url = f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
    response = http_errors.request(TWILIO, "POST", url, data=form, auth=(sid, token))
    if response.status_code in (200, 201):
        return
    raise twilio_error(response)


def twilio_error(response: requests.Response) -> TransportError:
    status = response.status_code
    if status == 429:
        hint = http_errors.parse_retry_after(response.headers.get("Retry-After"))
        return http_errors.rate_limited(TWILIO, TWILIO_DEFAULT_RETRY_AFTER if hint is None else hint)
    code = http_errors.json_body(response).get("code")
    if status == 400 and code in TWILIO_PERMANENT_CODES:
        # Only the code is kept: Twilio's message text quotes the phone number.
        return http_errors.permanent(TWILIO, f"the recipient cannot receive SMS (error {code})")
    if status in (401, 403):
        # Our credentials, not the subscriber: retried, and loud for the operator.
        return TransportError(
            f"{TWILIO}: credentials refused (HTTP {status}); "
            "check RAIDWATCH_TWILIO_ACCOUNT_SID and RAIDWATCH_TWILIO_AUTH_TOKEN"
        )
    if isinstance(code, int) and not isinstance(code, bool):
        # Other 4xx codes are mostly about our account or sender (21606 a From
        # number that cannot send, 21408 a region not enabled): retry, never disable.
        hint = http_errors.parse_retry_after(response.headers.get("Retry-After"))
        return TransportError(f"{TWILIO}: HTTP {status}, error {code}", retry_after=hint)
    return http_errors.generic_error(TWILIO, response)


# --- SMS Gateway for Android -------------------------------------------------------

ANDROID = "sms/android"
DEFAULT_ANDROID_BASE = "https://api.sms-gate.app/3rdparty/v1"
DEFAULT_ANDROID_PATH = "/messages"


def send_via_android(to: str, body: str, *, ttl_seconds: int) -> None:
    """Queue one message on the gateway (cloud, private server, or the phone itself)."""
    user = env_str("RAIDWATCH_ANDROID_SMS_USER")
    password = env_str("RAIDWATCH_ANDROID_SMS_PASSWORD")
    if not user or not password:
        raise TransportError(
            f"{ANDROID}: RAIDWATCH_ANDROID_SMS_USER and RAIDWATCH_ANDROID_SMS_PASSWORD are not set"
        )
    base = (env_str("RAIDWATCH_ANDROID_SMS_API_BASE") or DEFAULT_ANDROID_BASE).rstrip("/")
    path = env_str("RAIDWATCH_ANDROID_SMS_PATH") or DEFAULT_ANDROID_PATH
    url = f"{base}/{path.lstrip('/')}"
    payload = {
        "textMessage": {"text": body},
        "phoneNumbers": [to],
        # A phone that was offline should not send an alert hours after it stopped mattering.
        "ttl": ttl_seconds,
    }
    response = http_errors.request(ANDROID, "POST", url, json=payload, auth=(user, password))
    if 200 <= response.status_code < 300:  # 202 Accepted: queued for the phone
        return
    raise android_error(response)


def android_error(response: requests.Response) -> TransportError:
    # Nothing here is permanent. The gateway only checks that the number is E.164,
    # which normalise_address already guarantees, so a 400 means a request this
    # version of the gateway does not accept: our fault, and disabling subscribers
    # for it would cut everyone off. An unreachable number shows up later as the
    # message's Failed state, which this transport does not follow.
    status = response.status_code
    if status in (401, 403):
        return TransportError(
            f"{ANDROID}: credentials refused (HTTP {status}); "
            "check RAIDWATCH_ANDROID_SMS_USER and RAIDWATCH_ANDROID_SMS_PASSWORD"
        )
    return http_errors.generic_error(ANDROID, response)
