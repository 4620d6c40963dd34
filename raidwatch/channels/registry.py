"""Which transports exist. A new channel is one folder and one line here."""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from raidwatch.channels.base import Transport

TRANSPORTS: dict[str, str] = {
    "webpush": "raidwatch.channels.webpush.transport.WebPushTransport",
    "email": "raidwatch.channels.email.transport.EmailTransport",
    "sms": "raidwatch.channels.sms.transport.SmsTransport",
    "telegram": "raidwatch.channels.telegram.transport.TelegramTransport",
    "signal": "raidwatch.channels.signal.transport.SignalTransport",
    "ntfy": "raidwatch.channels.ntfy.transport.NtfyTransport",
    "matrix": "raidwatch.channels.matrix.transport.MatrixTransport",
}

SUBSCRIBER_CHANNELS = tuple(TRANSPORTS)


@cache
def transport(name: str) -> Transport:
    cls: type[Transport] = import_string(TRANSPORTS[name])
    return cls()
