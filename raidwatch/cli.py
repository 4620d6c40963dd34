"""The `raidwatch` command: our subcommands, plus every Django management command."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "raidwatch.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = ["raidwatch", *(argv if argv is not None else sys.argv[1:])]
    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:
        # A configuration mistake deserves one clear line, not a traceback.
        sys.stderr.write(f"raidwatch: configuration error: {exc}\n")
        sys.exit(78)  # EX_CONFIG


if __name__ == "__main__":
    main()
