"""allauth adapters: no sign-up, no client addresses, sealed second-factor secrets.

allauth keys its rate limits on the client's IP address and would put the
address and user agent into notification emails; both hooks are overridden
here so neither ever leaves the request (SECURITY.md R1). TOTP secrets and
recovery-code seeds are sealed before allauth stores them, so a copy of the
database alone cannot mint codes (R6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from raidwatch.lib import crypto

# Prefixes the rate-limit source so allauth's own address parsing (which would
# shorten an IPv6 address) always leaves it alone.
_SOURCE_PREFIX = "net-"
_SEALED_PREFIX = "rw1:"
_NONCE_BYTES = 12
# The factors that stand on their own; recovery codes are a fallback for them.
PRIMARY_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def rate_limit_source(request: HttpRequest) -> str:
    """What allauth rate-limits sign-in attempts by, in place of the client's address.

    A keyed hash of the /24 or /48 network under today's reporter key, domain
    separated so it never equals a report's reporter key: a whole carrier range
    shares it, it cannot be turned back into an address, and it changes when
    the daily key is destroyed (R2).
    """
    # REMOTE_ADDR is read here (as in intake/sources.py) and only its network
    # prefix goes into the hash; the address itself is never kept.
    daily = crypto.reporter_key(None, request.META.get("REMOTE_ADDR"))
    digest = hmac.new(daily.encode("ascii"), b"volunteer sign-in rate limit", hashlib.sha256)
    return _SOURCE_PREFIX + digest.hexdigest()[:32]


class AccountAdapter(DefaultAccountAdapter):  # type: ignore[misc]
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Volunteers are created by a coordinator; an open sign-up page would
        # let anyone into the volunteer area.
        return False

    def get_client_ip(self, request: HttpRequest) -> str:
        return rate_limit_source(request)

    def get_http_user_agent(self, request: HttpRequest) -> str:
        # allauth would copy it into notification emails; there are none, and
        # the user agent is never to be kept or sent anywhere (R1).
        return ""


class SealedSecretError(ValueError):
    """A stored second-factor secret that cannot be opened."""


def _sealing_keys() -> list[bytes]:
    """The current key first, then keys from SECRET_KEY_FALLBACKS so a rotation
    does not lock every volunteer out of their authenticator app."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"raidwatch mfa secrets v1").derive(
            secret.encode("utf-8")
        )
        for secret in secrets
    ]


def seal_secret(text: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_sealing_keys()[0]).encrypt(nonce, text.encode("utf-8"), _SEALED_PREFIX.encode())
    return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(sealed: str) -> str:
    if not sealed.startswith(_SEALED_PREFIX):
        # Fail closed: a plaintext secret would mean something wrote around the adapter.
        raise SealedSecretError("an authenticator secret is stored unsealed")
    blob = base64.urlsafe_b64decode(sealed[len(_SEALED_PREFIX) :].encode("ascii"))
    nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    for key in _sealing_keys():
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, _SEALED_PREFIX.encode()).decode("utf-8")
        except InvalidTag:
            continue
    raise SealedSecretError("an authenticator secret was sealed under an unknown SECRET_KEY")


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        return seal_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return open_secret(encrypted_text)

    def get_totp_issuer(self) -> str:
        # allauth would name the Host header of the request; the configured
        # site is what the volunteer's app should show.
        return str(settings.MFA_TOTP_ISSUER)

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        # The relying party comes from RAIDWATCH_BASE_URL, never from the
        # request's Host header, which a client chooses.
        host = urlsplit(str(settings.RAIDWATCH_BASE_URL)).hostname or "localhost"
        return {"id": host, "name": str(settings.MFA_TOTP_ISSUER)}

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        # Two factors are mandatory: the last app or key cannot be removed,
        # only replaced (add the new one first). Recovery codes go with the
        # last factor they back up, which this refuses too.
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id, type__in=PRIMARY_FACTOR_TYPES
        ).exclude(pk=authenticator.pk)
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        return bool(others.exists())

    def get_totp_label(self, user: AbstractBaseUser) -> str:
        return user.get_username()
