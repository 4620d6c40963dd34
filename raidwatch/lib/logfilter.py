"""A logging filter that blanks client addresses (SECURITY.md R1).

raidwatch never logs an address itself, and uvicorn runs without its access
log; this is the backstop for a library that does (an error page's request
repr, a third-party warning, an SMTP or HTTP client's debug line). Every log
record's message is rendered, IPv4 and IPv6 addresses in it are replaced, and
the record keeps only the redacted text, so no handler or formatter can put
the original back.
"""

from __future__ import annotations

import ipaddress
import logging
import re

# Candidates only; each is confirmed with ipaddress before it is replaced, so
# times ("10:31:02") and versions ("1.2.3") are left alone.
# Not followed by a word character or by ".digit" (a longer dotted number), so
# an address that ends a sentence ("from 203.0.113.9.") is still found.
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?:%\w+)?(?![\w:]|\.\w)"
)
REDACTED = "[address]"


def _blank(match: re.Match[str]) -> str:
    try:
        ipaddress.ip_address(match.group(0).split("%", 1)[0])
    except ValueError:
        return match.group(0)
    return REDACTED


def redact(text: str) -> str:
    # IPv6 first: an IPv4-mapped address ("::ffff:203.0.113.9") goes whole.
    return _IPV4.sub(_blank, _IPV6.sub(_blank, text))


class DropClientAddresses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info:
            # Rendered here, so the traceback (which may quote an address) is
            # redacted too; formatters print exc_text as it is.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # Django's request logger attaches the request; formatters could print it.
        if hasattr(record, "request"):
            record.request = None
        return True
