"""`raidwatch render_rights_cards`: render every language's rights card ahead of time.

The card PDF is rendered on first request otherwise (a second or two each).
Running this at deploy time, after the content is in place, means no reader waits.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from raidwatch.rights import card, content


class Command(BaseCommand):
    help = "Render the printable rights card for every language and jurisdiction into the data dir."

    def handle(self, *args: Any, **options: Any) -> None:
        languages = [code for code, _name in settings.LANGUAGES]
        rendered = 0
        for jurisdiction in content.JURISDICTIONS:
            for language in languages:
                try:
                    path = card.card_pdf(language, jurisdiction)
                except card.CardUnavailable as exc:
                    raise CommandError(str(exc)) from exc
                if path is not None:
                    rendered += 1
                    if options["verbosity"] > 1:
                        self.stdout.write(f"{jurisdiction} {language}: {path}")
        self.stdout.write(f"{rendered} rights cards ready in {card.cache_dir()}")
