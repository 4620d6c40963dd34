"""Email, by SMTP to a relay the operator runs or rents.

Configuration (read at every send: it is cheap, and a changed secret file or a
test's environment applies at once):

- ``RAIDWATCH_EMAIL_HOST`` (default 127.0.0.1), ``RAIDWATCH_EMAIL_PORT`` (default 25)
- ``RAIDWATCH_EMAIL_USER`` / ``RAIDWATCH_EMAIL_PASSWORD`` (optional; log in when a user is set)
- ``RAIDWATCH_EMAIL_STARTTLS`` (bool; when set, a relay that does not offer
  STARTTLS gets nothing, rather than the alert and the password in clear)
- ``RAIDWATCH_EMAIL_FROM`` (default ``alerts@localhost``; ``Name <address>`` allowed)
- ``RAIDWATCH_EMAIL_TIMEOUT`` (seconds, default 10)

One connection and one recipient per message (SECURITY.md R15): a shared To, Cc
or Bcc list would tell every subscriber's provider who else follows an area.
The mail is plain UTF-8 text with the RFC 8058 one-click unsubscribe headers; no
HTML, so no tracking pixels and nothing for a mail client to render actively.

The relay is not checked against private addresses as lib/http does for HTTP:
its address is the operator's configuration, never something a user supplied,
and a relay on the same machine (the default) is the common case.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid, parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _

from raidwatch.channels import http_errors
from raidwatch.channels.base import InvalidAddress, OutboundMessage, Transport, TransportError
from raidwatch.lib.env import env_bool, env_int, env_str

NAME = "email"
MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a forward path, less the angle brackets
# Replies that mean "no such mailbox" (550), "moved, not forwarded" (551) or
# "mailbox name not allowed" (553). Other 5xx codes such as 552 (mailbox full)
# or 554 (rejected as spam) are often about our mail, not the address.
RECIPIENT_GONE_CODES = frozenset({550, 551, 553})
# CRLF line ends, as SMTP requires, and 7-bit content: set_content then picks
# quoted-printable or base64 for non-ASCII text instead of raw 8-bit bytes, which
# a relay without 8BITMIME may mangle.
MAIL_POLICY = SMTP_POLICY.clone(cte_type="7bit")
# An RFC 3463 enhanced status code at the start of a reply, e.g. "5.7.1".
_ENHANCED_STATUS = re.compile(rb"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    from_header: str
    envelope_from: str
    timeout: int

    @classmethod
    def from_env(cls) -> EmailConfig:
        from_header = env_str("RAIDWATCH_EMAIL_FROM") or "alerts@localhost"
        _name, envelope_from = parseaddr(from_header)
        if "@" not in envelope_from:
            raise TransportError(f"{NAME}: RAIDWATCH_EMAIL_FROM holds no email address")
        return cls(
            host=env_str("RAIDWATCH_EMAIL_HOST") or "127.0.0.1",
            port=env_int("RAIDWATCH_EMAIL_PORT", 25, minimum=1, maximum=65535),
            user=env_str("RAIDWATCH_EMAIL_USER") or None,
            password=env_str("RAIDWATCH_EMAIL_PASSWORD"),
            starttls=env_bool("RAIDWATCH_EMAIL_STARTTLS"),
            from_header=from_header,
            envelope_from=envelope_from,
            timeout=env_int("RAIDWATCH_EMAIL_TIMEOUT", 10, minimum=1, maximum=300),
        )

    @property
    def sender_domain(self) -> str:
        return self.envelope_from.rpartition("@")[2]


def normalise_email(raw: str) -> str:
    """The canonical form of an address: as typed, with the domain lowercased and in
    its ASCII (IDNA) form, so one mailbox always hashes the same; or InvalidAddress."""
    refusal = InvalidAddress(_("Enter a valid email address."))
    text = raw.strip()
    if len(text) > MAX_ADDRESS_LENGTH:
        raise refusal
    try:
        validate_email(text)
    except ValidationError:
        raise refusal from None
    local, _at, domain = text.rpartition("@")
    # Django accepts "user@localhost" and "user@[192.0.2.1]"; neither reaches
    # anyone from a public alert network, and the second would point our relay
    # at an address of the subscriber's choosing.
    if domain.startswith("[") or "." not in domain:
        raise refusal
    try:
        # The local part is case-sensitive in principle (RFC 5321), so it is kept.
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise refusal from None
    address = f"{local}@{domain}"
    if len(address) > MAX_ADDRESS_LENGTH:
        raise refusal
    return address


def compose_email(message: OutboundMessage, *, to: str, config: EmailConfig) -> EmailMessage:
    """The whole mail for one recipient: plain text, UTF-8, unsubscribe headers."""
    with translation.override(message.language):
        unsubscribe = _("Stop these alerts: %(url)s") % {"url": message.unsubscribe_url}
    # "-- " on its own line marks a signature, which mail clients grey out or fold.
    body = f"{message.text}\n\n{message.url}\n\n-- \n{unsubscribe}\n"
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = config.from_header
    mail["To"] = to
    # A title is one line; a newline in it must not become a header of its own.
    mail["Subject"] = " ".join(message.title.split())
    # UTC, so the mail does not reveal the server's time zone.
    mail["Date"] = formatdate(usegmt=True)
    # Without a domain, make_msgid would put the server's host name in every mail.
    mail["Message-ID"] = make_msgid(domain=config.sender_domain)
    # RFC 3834: tells auto-responders (holiday replies) not to answer.
    mail["Auto-Submitted"] = "auto-generated"
    mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(body, charset="utf-8")
    # After set_content, which clears every Content-* header already set.
    mail["Content-Language"] = message.language
    return mail


class EmailTransport(Transport):
    name = NAME
    # Anyone can type anyone's address; mail must not go there until its owner
    # confirms, or the form becomes a way to flood a stranger.
    needs_confirmation = True

    def normalise_address(self, contact: dict[str, object]) -> str:
        address = contact.get("address")
        if not isinstance(address, str):
            raise InvalidAddress(_("Enter a valid email address."))
        return normalise_email(address)

    def send(self, contact: dict[str, object], message: OutboundMessage) -> None:
        to = http_errors.stored_address(self, contact)
        config = EmailConfig.from_env()
        mail = compose_email(message, to=to, config=config)
        try:
            with smtplib.SMTP(
                config.host, config.port, local_hostname=config.sender_domain, timeout=config.timeout
            ) as smtp:
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if config.user:
                    smtp.login(config.user, config.password or "")
                smtp.send_message(mail, from_addr=config.envelope_from, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            raise recipient_refused(exc) from None
        except smtplib.SMTPResponseException as exc:
            # The relay refused our login, our sender or our mail: about us, not them.
            raise TransportError(f"{NAME}: the mail server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused or reset, timeout, TLS failure, no STARTTLS offered.
            raise TransportError(f"{NAME}: {type(exc).__name__} while sending") from None


def recipient_refused(exc: smtplib.SMTPRecipientsRefused) -> TransportError:
    """Permanent only when the reply says the mailbox itself is gone.

    A relay that refuses to relay answers 550 too ("5.7.1 Relaying denied"); taking
    that for a dead mailbox would unsubscribe everyone at once, so policy replies
    (enhanced status 5.7.x) and replies that mention relaying are retried.
    The reply text is not kept: it usually quotes the address.
    """
    code, reply = next(iter(exc.recipients.values()), (0, b""))
    enhanced = _ENHANCED_STATUS.match(reply)
    policy = (enhanced is not None and enhanced.group(2) == b"7") or b"relay" in reply.lower()
    if code in RECIPIENT_GONE_CODES and not policy:
        return http_errors.permanent(NAME, f"the mailbox does not accept mail ({code})")
    return TransportError(f"{NAME}: the mail server refused the recipient ({code})")
