from __future__ import annotations

import os
import warnings

from django.core.asgi import get_asgi_application

# WhiteNoise hands Django a file iterator that is synchronous; for the few small
# static files here, Django consuming it in a thread is fine, and the warning
# would otherwise repeat for every stylesheet request.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "raidwatch.settings")

from django.conf import settings  # noqa: E402 - needs the settings module chosen first

from raidwatch.lib.asgi import ASGIBodyLimit, OneSyncThread  # noqa: E402

# The body limit sits outside Django: its ASGI handler reads a whole body (to a
# temporary file past 2.5 MB) before any Django middleware could refuse it.
application: ASGIBodyLimit | OneSyncThread = ASGIBodyLimit(get_asgi_application())
if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite has one writer at a time: requests on many threads only queue on its
    # lock (unfairly, for seconds). One thread serves every request in turn.
    application = OneSyncThread(application)
