"""What the channels page shows about each transport's configuration.

Credentials live in the environment (or files named by ``NAME_FILE``), never in
the database: a seized database must not hand over the keys to the network's
SMS account or bots. So this page only reads the environment: which variables
are set, and the value of those that are not secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from raidwatch.channels.registry import TRANSPORTS
from raidwatch.lib.env import env_str


@dataclass(frozen=True)
class Variable:
    name: str
    secret: bool = False  # its value is never shown, only whether it is set


@dataclass(frozen=True)
class ChannelConfig:
    variables: tuple[Variable, ...]
    # Each inner tuple: at least one of these must be set for the channel to work.
    required: tuple[tuple[str, ...], ...] = ()


# Which variables each transport reads (see the docstring of its transport.py).
CONFIG: dict[str, ChannelConfig] = {
    "webpush": ChannelConfig(
        (Variable("RAIDWATCH_VAPID_PRIVATE_KEY", secret=True), Variable("RAIDWATCH_VAPID_SUBJECT")),
        # Without a configured key one is generated into the key directory.
    ),
    "email": ChannelConfig(
        (
            Variable("RAIDWATCH_EMAIL_HOST"),
            Variable("RAIDWATCH_EMAIL_PORT"),
            Variable("RAIDWATCH_EMAIL_USER", secret=True),
            Variable("RAIDWATCH_EMAIL_PASSWORD", secret=True),
            Variable("RAIDWATCH_EMAIL_STARTTLS"),
            Variable("RAIDWATCH_EMAIL_FROM"),
            Variable("RAIDWATCH_EMAIL_TIMEOUT"),
        ),
        # Defaults to a relay on this machine.
    ),
    "sms": ChannelConfig(
        (
            Variable("RAIDWATCH_SMS_PROVIDER"),
            Variable("RAIDWATCH_SMS_RATE"),
            Variable("RAIDWATCH_TWILIO_ACCOUNT_SID", secret=True),
            Variable("RAIDWATCH_TWILIO_AUTH_TOKEN", secret=True),
            Variable("RAIDWATCH_TWILIO_FROM"),
            Variable("RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID", secret=True),
            Variable("RAIDWATCH_TWILIO_API_BASE"),
            Variable("RAIDWATCH_ANDROID_SMS_API_BASE"),
            Variable("RAIDWATCH_ANDROID_SMS_PATH"),
            Variable("RAIDWATCH_ANDROID_SMS_USER", secret=True),
            Variable("RAIDWATCH_ANDROID_SMS_PASSWORD", secret=True),
        ),
    ),
    "telegram": ChannelConfig(
        (
            Variable("RAIDWATCH_TELEGRAM_BOT_TOKEN", secret=True),
            Variable("RAIDWATCH_TELEGRAM_API_BASE"),
            Variable("RAIDWATCH_TELEGRAM_RATE"),
        ),
        required=(("RAIDWATCH_TELEGRAM_BOT_TOKEN",),),
    ),
    "signal": ChannelConfig(
        (Variable("RAIDWATCH_SIGNAL_API_BASE"), Variable("RAIDWATCH_SIGNAL_NUMBER")),
        required=(("RAIDWATCH_SIGNAL_API_BASE",), ("RAIDWATCH_SIGNAL_NUMBER",)),
    ),
    "ntfy": ChannelConfig(
        (
            Variable("RAIDWATCH_NTFY_BASE"),
            Variable("RAIDWATCH_NTFY_TOKEN", secret=True),
            Variable("RAIDWATCH_NTFY_TOPIC_PREFIX"),
        ),
        # Defaults to the public server, ntfy.sh.
    ),
    "matrix": ChannelConfig(
        (Variable("RAIDWATCH_MATRIX_HOMESERVER"), Variable("RAIDWATCH_MATRIX_ACCESS_TOKEN", secret=True)),
        required=(("RAIDWATCH_MATRIX_HOMESERVER",), ("RAIDWATCH_MATRIX_ACCESS_TOKEN",)),
    ),
}


def is_set(name: str) -> bool:
    """Set directly or through ``NAME_FILE``; the file is not read."""
    return bool(os.environ.get(name)) or bool(os.environ.get(f"{name}_FILE"))


def _sms_required() -> tuple[tuple[str, ...], ...]:
    provider = os.environ.get("RAIDWATCH_SMS_PROVIDER", "twilio")
    if provider == "android":
        return (("RAIDWATCH_ANDROID_SMS_USER",), ("RAIDWATCH_ANDROID_SMS_PASSWORD",))
    return (
        ("RAIDWATCH_TWILIO_ACCOUNT_SID",),
        ("RAIDWATCH_TWILIO_AUTH_TOKEN",),
        ("RAIDWATCH_TWILIO_FROM", "RAIDWATCH_TWILIO_MESSAGING_SERVICE_SID"),
    )


@dataclass(frozen=True)
class VariableState:
    name: str
    secret: bool
    set: bool
    value: str  # "" for secrets and unset variables
    problem: str  # e.g. both NAME and NAME_FILE set


@dataclass(frozen=True)
class ChannelState:
    name: str
    configured: bool
    missing: tuple[str, ...]  # "A or B" for alternatives
    variables: tuple[VariableState, ...]


def without_credentials(value: str) -> str:
    """A URL as it may be shown: a ``user:password@`` in a base URL or homeserver
    is a secret even when the variable is not."""
    parts = urlsplit(value)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"…@{host}"))
    return value


def channel_state(name: str) -> ChannelState:
    # A channel added to the registry without an entry here still gets listed.
    config = CONFIG.get(name, ChannelConfig(()))
    required = _sms_required() if name == "sms" else config.required
    missing = tuple(" / ".join(group) for group in required if not any(is_set(v) for v in group))
    variables = []
    for variable in config.variables:
        value, problem = "", ""
        if not variable.secret and is_set(variable.name):
            try:
                value = without_credentials(env_str(variable.name) or "")
            except ImproperlyConfigured as exc:
                problem = str(exc)
        variables.append(VariableState(variable.name, variable.secret, is_set(variable.name), value, problem))
    return ChannelState(name, not missing, missing, tuple(variables))


def channel_states() -> list[ChannelState]:
    """Every transport in the registry, in its order."""
    return [channel_state(name) for name in TRANSPORTS]
