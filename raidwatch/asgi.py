from __future__ import annotations

import os
import warnings

from django.core.asgi import get_asgi_application

# WhiteNoise hands Django a file iterator that is synchronous; for the few small
# static files here, Django consuming it in a thread is fine, and the warning
# would otherwise repeat for every stylesheet request.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "raidwatch.settings")
application = get_asgi_application()
